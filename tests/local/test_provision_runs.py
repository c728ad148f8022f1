"""Provisioning as a whole: nothing left out silently, a second run restores the template,
and the default provisioning (CLI, demo) leaves the buckets usable."""

from __future__ import annotations

import json
from pathlib import Path

from tests.local.helpers import config_of, error_code, raw_template
from wearit_local import ProvisionedEnvironment, emulator_client, provision_environment
from wearit_local.provision.orchestration import WORKER_TYPES


def test_every_resource_is_provisioned_or_reported(
    cdk_out: Path, provisioned: ProvisionedEnvironment
) -> None:
    config = config_of(provisioned.env)
    provisioned_ids = (
        {(b.stack, b.logical_id) for b in provisioned.buckets}
        | {(r.stack, r.logical_id) for r in provisioned.roles}
        | {(k.stack, k.logical_id) for k in provisioned.keys}
        | {(q.stack, q.logical_id) for q in provisioned.queues}
        | {(n.stack, n.logical_id) for n in provisioned.not_provisioned}
    )
    for stack in (config.replica_stack_name, config.primary_stack_name):
        for logical_id, resource in raw_template(cdk_out, stack)["Resources"].items():
            if resource["Type"] in (
                "AWS::S3::BucketPolicy",
                "AWS::KMS::Alias",
                "AWS::SQS::QueuePolicy",
            ):
                continue  # attached to a bucket / key / queue, asserted by the drift tests
            assert (stack, logical_id) in provisioned_ids, logical_id
    assert {n.cfn_type for n in provisioned.not_provisioned} <= {
        "AWS::SNS::Topic",
        "AWS::SNS::TopicPolicy",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        *WORKER_TYPES,  # the demo drives the worker's handler itself
        # The image CDN: CloudFront cannot run locally (the demo prints its URLs).
        "AWS::CloudFront::Distribution",
        "AWS::CloudFront::OriginAccessControl",
        "AWS::CloudFront::CachePolicy",
        "AWS::CloudFront::OriginRequestPolicy",
        "AWS::CloudFront::ResponseHeadersPolicy",
        "AWS::CloudFront::KeyGroup",
        "AWS::CloudFront::PublicKey",
        "AWS::CertificateManager::Certificate",
    }
    workers = [n for n in provisioned.not_provisioned if n.cfn_type in WORKER_TYPES]
    assert workers
    assert all("handler" in n.reason for n in workers)
    # The distribution is named by the bucket (and, in prod, key) policies: a marked stand-in.
    stand_ins = {n.cfn_type: n.stand_in for n in provisioned.not_provisioned if n.stand_in}
    assert set(stand_ins) == {"AWS::CloudFront::Distribution"}
    assert all(s.startswith("not-provisioned-") for s in stand_ins.values())


def test_provisioning_again_restores_the_template(
    cdk_out: Path, dev: ProvisionedEnvironment
) -> None:
    api = emulator_client("s3", dev.endpoint_url, dev.region)
    iam = emulator_client("iam", dev.endpoint_url, dev.region)
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
    assert rule_ids == {
        "DeleteOldVersions",
        "DeleteIncompleteMultipart",
        "ExpireTempUploads",
        "ExpireExports",
        "ExpireErasureRequests",
        "ExpireSessionBindings",
    }
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == ["StorageAccess"]
    kms = emulator_client("kms", dev.endpoint_url, dev.region)
    tagged = [
        k
        for k in kms.list_keys()["Keys"]
        if any(
            t["TagValue"].startswith("WearitStorage-dev/")
            for t in kms.list_resource_tags(KeyId=k["KeyId"])["Tags"]
        )
    ]
    assert len(tagged) == 1, "the second run found the alarm-topic key instead of adding one"


def test_default_provisioning_leaves_the_buckets_usable(dev: ProvisionedEnvironment) -> None:
    api = emulator_client("s3", dev.endpoint_url, dev.region)
    api.put_object(Bucket=dev.data_bucket, Key="clothing/u1/probe.txt", Body=b"ok")
    body = api.get_object(Bucket=dev.data_bucket, Key="clothing/u1/probe.txt")["Body"].read()
    assert body == b"ok"
    for bucket in dev.buckets:
        regional = emulator_client("s3", dev.endpoint_url, bucket.region)
        assert error_code(regional.get_bucket_policy, Bucket=bucket.name) == "NoSuchBucketPolicy"
    assert {(s.bucket, s.property) for s in dev.skipped} == {
        (dev.data_bucket, "MetricsConfigurations"),
        *((b.name, "AWS::S3::BucketPolicy") for b in dev.buckets),
    }
    # Logging was configured while the policies were in place.
    logging = api.get_bucket_logging(Bucket=dev.data_bucket)["LoggingEnabled"]
    assert logging["TargetBucket"] == dev.access_log_bucket
