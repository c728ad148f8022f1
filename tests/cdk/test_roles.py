"""Application roles: exactly the actions and prefixes each component needs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cdk.helpers import (
    CATEGORY_PREFIXES,
    ENVIRONMENTS,
    USER_PREFIXES,
    Templates,
    role_named,
    role_statements,
)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed_pairs(found: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (action, str(resource))
        for statement in found.values()
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_api_role_objects_and_listing_are_prefix_scoped(templates: Templates, env: str) -> None:
    found = role_statements(templates, env, "api")
    bucket = f"arn:aws:s3:::wearit-storage-{env}"
    replica = f"{bucket}-replica"
    objects = found["ObjectsReadWriteDelete"]
    assert sorted(objects["Action"]) == [
        "s3:AbortMultipartUpload",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
    ]
    assert sorted(objects["Resource"]) == sorted(f"{bucket}/{p}*" for p in CATEGORY_PREFIXES)
    listing = found["ListOwnPrefixes"]
    assert listing["Resource"] == bucket
    assert sorted(listing["Action"]) == ["s3:ListBucket", "s3:ListBucketVersions"]
    assert listing["Condition"] == {
        "StringLike": {"s3:prefix": [f"{p}*" for p in CATEGORY_PREFIXES]}
    }
    uploads = found["FindUnfinishedUploads"]
    assert uploads["Action"] == "s3:ListBucketMultipartUploads"
    assert uploads["Resource"] == bucket
    erasure = found["ReplicaErasure"]
    assert sorted(erasure["Action"]) == ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    assert sorted(erasure["Resource"]) == sorted(f"{replica}/{p}*" for p in USER_PREFIXES)
    replica_listing = found["ListReplicaPrefixes"]
    assert replica_listing["Resource"] == replica
    assert replica_listing["Condition"] == {
        "StringLike": {"s3:prefix": [f"{p}*" for p in USER_PREFIXES]}
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tryon_worker_reads_body_and_clothing_writes_tryon_nothing_else(
    templates: Templates, env: str
) -> None:
    bucket = f"arn:aws:s3:::wearit-storage-{env}"
    s3_pairs = {
        pair
        for pair in allowed_pairs(role_statements(templates, env, "tryon-worker"))
        if pair[0].startswith("s3:")
    }
    assert s3_pairs == {
        ("s3:GetObject", f"{bucket}/body/*"),
        ("s3:GetObject", f"{bucket}/clothing/*"),
        ("s3:PutObject", f"{bucket}/tryon/*"),
        ("s3:AbortMultipartUpload", f"{bucket}/tryon/*"),
    }


def test_prod_roles_may_use_only_the_bucket_key_and_only_through_s3(templates: Templates) -> None:
    for suffix in ("api", "tryon-worker"):
        kms = role_statements(templates, "prod", suffix)["UseBucketKey"]
        assert sorted(kms["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
        assert kms["Resource"] == {"Fn::GetAtt": [kms["Resource"]["Fn::GetAtt"][0], "Arn"]}
        assert kms["Resource"]["Fn::GetAtt"][0].startswith("DataKey")
        assert kms["Condition"] == {
            "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
        }


def test_dev_roles_have_no_kms_permissions(templates: Templates) -> None:
    for suffix in ("api", "tryon-worker"):
        assert "UseBucketKey" not in role_statements(templates, "dev", suffix)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_roles_are_assumable_only_by_the_configured_principal(
    templates: Templates, env: str
) -> None:
    for suffix in ("api", "tryon-worker"):
        role = role_named(templates[f"WearitStorage-{env}"], f"wearit-storage-{env}-{suffix}")
        props = role["Properties"]
        assert props["MaxSessionDuration"] == 3600
        assert props["AssumeRolePolicyDocument"]["Statement"] == [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {
                    "AWS": {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":root"]]}
                },
            }
        ]


def test_no_role_has_a_wildcard_action_or_a_bucket_wide_object_grant(templates: Templates) -> None:
    for template in templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::IAM::Role":
                continue
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    for action in as_list(statement["Action"]):
                        assert "*" not in action
                    for arn in as_list(statement["Resource"]):
                        assert not (isinstance(arn, str) and arn.endswith(":::*"))
                        assert not (isinstance(arn, str) and arn.endswith("storage-dev/*"))
                        assert not (isinstance(arn, str) and arn.endswith("storage-prod/*"))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_role_arns_and_bucket_names_are_outputs(templates: Templates, env: str) -> None:
    outputs = templates[f"WearitStorage-{env}"]["Outputs"]
    assert outputs["BucketName"]["Value"] == {"Ref": outputs["BucketName"]["Value"]["Ref"]}
    for name in ("ApiRoleArn", "TryOnWorkerRoleArn", "ReplicationRoleArn"):
        assert outputs[name]["Value"]["Fn::GetAtt"][1] == "Arn"
    assert outputs["ReplicaBucketName"]["Value"] == f"wearit-storage-{env}-replica"
    replica_outputs = templates[f"WearitStorageReplica-{env}"]["Outputs"]
    assert "ReplicaBucketName" in replica_outputs
