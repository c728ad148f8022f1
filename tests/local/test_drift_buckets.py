"""DRIFT, buckets: what the emulator holds after provisioning is what the templates declare.

Every row of the bucket settings table (``wearit_local.provision.buckets.BUCKET_SETTINGS``)
is read back through the public API and compared, field by field, with the raw template
(see ``tests/local/drift.py``). A few anchors go further back, to ``cdk.json`` itself.

What moto 5.2 cannot hold or return, and how it is covered instead:

* ``MetricsConfigurations`` (request metrics): moto has no PutBucketMetricsConfiguration.
  Not sent; reported in ``ProvisionedEnvironment.skipped`` (asserted below) and checked on
  the template by tests/cdk/test_buckets.py.
* Replication ``Filter``, ``DeleteMarkerReplication`` and ``SourceSelectionCriteria``:
  moto stores the request but its GetBucketReplication hard-codes ``Filter: {Prefix: ""}``
  and ``DeleteMarkerReplication: Disabled`` and drops the criteria. They are asserted on
  moto's stored state (the server runs in this process); a canary in
  test_moto_canaries.py fails once moto returns them, so the assertion can move to the API.
* Bucket policies: moto holds them, but evaluates them on object requests while treating
  every condition operator except StringEquals as satisfied, so the TLS-only Deny denies
  everything. The ``provisioned`` fixture keeps them (``hold_bucket_policies=True``) and
  they are compared exactly below; the default provisioning (CLI, demo) removes them after
  configuring logging and reports them in ``skipped`` (test_provision_runs.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from moto.s3.models import s3_backends

from tests.local.drift import Declared, Expect, read_back
from tests.local.helpers import config_of
from wearit_local import ProvisionedEnvironment, emulator_client
from wearit_local.provision.buckets import (
    BUCKET_POLICY,
    BUCKET_SETTINGS,
    NOT_HELD,
    BucketSetting,
)

# One comparison per row of the settings table: (declared property, value read back,
# resolver, where) -> fails with ``where`` in the message.
Check = Callable[[Any, Any, Expect, str], None]


def s3(env: ProvisionedEnvironment, bucket: Declared) -> Any:
    return emulator_client("s3", env.endpoint_url, bucket.region)


def check_ownership_controls(declared: Any, actual: Any, expect: Expect, where: str) -> None:
    assert actual == declared, where


def check_public_access_block(declared: Any, actual: Any, expect: Expect, where: str) -> None:
    assert actual == declared, where
    assert all(actual.values()), where


def check_encryption(declared: Any, actual: Any, expect: Expect, where: str) -> None:
    (declared_rule,) = declared["ServerSideEncryptionConfiguration"]
    (rule,) = actual["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == expect(
        declared_rule["ServerSideEncryptionByDefault"]
    ), where
    # S3 reports an unset Bucket Key as false.
    assert rule["BucketKeyEnabled"] == declared_rule.get("BucketKeyEnabled", False), where


def check_versioning(declared: Any, actual: Any, expect: Expect, where: str) -> None:
    assert actual == declared["Status"], where


_LIFECYCLE_KEYS_THIS_TEST_KNOWS = {
    "Id",
    "Status",
    "Prefix",
    "ExpirationInDays",
    "ExpiredObjectDeleteMarker",
    "NoncurrentVersionExpiration",
    "AbortIncompleteMultipartUpload",
}


def check_lifecycle(declared: Any, actual: Any, expect: Expect, where: str) -> None:
    rules = declared["Rules"]
    by_id = {rule["ID"]: rule for rule in actual}
    assert sorted(by_id) == sorted(rule["Id"] for rule in rules), where
    for rule in rules:
        assert set(rule) <= _LIFECYCLE_KEYS_THIS_TEST_KNOWS, f"extend this test: {rule}"
        got = by_id[rule["Id"]]
        at = f"{where} rule {rule['Id']}"
        assert got["Status"] == rule["Status"], at
        assert got["Filter"] == {"Prefix": rule.get("Prefix", "")}, at
        expiration = got.get("Expiration", {})
        assert expiration.get("Days") == rule.get("ExpirationInDays"), at
        assert expiration.get("ExpiredObjectDeleteMarker") == rule.get(
            "ExpiredObjectDeleteMarker"
        ), at
        for key in ("NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload"):
            assert got.get(key) == rule.get(key), at
        assert set(got) <= {
            "ID",
            "Status",
            "Filter",
            "Expiration",
            "NoncurrentVersionExpiration",
            "AbortIncompleteMultipartUpload",
        }, at


def check_cors(declared: Any, actual: Any, expect: Expect, where: str) -> None:
    rules = declared["CorsRules"]
    assert len(actual) == len(rules), where
    for rule, got in zip(rules, actual, strict=True):
        assert set(rule) <= {
            "Id",
            "AllowedHeaders",
            "AllowedMethods",
            "AllowedOrigins",
            "ExposedHeaders",
            "MaxAge",
        }, f"extend this test: {rule}"
        assert got.get("ID") == rule.get("Id"), where
        assert got["AllowedOrigins"] == rule["AllowedOrigins"], where
        assert got["AllowedMethods"] == rule["AllowedMethods"], where
        assert got.get("AllowedHeaders") == rule.get("AllowedHeaders"), where
        assert got.get("ExposeHeaders") == rule.get("ExposedHeaders"), where
        assert got.get("MaxAgeSeconds") == rule.get("MaxAge"), where


def check_tags(declared: Any, actual: Any, expect: Expect, where: str) -> None:
    as_dict = {tag["Key"]: tag["Value"] for tag in actual}
    assert as_dict == {tag["Key"]: tag["Value"] for tag in declared}, where
    assert as_dict["Environment"] == expect.env.env, where


def check_logging(declared: Any, actual: Any, expect: Expect, where: str) -> None:
    assert actual == {
        "TargetBucket": expect(declared["DestinationBucketName"]),
        "TargetPrefix": declared["LogFilePrefix"],
    }, where
    assert actual["TargetBucket"].endswith("-access-logs"), where


def check_replication(declared: Any, actual: Any, expect: Expect, where: str) -> None:
    """What GetBucketReplication returns; the rest is read from moto's state below."""
    env = expect.env
    assert actual["Role"] == expect(declared["Role"]) == env.replication_role_arn, where
    assert [r["ID"] for r in actual["Rules"]] == [r["Id"] for r in declared["Rules"]], where
    for rule, got in zip(declared["Rules"], actual["Rules"], strict=True):
        assert got["Priority"] == rule["Priority"], where
        assert got["Status"] == rule["Status"], where
        assert got["Destination"] == expect(rule["Destination"]), where
        assert got["Destination"]["Bucket"] == f"arn:aws:s3:::{env.replica_bucket}", where


