"""DRIFT: what the emulator holds after provisioning is exactly what the templates declare.

Expected values are read from the raw synthesized JSON with this file's own small
resolver and field-by-field comparisons, not with ``wearit_storage.local.s3_mapping``: a
mapping bug (a renamed key, a dropped field, a wrong unit) fails here. A few anchors go
further back, to ``cdk.json`` itself.

What moto 5.2 cannot hold or return, and how it is covered instead:

* ``MetricsConfigurations`` (request metrics): moto has no PutBucketMetricsConfiguration.
  Not sent; reported in ``ProvisionedEnvironment.skipped`` (asserted below) and checked on
  the template by tests/cdk/test_buckets.py.
* Replication ``Filter``, ``DeleteMarkerReplication`` and ``SourceSelectionCriteria``:
  moto stores the request but its GetBucketReplication hard-codes ``Filter: {Prefix: ""}``
  and ``DeleteMarkerReplication: Disabled`` and drops the criteria. They are asserted on
  moto's stored state (the server runs in this process); a canary fails once moto returns
  them, so the assertion can move to the API.
* Bucket policies: moto holds them, but evaluates them on object requests while treating
  every condition operator except StringEquals as satisfied, so the TLS-only Deny denies
  everything. The drift fixture keeps them (``hold_bucket_policies=True``) and compares
  them exactly; the default provisioning (CLI, demo) removes them after configuring
  logging and reports them in ``skipped``. Both behaviours are asserted below.
* Everything else (versioning, lifecycle, CORS, encryption, public access block,
  ownership controls, logging, tags, bucket policy, the rest of replication, IAM roles,
  KMS keys and aliases) is read back through the public API.
"""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.s3.models import s3_backends

from cdk.config import ENVIRONMENTS_CONTEXT_KEY, EnvironmentConfig, load_environments
from tests.local.conftest import client, manifest_region, raw_template
from tests.synth import cdk_json_context
from wearit_storage.local import (
    ProvisionedEnvironment,
    TemplateError,
    UnsupportedIntrinsicError,
    UnsupportedPropertyError,
    load_environment,
    provision_environment,
)

ENVIRONMENTS = ("dev", "prod")


def config_of(env: str) -> EnvironmentConfig:
    return load_environments(
        {ENVIRONMENTS_CONTEXT_KEY: cdk_json_context()[ENVIRONMENTS_CONTEXT_KEY]}, env
    )[0]


@dataclass(frozen=True)
class Declared:
    """A bucket as its template declares it, with what the test needs to resolve it."""

    name: str
    region: str
    props: dict[str, Any]
    template: dict[str, Any]


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def provisioned(
    request: pytest.FixtureRequest, cdk_out: Path, moto_endpoint: str
) -> ProvisionedEnvironment:
    # Policies held so that they can be compared; see test_default_provisioning_...
    return provision_environment(
        cdk_out, request.param, s3_endpoint=moto_endpoint, hold_bucket_policies=True
    )


@pytest.fixture(scope="module")
def declared(cdk_out: Path, provisioned: ProvisionedEnvironment) -> list[Declared]:
    config = config_of(provisioned.env)
    buckets = []
    for stack in (config.replica_stack_name, config.primary_stack_name):
        template = raw_template(cdk_out, stack)
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::S3::Bucket":
                buckets.append(
                    Declared(
                        name=resource["Properties"]["BucketName"],
                        region=manifest_region(cdk_out, stack),
                        props=resource["Properties"],
                        template=template,
                    )
                )
    assert len(buckets) == 4, "data, access logs, replica, replica access logs"
    return buckets


