"""DRIFT, IAM and KMS: the roles (trust, settings, tags, inline policies), the keys and
their aliases hold what the templates declare, compared with the raw template JSON."""

from __future__ import annotations

import json
from pathlib import Path

from tests.local.drift import Expect
from tests.local.helpers import config_of, manifest_region, raw_template
from wearit_local import ProvisionedEnvironment, emulator_client


def test_roles(cdk_out: Path, provisioned: ProvisionedEnvironment) -> None:
    config = config_of(provisioned.env)
    template = raw_template(cdk_out, config.primary_stack_name)
    expect = Expect(provisioned, template)
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) == 5  # api, try-on worker, replication, upload worker, eraser
    iam = emulator_client("iam", provisioned.endpoint_url, provisioned.region)
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
    assert provisioned.upload_worker_role_arn.endswith(f":role/{config.bucket_name}-upload-worker")
    assert provisioned.eraser_role_arn.endswith(f":role/{config.bucket_name}-eraser")


def test_kms_keys_and_aliases(cdk_out: Path, provisioned: ProvisionedEnvironment) -> None:
    config = config_of(provisioned.env)
    for stack in (config.replica_stack_name, config.primary_stack_name):
        template = raw_template(cdk_out, stack)
        region = manifest_region(cdk_out, stack)
        kms = emulator_client("kms", provisioned.endpoint_url, region)
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
        kms = emulator_client("kms", provisioned.endpoint_url, config.region)
        data_key = kms.describe_key(KeyId=f"alias/{config.bucket_name}")["KeyMetadata"]["Arn"]
        api = emulator_client("s3", provisioned.endpoint_url, config.region)
        rules = api.get_bucket_encryption(Bucket=config.bucket_name)[
            "ServerSideEncryptionConfiguration"
        ]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == data_key