def check_notification(declared: Any, actual: Any, expect: Expect, where: str) -> None:
    """Queue configurations: CloudFormation's one Event and S3Key.Rules, the API's lists."""
    assert [
        {"QueueArn": c["QueueArn"], "Events": c["Events"], "Filter": c["Filter"]} for c in actual
    ] == [
        {
            "QueueArn": expect(entry["Queue"]),
            "Events": [entry["Event"]],
            "Filter": {"Key": {"FilterRules": entry["Filter"]["S3Key"]["Rules"]}},
        }
        for entry in declared["QueueConfigurations"]
    ], where


CHECKS: dict[str, Check] = {
    "OwnershipControls": check_ownership_controls,
    "PublicAccessBlockConfiguration": check_public_access_block,
    "BucketEncryption": check_encryption,
    "VersioningConfiguration": check_versioning,
    "LifecycleConfiguration": check_lifecycle,
    "CorsConfiguration": check_cors,
    "Tags": check_tags,
    "LoggingConfiguration": check_logging,
    "ReplicationConfiguration": check_replication,
    "NotificationConfiguration": check_notification,
}


def test_every_row_of_the_settings_table_has_a_check() -> None:
    assert set(CHECKS) == {setting.prop for setting in BUCKET_SETTINGS}


@pytest.mark.parametrize("setting", BUCKET_SETTINGS, ids=[s.prop for s in BUCKET_SETTINGS])
def test_setting_reads_back_as_declared(
    setting: BucketSetting, provisioned: ProvisionedEnvironment, declared: list[Declared]
) -> None:
    """Declared: read back equal to the template. Not declared: nothing is set."""
    for bucket in declared:
        actual = read_back(s3(provisioned, bucket), bucket.name, setting)
        where = f"{provisioned.env} {bucket.name} {setting.prop}"
        if setting.prop not in bucket.props:
            assert actual is None, where
            continue
        expect = Expect(provisioned, bucket.template)
        CHECKS[setting.prop](bucket.props[setting.prop], actual, expect, where)