class Expect:
    """Resolves the few intrinsics the bucket properties use, independently of the SDK."""

    def __init__(self, env: ProvisionedEnvironment, template: dict[str, Any]) -> None:
        self.env = env
        self.resources = template["Resources"]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            assert attribute == "Arn"
            return self.arn(logical_id)
        if set(value) == {"Fn::Join"}:
            delimiter, parts = value["Fn::Join"]
            return delimiter.join(self(parts))
        assert not any(k.startswith("Fn::") for k in value), f"extend Expect for {value}"
        return {key: self(item) for key, item in value.items()}

    def ref(self, target: str) -> str:
        if target == "AWS::AccountId":
            return self.env.account_id
        props = self.resources[target]["Properties"]
        return str(props.get("BucketName") or props["RoleName"])

    def arn(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        props = resource["Properties"]
        if resource["Type"] == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{props['BucketName']}"
        if resource["Type"] == "AWS::IAM::Role":
            return f"arn:aws:iam::{self.env.account_id}:role/{props['RoleName']}"
        assert resource["Type"] == "AWS::KMS::Key"
        (key,) = [k for k in self.env.keys if k.logical_id == logical_id]
        return key.arn


def s3(env: ProvisionedEnvironment, bucket: Declared) -> Any:
    return client("s3", env.endpoint_url, bucket.region)


def error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return str(raised.value.response["Error"]["Code"])


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


def test_versioning(provisioned: ProvisionedEnvironment, declared: list[Declared]) -> None:
    for bucket in declared:
        actual = s3(provisioned, bucket).get_bucket_versioning(Bucket=bucket.name)
        expected = bucket.props.get("VersioningConfiguration", {}).get("Status")
        assert actual.get("Status") == expected, bucket.name


_LIFECYCLE_KEYS_THIS_TEST_KNOWS = {
    "Id",
    "Status",
    "Prefix",
    "ExpirationInDays",
    "ExpiredObjectDeleteMarker",
    "NoncurrentVersionExpiration",
    "AbortIncompleteMultipartUpload",
}


def test_lifecycle(provisioned: ProvisionedEnvironment, declared: list[Declared]) -> None:
    for bucket in declared:
        api = s3(provisioned, bucket)
        rules = bucket.props.get("LifecycleConfiguration", {}).get("Rules")
        if rules is None:
            code = error_code(api.get_bucket_lifecycle_configuration, Bucket=bucket.name)
            assert code == "NoSuchLifecycleConfiguration"
            continue
        actual = {
            rule["ID"]: rule
            for rule in api.get_bucket_lifecycle_configuration(Bucket=bucket.name)["Rules"]
        }
        assert sorted(actual) == sorted(rule["Id"] for rule in rules), bucket.name
        for rule in rules:
            assert set(rule) <= _LIFECYCLE_KEYS_THIS_TEST_KNOWS, f"extend this test: {rule}"
            got = actual[rule["Id"]]
            where = f"{bucket.name} rule {rule['Id']}"
            assert got["Status"] == rule["Status"], where
            assert got["Filter"] == {"Prefix": rule.get("Prefix", "")}, where
            expiration = got.get("Expiration", {})
            assert expiration.get("Days") == rule.get("ExpirationInDays"), where
            assert expiration.get("ExpiredObjectDeleteMarker") == rule.get(
                "ExpiredObjectDeleteMarker"
            ), where
            assert got.get("NoncurrentVersionExpiration") == rule.get(
                "NoncurrentVersionExpiration"
            ), where
            assert got.get("AbortIncompleteMultipartUpload") == rule.get(
                "AbortIncompleteMultipartUpload"
            ), where
            assert set(got) <= {
                "ID",
                "Status",
                "Filter",
                "Expiration",
                "NoncurrentVersionExpiration",
                "AbortIncompleteMultipartUpload",
            }, where


def test_lifecycle_anchored_to_cdk_json(provisioned: ProvisionedEnvironment) -> None:
    config = config_of(provisioned.env)
    api = client("s3", provisioned.endpoint_url, config.region)
    rules = api.get_bucket_lifecycle_configuration(Bucket=config.bucket_name)["Rules"]
    (temp,) = [r for r in rules if r["Filter"].get("Prefix") == "temp/"]
    assert temp["Expiration"]["Days"] == config.retention.temp_upload_days
    logs = api.get_bucket_lifecycle_configuration(Bucket=config.access_log_bucket_name)["Rules"]
    assert [r["Expiration"]["Days"] for r in logs if "Days" in r.get("Expiration", {})] == [
        config.retention.access_log_days
    ]


def test_cors(provisioned: ProvisionedEnvironment, declared: list[Declared]) -> None:
    for bucket in declared:
        api = s3(provisioned, bucket)
        rules = bucket.props.get("CorsConfiguration", {}).get("CorsRules")
        if rules is None:
            assert error_code(api.get_bucket_cors, Bucket=bucket.name) == "NoSuchCORSConfiguration"
            continue
        actual = api.get_bucket_cors(Bucket=bucket.name)["CORSRules"]
        assert len(actual) == len(rules), bucket.name
        for rule, got in zip(rules, actual, strict=True):
            assert set(rule) <= {
                "Id",
                "AllowedHeaders",
                "AllowedMethods",
                "AllowedOrigins",
                "ExposedHeaders",
                "MaxAge",
            }, f"extend this test: {rule}"
            assert got.get("ID") == rule.get("Id")
            assert got["AllowedOrigins"] == rule["AllowedOrigins"]
            assert got["AllowedMethods"] == rule["AllowedMethods"]
            assert got.get("AllowedHeaders") == rule.get("AllowedHeaders")
            assert got.get("ExposeHeaders") == rule.get("ExposedHeaders")
            assert got.get("MaxAgeSeconds") == rule.get("MaxAge")


def test_cors_anchored_to_cdk_json(provisioned: ProvisionedEnvironment) -> None:
    config = config_of(provisioned.env)
    api = client("s3", provisioned.endpoint_url, config.region)
    (rule,) = api.get_bucket_cors(Bucket=config.bucket_name)["CORSRules"]
    assert rule["AllowedOrigins"] == list(config.cors_origins)
    assert "DELETE" not in rule["AllowedMethods"]


def test_encryption(provisioned: ProvisionedEnvironment, declared: list[Declared]) -> None:
    for bucket in declared:
        expect = Expect(provisioned, bucket.template)
        (declared_rule,) = bucket.props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        actual = s3(provisioned, bucket).get_bucket_encryption(Bucket=bucket.name)
        (rule,) = actual["ServerSideEncryptionConfiguration"]["Rules"]
        assert rule["ApplyServerSideEncryptionByDefault"] == expect(
            declared_rule["ServerSideEncryptionByDefault"]
        ), bucket.name
        # S3 reports an unset Bucket Key as false.
        assert rule["BucketKeyEnabled"] == declared_rule.get("BucketKeyEnabled", False), bucket.name


def test_public_access_block(provisioned: ProvisionedEnvironment, declared: list[Declared]) -> None:
    for bucket in declared:
        actual = s3(provisioned, bucket).get_public_access_block(Bucket=bucket.name)
        assert (
            actual["PublicAccessBlockConfiguration"]
            == bucket.props["PublicAccessBlockConfiguration"]
        ), bucket.name
        assert all(actual["PublicAccessBlockConfiguration"].values())


def test_ownership_controls(provisioned: ProvisionedEnvironment, declared: list[Declared]) -> None:
    for bucket in declared:
        actual = s3(provisioned, bucket).get_bucket_ownership_controls(Bucket=bucket.name)
        assert actual["OwnershipControls"] == bucket.props["OwnershipControls"], bucket.name


def test_logging(provisioned: ProvisionedEnvironment, declared: list[Declared]) -> None:
    for bucket in declared:
        actual = s3(provisioned, bucket).get_bucket_logging(Bucket=bucket.name)
        logging = bucket.props.get("LoggingConfiguration")
        if logging is None:
            assert "LoggingEnabled" not in actual, bucket.name
            continue
        expect = Expect(provisioned, bucket.template)
        assert actual["LoggingEnabled"] == {
            "TargetBucket": expect(logging["DestinationBucketName"]),
            "TargetPrefix": logging["LogFilePrefix"],
        }, bucket.name
        assert actual["LoggingEnabled"]["TargetBucket"].endswith("-access-logs")


def test_tags(provisioned: ProvisionedEnvironment, declared: list[Declared]) -> None:
    for bucket in declared:
        actual = s3(provisioned, bucket).get_bucket_tagging(Bucket=bucket.name)["TagSet"]
        as_dict = {tag["Key"]: tag["Value"] for tag in actual}
        assert as_dict == {tag["Key"]: tag["Value"] for tag in bucket.props["Tags"]}, bucket.name
        assert as_dict["Environment"] == provisioned.env


def test_bucket_policies(provisioned: ProvisionedEnvironment, declared: list[Declared]) -> None:
    for bucket in declared:
        policies = [
            resource["Properties"]
            for resource in bucket.template["Resources"].values()
            if resource["Type"] == "AWS::S3::BucketPolicy"
            and Expect(provisioned, bucket.template)(resource["Properties"]["Bucket"])
            == bucket.name
        ]
        (policy,) = policies
        expected = Expect(provisioned, bucket.template)(policy["PolicyDocument"])
        actual = s3(provisioned, bucket).get_bucket_policy(Bucket=bucket.name)["Policy"]
        assert json.loads(actual) == expected, bucket.name
        # The TLS-only statement is really there, with the bucket's own ARN.
        assert any(
            s["Effect"] == "Deny"
            and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            and f"arn:aws:s3:::{bucket.name}" in s["Resource"]
            for s in expected["Statement"]
        )


def test_replication_through_the_api(
    provisioned: ProvisionedEnvironment, declared: list[Declared]
) -> None:
    for bucket in declared:
        api = s3(provisioned, bucket)
        replication = bucket.props.get("ReplicationConfiguration")
        if replication is None:
            code = error_code(api.get_bucket_replication, Bucket=bucket.name)
            assert code == "ReplicationConfigurationNotFoundError", bucket.name
            continue
        expect = Expect(provisioned, bucket.template)
        actual = api.get_bucket_replication(Bucket=bucket.name)["ReplicationConfiguration"]
        assert actual["Role"] == expect(replication["Role"]) == provisioned.replication_role_arn
        assert [r["ID"] for r in actual["Rules"]] == [r["Id"] for r in replication["Rules"]]
        for rule, got in zip(replication["Rules"], actual["Rules"], strict=True):
            assert got["Priority"] == rule["Priority"]
            assert got["Status"] == rule["Status"]
            assert got["Destination"] == expect(rule["Destination"])
            assert got["Destination"]["Bucket"] == f"arn:aws:s3:::{provisioned.replica_bucket}"


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


def test_canary_moto_still_hides_replication_filters(dev: ProvisionedEnvironment) -> None:
    """When this fails moto returns filters: move the previous assertions to the API."""
    api = client("s3", dev.endpoint_url, dev.region)
    rules = api.get_bucket_replication(Bucket=dev.data_bucket)["ReplicationConfiguration"]["Rules"]
    assert {r["Filter"]["Prefix"] for r in rules} == {""}
    assert {r["DeleteMarkerReplication"]["Status"] for r in rules} == {"Disabled"}


def test_metrics_configuration_is_reported_as_not_applied(
    provisioned: ProvisionedEnvironment, declared: list[Declared]
) -> None:
    declaring = {b.name for b in declared if "MetricsConfigurations" in b.props}
    assert declaring == {provisioned.data_bucket}
    assert {(s.bucket, s.property) for s in provisioned.skipped} == {
        (provisioned.data_bucket, "MetricsConfigurations")
    }


def test_roles(cdk_out: Path, provisioned: ProvisionedEnvironment) -> None:
    config = config_of(provisioned.env)
    template = raw_template(cdk_out, config.primary_stack_name)
    expect = Expect(provisioned, template)
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) == 3
    iam = client("iam", provisioned.endpoint_url, provisioned.region)
    for resource in roles:
        props = resource["Properties"]
        role = iam.get_role(RoleName=props["RoleName"])["Role"]
        assert role["AssumeRolePolicyDocument"] == expect(props["AssumeRolePolicyDocument"])
        assert role["Description"] == props["Description"]
        assert role["MaxSessionDuration"] == props.get("MaxSessionDuration", 3600)
        assert {t["Key"]: t["Value"] for t in role["Tags"]} == {
            t["Key"]: t["Value"] for t in props["Tags"]
        }
        names = iam.list_role_policies(RoleName=props["RoleName"])["PolicyNames"]
        assert sorted(names) == sorted(p["PolicyName"] for p in props["Policies"])
        for policy in props["Policies"]:
            stored = iam.get_role_policy(
                RoleName=props["RoleName"], PolicyName=policy["PolicyName"]
            )
            assert stored["PolicyDocument"] == expect(policy["PolicyDocument"])
    assert provisioned.api_role_arn.endswith(f":role/{config.bucket_name}-api")
    assert provisioned.tryon_worker_role_arn.endswith(f":role/{config.bucket_name}-tryon-worker")


