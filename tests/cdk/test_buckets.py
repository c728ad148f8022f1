"""Every property of every bucket, for both environments, asserted on the synthesized template."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.cdk.helpers import (
    ENVIRONMENTS,
    Templates,
    bucket_named,
    data_bucket,
    primary,
    replica,
    resources_of_type,
)

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def all_buckets(templates: Templates, env: str) -> list[tuple[str, dict[str, Any], str]]:
    names = {
        f"WearitStorage-{env}": [f"wearit-storage-{env}", f"wearit-storage-{env}-access-logs"],
        f"WearitStorageReplica-{env}": [
            f"wearit-storage-{env}-replica",
            f"wearit-storage-{env}-replica-access-logs",
        ],
    }
    found = []
    for stack, bucket_names in names.items():
        for name in bucket_names:
            logical_id, resource = bucket_named(templates[stack], name)
            found.append((stack, resource, logical_id))
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_bucket_blocks_public_access_and_disables_acls(
    templates: Templates, env: str
) -> None:
    buckets = all_buckets(templates, env)
    assert len(buckets) == 4
    for _stack, bucket, _ in buckets:
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        assert "AccessControl" not in props


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_bucket_denies_plain_http_and_tls_below_1_2(templates: Templates, env: str) -> None:
    for stack, _bucket, logical_id in all_buckets(templates, env):
        template = Template.from_json(templates[stack])
        target = [
            {"Fn::GetAtt": [logical_id, "Arn"]},
            {"Fn::Join": ["", [{"Fn::GetAtt": [logical_id, "Arn"]}, "/*"]]},
        ]
        template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": logical_id},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            {
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                "Effect": "Deny",
                                "Principal": {"AWS": "*"},
                                "Resource": target,
                            },
                            {
                                "Action": "s3:*",
                                "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}},
                                "Effect": "Deny",
                                "Principal": {"AWS": "*"},
                                "Resource": target,
                            },
                        ]
                    )
                },
            },
        )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_bucket_is_retained_on_stack_deletion(templates: Templates, env: str) -> None:
    for _stack, bucket, _ in all_buckets(templates, env):
        assert bucket["DeletionPolicy"] == "Retain"
        assert bucket["UpdateReplacePolicy"] == "Retain"


def test_no_custom_resources_and_no_function_but_the_workers(templates: Templates) -> None:
    """Read off the templates, not the constructs' names: nothing deploys a custom resource
    (no Custom:: type, no ServiceToken, no provider function), and every Lambda function is
    one of the product's workers, run by an event source mapping on its queue."""
    assert len(templates) == 4
    for name, template in templates.items():
        resources = template["Resources"]
        types = {resource["Type"] for resource in resources.values()}
        custom = {t for t in types if t.startswith(("Custom::", "AWS::CloudFormation::Custom"))}
        assert not custom, f"{name} deploys {custom}"
        assert "ServiceToken" not in json.dumps(template), f"{name} names a ServiceToken"
        lambda_types = {t for t in types if t.startswith("AWS::Lambda::")}
        assert lambda_types <= {"AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping"}
        functions = resources_of_type(template, "AWS::Lambda::Function")
        mapped = {
            mapping["Properties"]["FunctionName"]["Ref"]
            for mapping in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
        }
        for logical_id, function in functions.items():
            assert function["Properties"]["Handler"].startswith("wearit_storage.workers."), name
            assert logical_id in mapped, f"{name}: {logical_id} is run by no queue"


def test_prod_encrypts_data_with_rotating_customer_key_and_bucket_keys(
    templates: Templates,
) -> None:
    template = templates["WearitStorage-prod"]
    _, bucket = bucket_named(template, "wearit-storage-prod")
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["BucketKeyEnabled"] is True
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key_id = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    key = template["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    primary(templates, "prod").has_resource_properties(
        "AWS::KMS::Alias",
        {"AliasName": "alias/wearit-storage-prod", "TargetKeyId": {"Fn::GetAtt": [key_id, "Arn"]}},
    )


