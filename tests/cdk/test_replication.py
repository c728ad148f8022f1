"""Cross-region replication: replica bucket, rules, KMS wiring and the replication role."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cdk.helpers import (
    ENVIRONMENTS,
    USER_PREFIXES,
    Templates,
    bucket_named,
    data_bucket,
    replication_rules,
    role_named,
    statements_by_sid,
)

ACCOUNT_JOIN_PREFIX = "arn:aws:kms:us-west-2:"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_replica_stack_is_pinned_to_the_replica_region(templates: Templates, env: str) -> None:
    assert f"WearitStorageReplica-{env}" in templates
    _, bucket = bucket_named(
        templates[f"WearitStorageReplica-{env}"], f"wearit-storage-{env}-replica"
    )
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {rule["Id"]: rule for rule in props["LifecycleConfiguration"]["Rules"]}
    assert rules["DeleteOldReplicaVersions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 30
    }
    assert rules["DeleteOldReplicaVersions"]["ExpiredObjectDeleteMarker"] is True


def test_replica_region_is_set_on_the_stack(cloud_assembly_dir: Path) -> None:
    manifest = json.loads((cloud_assembly_dir / "manifest.json").read_text())
    environments = {
        name: artifact["environment"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    for env in ENVIRONMENTS:
        assert environments[f"WearitStorage-{env}"].endswith("/us-east-1")
        assert environments[f"WearitStorageReplica-{env}"].endswith("/us-west-2")
        # The primary deploys after its replication destination.
        deps = manifest["artifacts"][f"WearitStorage-{env}"]["dependencies"]
        assert f"WearitStorageReplica-{env}" in deps


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_data_prefixes_replicate_with_delete_markers_but_temp_does_not(
    templates: Templates, env: str
) -> None:
    rules = replication_rules(templates, env)
    assert [rule["Filter"]["Prefix"] for rule in rules] == USER_PREFIXES
    assert len({rule["Priority"] for rule in rules}) == len(rules)
    for rule in rules:
        assert rule["Status"] == "Enabled"
        assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
        assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::wearit-storage-{env}-replica"
        assert rule["Destination"]["StorageClass"] == "INTELLIGENT_TIERING"


def test_prod_replication_has_rtc_metrics_and_replica_kms(templates: Templates) -> None:
    for rule in replication_rules(templates, "prod"):
        destination = rule["Destination"]
        assert destination["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
        assert destination["Metrics"] == {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
        assert destination["EncryptionConfiguration"]["ReplicaKmsKeyID"] == {
            "Fn::Join": [
                "",
                [
                    ACCOUNT_JOIN_PREFIX,
                    {"Ref": "AWS::AccountId"},
                    ":alias/wearit-storage-prod-replica",
                ],
            ]
        }
        assert rule["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}


def test_dev_replication_has_no_rtc_and_no_kms(templates: Templates) -> None:
    for rule in replication_rules(templates, "dev"):
        assert "ReplicationTime" not in rule["Destination"]
        assert "EncryptionConfiguration" not in rule["Destination"]
        assert "SourceSelectionCriteria" not in rule


def test_prod_replica_key_rotates_and_has_the_alias_the_primary_uses(templates: Templates) -> None:
    template = templates["WearitStorageReplica-prod"]
    _, bucket = bucket_named(template, "wearit-storage-prod-replica")
    (sse,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    key_id = sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    assert template["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True
    aliases = [
        r["Properties"]["AliasName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::KMS::Alias"
    ]
    assert aliases == ["alias/wearit-storage-prod-replica"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_replication_role_is_dedicated_and_least_privilege(templates: Templates, env: str) -> None:
    template = templates[f"WearitStorage-{env}"]
    role = role_named(template, f"wearit-storage-{env}-replication")
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
        }
    ]
    statements = statements_by_sid(role)
    source = f"arn:aws:s3:::wearit-storage-{env}"
    replica = f"arn:aws:s3:::wearit-storage-{env}-replica"
    assert statements["ReadReplicationConfiguration"]["Resource"] == source
    assert sorted(statements["ReadSourceVersions"]["Resource"]) == sorted(
        f"{source}/{p}*" for p in USER_PREFIXES
    )
    assert sorted(statements["WriteReplicas"]["Action"]) == [
        "s3:ReplicateDelete",
        "s3:ReplicateObject",
        "s3:ReplicateTags",
    ]
    assert sorted(statements["WriteReplicas"]["Resource"]) == sorted(
        f"{replica}/{p}*" for p in USER_PREFIXES
    )
    # Nothing else: no DefaultPolicy added behind our back, no temp/ access.
    assert "temp/" not in str(role)
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    replication = data_bucket(templates, env)["Properties"]["ReplicationConfiguration"]
    role_id = replication["Role"]["Fn::GetAtt"][0]
    assert template["Resources"][role_id] is role


def test_prod_replication_role_has_exactly_the_kms_it_needs(templates: Templates) -> None:
    role = role_named(templates["WearitStorage-prod"], "wearit-storage-prod-replication")
    statements = statements_by_sid(role)
    decrypt = statements["DecryptSourceObjects"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"]["Fn::GetAtt"][1] == "Arn"
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    encrypt = statements["EncryptReplicas"]
    assert sorted(encrypt["Action"]) == ["kms:Encrypt", "kms:GenerateDataKey"]
    assert encrypt["Condition"]["ForAnyValue:StringEquals"] == {
        "kms:ResourceAliases": ["alias/wearit-storage-prod-replica"]
    }
    assert encrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-west-2.amazonaws.com"}
    context = encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"]
    assert "arn:aws:s3:::wearit-storage-prod-replica" in context


def test_dev_replication_role_has_no_kms(templates: Templates) -> None:
    role = role_named(templates["WearitStorage-dev"], "wearit-storage-dev-replication")
    assert "kms:" not in str(role)