def test_kms_keys_and_aliases(cdk_out: Path, provisioned: ProvisionedEnvironment) -> None:
    config = config_of(provisioned.env)
    for stack in (config.replica_stack_name, config.primary_stack_name):
        template = raw_template(cdk_out, stack)
        region = manifest_region(cdk_out, stack)
        kms = client("kms", provisioned.endpoint_url, region)
        expect = Expect(provisioned, template)
        resources = template["Resources"]
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::KMS::Key":
                continue
            (key,) = [
                k for k in provisioned.keys if k.logical_id == logical_id and k.stack == stack
            ]
            metadata = kms.describe_key(KeyId=key.key_id)["KeyMetadata"]
            assert metadata["Description"] == resource["Properties"]["Description"]
            assert metadata["Arn"].startswith(f"arn:aws:kms:{region}:")
            rotation = kms.get_key_rotation_status(KeyId=key.key_id)["KeyRotationEnabled"]
            assert rotation is resource["Properties"]["EnableKeyRotation"]
            policy = kms.get_key_policy(KeyId=key.key_id, PolicyName="default")["Policy"]
            assert json.loads(policy) == expect(resource["Properties"]["KeyPolicy"])
        for resource in resources.values():
            if resource["Type"] == "AWS::KMS::Alias":
                alias = resource["Properties"]["AliasName"]
                target = kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
                assert target == expect(resource["Properties"]["TargetKeyId"])
    if config.use_kms:  # prod: the data bucket encrypts with the key behind its alias
        kms = client("kms", provisioned.endpoint_url, config.region)
        data_key = kms.describe_key(KeyId=f"alias/{config.bucket_name}")["KeyMetadata"]["Arn"]
        api = client("s3", provisioned.endpoint_url, config.region)
        rules = api.get_bucket_encryption(Bucket=config.bucket_name)[
            "ServerSideEncryptionConfiguration"
        ]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == data_key