def test_dev_encrypts_data_with_sse_s3(templates: Templates) -> None:
    _, bucket = bucket_named(templates["WearitStorage-dev"], "wearit-storage-dev")
    assert bucket["Properties"]["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_access_log_buckets_use_sse_s3_as_log_delivery_requires(
    templates: Templates, env: str
) -> None:
    for stack, name in (
        (f"WearitStorage-{env}", f"wearit-storage-{env}-access-logs"),
        (f"WearitStorageReplica-{env}", f"wearit-storage-{env}-replica-access-logs"),
    ):
        _, bucket = bucket_named(templates[stack], name)
        sse = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert sse == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_data_and_replica_buckets_are_versioned(templates: Templates, env: str) -> None:
    for stack, name in (
        (f"WearitStorage-{env}", f"wearit-storage-{env}"),
        (f"WearitStorageReplica-{env}", f"wearit-storage-{env}-replica"),
    ):
        _, bucket = bucket_named(templates[stack], name)
        assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_data_bucket_lifecycle(templates: Templates, env: str) -> None:
    bucket = data_bucket(templates, env)
    rules = {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules == {
        "DeleteOldVersions": {
            "Id": "DeleteOldVersions",
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
            "ExpiredObjectDeleteMarker": True,
        },
        "DeleteIncompleteMultipart": {
            "Id": "DeleteIncompleteMultipart",
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        },
        "ExpireTempUploads": {
            "Id": "ExpireTempUploads",
            "Status": "Enabled",
            "Prefix": "temp/",
            "ExpirationInDays": 1,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        },
        "ExpireExports": {
            "Id": "ExpireExports",
            "Status": "Enabled",
            "Prefix": "exports/",
            "ExpirationInDays": 3,  # retention.export_days in cdk.json
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        },
        "ExpireErasureRequests": {
            "Id": "ExpireErasureRequests",
            "Status": "Enabled",
            "Prefix": "erasures/",
            "ExpirationInDays": 30,  # retention.erasure_request_days in cdk.json
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        },
    }


@pytest.mark.parametrize(("env", "log_days"), [("dev", 30), ("prod", 365)])
def test_access_log_retention(templates: Templates, env: str, log_days: int) -> None:
    _, bucket = bucket_named(templates[f"WearitStorage-{env}"], f"wearit-storage-{env}-access-logs")
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert {"Id": "ExpireAccessLogs", "Status": "Enabled", "ExpirationInDays": log_days} in rules


@pytest.mark.parametrize(
    ("env", "origins"),
    [
        ("dev", ["http://localhost:3000", "http://localhost:8081", "https://dev.app.wearit.com"]),
        ("prod", ["https://app.wearit.com"]),
    ],
)
def test_cors_per_environment(templates: Templates, env: str, origins: list[str]) -> None:
    primary(templates, env).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": f"wearit-storage-{env}",
            "CorsConfiguration": {
                "CorsRules": [
                    {
                        "Id": "MobileAppDirectAccess",
                        "AllowedHeaders": ["*"],
                        "AllowedMethods": ["GET", "HEAD", "PUT", "POST"],
                        "AllowedOrigins": origins,
                        "ExposedHeaders": ["ETag"],
                        "MaxAge": 3000,
                    }
                ]
            },
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_server_access_logs_go_to_the_dedicated_log_bucket(templates: Templates, env: str) -> None:
    template = templates[f"WearitStorage-{env}"]
    log_id, _ = bucket_named(template, f"wearit-storage-{env}-access-logs")
    data_id, data = bucket_named(template, f"wearit-storage-{env}")
    assert data["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": log_id},
        "LogFilePrefix": "data/",
    }
    # Ownership is enforced on the log bucket, so delivery is granted by bucket policy to the
    # logging service, for this source bucket and account only.
    primary(templates, env).has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": log_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "s3:PutObject",
                            "Effect": "Allow",
                            "Principal": {"Service": "logging.s3.amazonaws.com"},
                            "Condition": {
                                "ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [data_id, "Arn"]}},
                                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            },
                            "Resource": Match.any_value(),
                        }
                    ]
                )
            },
        },
    )
    replica_template = templates[f"WearitStorageReplica-{env}"]
    replica_log_id, _ = bucket_named(replica_template, f"wearit-storage-{env}-replica-access-logs")
    _, replica_bucket = bucket_named(replica_template, f"wearit-storage-{env}-replica")
    assert replica_bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": replica_log_id
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_request_metrics_are_enabled_for_the_whole_bucket(templates: Templates, env: str) -> None:
    bucket = data_bucket(templates, env)
    assert bucket["Properties"]["MetricsConfigurations"] == [{"Id": "EntireBucket"}]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_everything_taggable_is_tagged(templates: Templates, env: str) -> None:
    expected = [{"Key": "Environment", "Value": env}, {"Key": "Project", "Value": "wearit"}]
    taggable = ("AWS::S3::Bucket", "AWS::IAM::Role", "AWS::KMS::Key", "AWS::SNS::Topic")
    for stack in (f"WearitStorage-{env}", f"WearitStorageReplica-{env}"):
        for cfn_type in taggable:
            for logical_id, resource in resources_of_type(templates[stack], cfn_type).items():
                tags = resource["Properties"]["Tags"]
                assert tags == expected, f"{stack}/{logical_id}"


def test_replica_template_is_in_its_own_stack(templates: Templates) -> None:
    for env in ENVIRONMENTS:
        replica(templates, env).resource_count_is("AWS::S3::Bucket", 2)
        primary(templates, env).resource_count_is("AWS::S3::Bucket", 2)