def test_every_bucket_exists_in_its_stack_region(
    provisioned: ProvisionedEnvironment, declared: list[Declared]
) -> None:
    config = config_of(provisioned.env)
    for bucket in declared:
        location = s3(provisioned, bucket).get_bucket_location(Bucket=bucket.name)
        assert (location["LocationConstraint"] or "us-east-1") == bucket.region, bucket.name
    # Anchor to cdk.json: the manifest regions are the configured ones.
    assert provisioned.region == config.region
    assert provisioned.replica_region == config.replica_region
    assert provisioned.bucket(config.replica_bucket_name).region == config.replica_region


def test_lifecycle_anchored_to_cdk_json(provisioned: ProvisionedEnvironment) -> None:
    config = config_of(provisioned.env)
    api = emulator_client("s3", provisioned.endpoint_url, config.region)
    rules = api.get_bucket_lifecycle_configuration(Bucket=config.bucket_name)["Rules"]
    (temp,) = [r for r in rules if r["Filter"].get("Prefix") == "temp/"]
    assert temp["Expiration"]["Days"] == config.retention.temp_upload_days
    (exports,) = [r for r in rules if r["Filter"].get("Prefix") == "exports/"]
    assert exports["Expiration"]["Days"] == config.retention.export_days
    logs = api.get_bucket_lifecycle_configuration(Bucket=config.access_log_bucket_name)["Rules"]
    assert [r["Expiration"]["Days"] for r in logs if "Days" in r.get("Expiration", {})] == [
        config.retention.access_log_days
    ]


def test_cors_anchored_to_cdk_json(provisioned: ProvisionedEnvironment) -> None:
    config = config_of(provisioned.env)
    api = emulator_client("s3", provisioned.endpoint_url, config.region)
    (rule,) = api.get_bucket_cors(Bucket=config.bucket_name)["CORSRules"]
    assert rule["AllowedOrigins"] == list(config.cors_origins)
    assert "DELETE" not in rule["AllowedMethods"]


def test_bucket_policies(provisioned: ProvisionedEnvironment, declared: list[Declared]) -> None:
    for bucket in declared:
        expect = Expect(provisioned, bucket.template)
        (policy,) = [
            resource["Properties"]
            for resource in bucket.template["Resources"].values()
            if resource["Type"] == BUCKET_POLICY
            and expect(resource["Properties"]["Bucket"]) == bucket.name
        ]
        expected = expect(policy["PolicyDocument"])
        actual = s3(provisioned, bucket).get_bucket_policy(Bucket=bucket.name)["Policy"]
        assert json.loads(actual) == expected, bucket.name
        # The TLS-only statement is really there, with the bucket's own ARN.
        assert any(
            s["Effect"] == "Deny"
            and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            and f"arn:aws:s3:::{bucket.name}" in s["Resource"]
            for s in expected["Statement"]
        )


def test_replication_filters_reach_moto(
    provisioned: ProvisionedEnvironment, declared: list[Declared]
) -> None:
    """Filter, delete-marker replication and criteria, read from moto's stored request."""
    backend = s3_backends[provisioned.account_id]["aws"]
    for bucket in declared:
        replication = bucket.props.get("ReplicationConfiguration")
        if replication is None:
            continue
        # moto sets this attribute dynamically; its type stubs do not declare it.
        moto_bucket: Any = backend.buckets[bucket.name]
        stored = moto_bucket.replication["Rule"]
        for rule, got in zip(replication["Rules"], stored, strict=True):
            assert got["ID"] == rule["Id"]
            assert got["Filter"] == rule["Filter"]
            assert got["DeleteMarkerReplication"] == rule["DeleteMarkerReplication"]
            assert got.get("SourceSelectionCriteria") == rule.get("SourceSelectionCriteria")


def test_properties_moto_cannot_hold_are_reported_as_not_applied(
    provisioned: ProvisionedEnvironment, declared: list[Declared]
) -> None:
    declaring = {(b.name, prop) for b in declared for prop in NOT_HELD if prop in b.props}
    assert declaring == {(provisioned.data_bucket, "MetricsConfigurations")}
    assert {(s.bucket, s.property) for s in provisioned.skipped} == declaring