def test_every_resource_is_provisioned_or_reported(
    cdk_out: Path, provisioned: ProvisionedEnvironment
) -> None:
    config = config_of(provisioned.env)
    provisioned_ids = (
        {(b.stack, b.logical_id) for b in provisioned.buckets}
        | {(r.stack, r.logical_id) for r in provisioned.roles}
        | {(k.stack, k.logical_id) for k in provisioned.keys}
        | {(n.stack, n.logical_id) for n in provisioned.not_provisioned}
    )
    for stack in (config.replica_stack_name, config.primary_stack_name):
        for logical_id, resource in raw_template(cdk_out, stack)["Resources"].items():
            if resource["Type"] in ("AWS::S3::BucketPolicy", "AWS::KMS::Alias"):
                continue  # attached to a bucket / key, asserted above
            assert (stack, logical_id) in provisioned_ids, logical_id
    assert {n.cfn_type for n in provisioned.not_provisioned} <= {
        "AWS::SNS::Topic",
        "AWS::SNS::TopicPolicy",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
    }


def test_provisioning_again_restores_the_template(
    cdk_out: Path, dev: ProvisionedEnvironment
) -> None:
    api = client("s3", dev.endpoint_url, dev.region)
    iam = client("iam", dev.endpoint_url, dev.region)
    # Drift introduced by hand: CORS where none is declared, an undeclared inline policy,
    # versioning suspended, a different lifecycle.
    api.put_bucket_cors(
        Bucket=dev.access_log_bucket,
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]},
    )
    api.put_bucket_versioning(
        Bucket=dev.data_bucket, VersioningConfiguration={"Status": "Suspended"}
    )
    api.put_bucket_lifecycle_configuration(
        Bucket=dev.data_bucket,
        LifecycleConfiguration={
            "Rules": [{"ID": "x", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 9}}]
        },
    )
    role_name = dev.api_role_arn.rsplit("/", 1)[1]
    iam.put_role_policy(
        RoleName=role_name,
        PolicyName="Backdoor",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )

    again = provision_environment(cdk_out, "dev", s3_endpoint=dev.endpoint_url)

    assert again == dev
    assert (
        error_code(api.get_bucket_cors, Bucket=dev.access_log_bucket) == "NoSuchCORSConfiguration"
    )
    assert api.get_bucket_versioning(Bucket=dev.data_bucket)["Status"] == "Enabled"
    rule_ids = {
        r["ID"] for r in api.get_bucket_lifecycle_configuration(Bucket=dev.data_bucket)["Rules"]
    }
    assert rule_ids == {"DeleteOldVersions", "DeleteIncompleteMultipart", "ExpireTempUploads"}
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == ["StorageAccess"]
    kms = client("kms", dev.endpoint_url, dev.region)
    tagged = [
        k
        for k in kms.list_keys()["Keys"]
        if any(
            t["TagValue"].startswith("WearitStorage-dev/")
            for t in kms.list_resource_tags(KeyId=k["KeyId"])["Tags"]
        )
    ]
    assert len(tagged) == 1, "the second run found the alarm-topic key instead of adding one"


@pytest.fixture
def editable_cdk_out(cdk_out: Path, tmp_path: Path) -> Path:
    copy_dir = tmp_path / "cdk.out"
    shutil.copytree(cdk_out, copy_dir)
    return copy_dir


def _edit_data_bucket(cdk_out: Path, edit: Any) -> None:
    path = cdk_out / f"{config_of('dev').primary_stack_name}.template.json"
    template = json.loads(path.read_text())
    for resource in template["Resources"].values():
        if resource["Properties"].get("BucketName") == config_of("dev").bucket_name:
            edit(resource["Properties"])
    path.write_text(json.dumps(template))


def test_an_unmapped_bucket_property_fails_naming_it(
    editable_cdk_out: Path, scratch_endpoint: str
) -> None:
    _edit_data_bucket(
        editable_cdk_out,
        lambda props: props.update(AccelerateConfiguration={"AccelerationStatus": "Enabled"}),
    )
    with pytest.raises(UnsupportedPropertyError, match=r"DataBucket\w+ .*AccelerateConfiguration"):
        provision_environment(editable_cdk_out, "dev", s3_endpoint=scratch_endpoint)


def test_an_unmapped_key_inside_a_property_fails_naming_it(
    editable_cdk_out: Path, scratch_endpoint: str
) -> None:
    def add_unknown_cors_key(props: dict[str, Any]) -> None:
        rules = copy.deepcopy(props["CorsConfiguration"]["CorsRules"])
        rules[0]["AllowedFancyHeaders"] = ["x"]
        props["CorsConfiguration"]["CorsRules"] = rules

    _edit_data_bucket(editable_cdk_out, add_unknown_cors_key)
    with pytest.raises(
        UnsupportedPropertyError, match=r"wearit-storage-dev: .*AllowedFancyHeaders"
    ):
        provision_environment(editable_cdk_out, "dev", s3_endpoint=scratch_endpoint)


def test_an_unsupported_intrinsic_fails_naming_it_and_the_resource(
    editable_cdk_out: Path, scratch_endpoint: str
) -> None:
    _edit_data_bucket(
        editable_cdk_out,
        lambda props: props["Tags"].append({"Key": "Owner", "Value": {"Fn::ImportValue": "Team"}}),
    )
    with pytest.raises(
        UnsupportedIntrinsicError, match=r"WearitStorage-dev/DataBucket\w+ uses Fn::ImportValue"
    ):
        provision_environment(editable_cdk_out, "dev", s3_endpoint=scratch_endpoint)


def test_default_provisioning_leaves_the_buckets_usable(dev: ProvisionedEnvironment) -> None:
    api = client("s3", dev.endpoint_url, dev.region)
    api.put_object(Bucket=dev.data_bucket, Key="clothing/u1/probe.txt", Body=b"ok")
    body = api.get_object(Bucket=dev.data_bucket, Key="clothing/u1/probe.txt")["Body"].read()
    assert body == b"ok"
    for bucket in dev.buckets:
        regional = client("s3", dev.endpoint_url, bucket.region)
        assert error_code(regional.get_bucket_policy, Bucket=bucket.name) == "NoSuchBucketPolicy"
    assert {(s.bucket, s.property) for s in dev.skipped} == {
        (dev.data_bucket, "MetricsConfigurations"),
        *((b.name, "AWS::S3::BucketPolicy") for b in dev.buckets),
    }
    # Logging was configured while the policies were in place.
    logging = api.get_bucket_logging(Bucket=dev.data_bucket)["LoggingEnabled"]
    assert logging["TargetBucket"] == dev.access_log_bucket


def test_canary_moto_denies_every_object_request_under_the_tls_only_policy(
    provisioned: ProvisionedEnvironment,
) -> None:
    """Why policies are not held by default; when this fails moto evaluates the conditions."""
    api = client("s3", provisioned.endpoint_url, provisioned.region)
    with pytest.raises(ClientError) as raised:
        api.put_object(Bucket=provisioned.data_bucket, Key="clothing/u1/x.txt", Body=b"x")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_stacks_load_in_deployment_order_with_manifest_regions(cdk_out: Path) -> None:
    config = config_of("dev")
    stacks = load_environment(cdk_out, "dev")
    assert [s.name for s in stacks] == [config.replica_stack_name, config.primary_stack_name]
    assert [s.region for s in stacks] == [config.replica_region, config.region]


def test_an_unknown_environment_or_a_missing_assembly_says_what_to_do(
    cdk_out: Path, tmp_path: Path
) -> None:
    with pytest.raises(
        TemplateError, match=r"no stack tagged Environment=staging .* -c env=staging"
    ):
        load_environment(cdk_out, "staging")
    with pytest.raises(TemplateError, match="run `make synth`"):
        load_environment(tmp_path / "nowhere", "dev")


def test_an_assembly_for_another_account_is_refused(
    editable_cdk_out: Path, scratch_endpoint: str
) -> None:
    manifest_path = editable_cdk_out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    artifact = manifest["artifacts"][config_of("dev").primary_stack_name]
    artifact["environment"] = "aws://999999999999/us-east-1"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(TemplateError, match="MOTO_ACCOUNT_ID=999999999999"):
        provision_environment(editable_cdk_out, "dev", s3_endpoint=scratch_endpoint)
