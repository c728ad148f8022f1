"""The upload pipeline: S3 -> SQS notification declared natively, the queues, their policy
and alarm, and the least-privilege upload worker role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cdk.helpers import (
    ENVIRONMENTS,
    Templates,
    bucket_named,
    data_bucket,
    resources_of_type,
    role_statements,
)

DAY = 24 * 3600


def queue_named(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in resources_of_type(template, "AWS::SQS::Queue").items():
        if resource["Properties"]["QueueName"] == name:
            return logical_id, resource
    raise AssertionError(f"no queue named {name}")


def queues(templates: Templates, env: str) -> tuple[tuple[str, dict[str, Any]], ...]:
    template = templates[f"WearitStorage-{env}"]
    return (
        queue_named(template, f"wearit-storage-{env}-uploads"),
        queue_named(template, f"wearit-storage-{env}-uploads-dlq"),
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_upload_queue_keeps_a_long_weekend_and_dead_letters_after_five_receives(
    templates: Templates, env: str
) -> None:
    (_, queue), (dlq_id, dlq) = queues(templates, env)
    props = queue["Properties"]
    assert props["MessageRetentionPeriod"] == 4 * DAY
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    # Messages keep their enqueue time in the DLQ: it must retain longer than the queue.
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * DAY
    # Six times the worker function's timeout (AWS's guidance for SQS event sources).
    assert props["VisibilityTimeout"] == 6 * 60


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("dev", {"SqsManagedSseEnabled": True}),
        ("prod", {"KmsMasterKeyId": {"Fn::GetAtt": ["DataKey17AFBB84", "Arn"]}}),
    ],
)
def test_queues_are_encrypted_sqs_managed_in_dev_with_the_data_key_in_prod(
    templates: Templates, env: str, expected: dict[str, Any]
) -> None:
    for _, queue in queues(templates, env):
        encryption = {
            k: v
            for k, v in queue["Properties"].items()
            if k in ("SqsManagedSseEnabled", "KmsMasterKeyId")
        }
        assert encryption == expected


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_queue_policy_is_tls_only_and_lets_only_this_bucket_send(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    (queue_id, _), (dlq_id, _) = queues(templates, env)
    policies = {
        policy["Properties"]["Queues"][0]["Ref"]: policy["Properties"]["PolicyDocument"]
        for policy in resources_of_type(template, "AWS::SQS::QueuePolicy").values()
    }
    assert set(policies) == {queue_id, dlq_id}
    for document in policies.values():
        assert {
            "Action": "sqs:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": document["Statement"][0]["Resource"],
        } in document["Statement"]
    allows = [s for s in policies[queue_id]["Statement"] if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Action": "sqs:SendMessage",
            "Condition": {
                "ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::wearit-storage-{env}"},
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            },
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
            "Sid": "BucketAnnouncesUploads",
        }
    ]
    assert not [s for s in policies[dlq_id]["Statement"] if s["Effect"] == "Allow"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_bucket_notifies_the_queue_of_uploads_under_temp_natively(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    (queue_id, _), _ = queues(templates, env)
    bucket_id, bucket = bucket_named(template, f"wearit-storage-{env}")
    assert bucket_id == "DataBucketE6B0FAA8"  # the retained bucket is not replaced
    # Pinned uploads' endings only: the worker's status.json writes are not announced.
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "QueueConfigurations": [
            {
                "Event": "s3:ObjectCreated:*",
                "Filter": {
                    "S3Key": {
                        "Rules": [
                            {"Name": "prefix", "Value": "temp/"},
                            {"Name": "suffix", "Value": suffix},
                        ]
                    }
                },
                "Queue": {"Fn::GetAtt": [queue_id, "Arn"]},
            }
            for suffix in (".heic", ".heif", ".jpeg", ".jpg", ".png", ".webp")
        ]
    }
    # S3 checks that it may send when the notification is created: policy first.
    (policy_id,) = [
        lid
        for lid, p in resources_of_type(template, "AWS::SQS::QueuePolicy").items()
        if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    assert policy_id in bucket["DependsOn"]
    # Not add_event_notification: no BucketNotifications custom resource.
    assert not [r for r in template["Resources"].values() if "Notification" in r["Type"]]


def test_only_the_data_bucket_notifies(templates: Templates) -> None:
    for env in ENVIRONMENTS:
        for stack in (f"WearitStorage-{env}", f"WearitStorageReplica-{env}"):
            notifying = [
                r["Properties"]["BucketName"]
                for r in resources_of_type(templates[stack], "AWS::S3::Bucket").values()
                if "NotificationConfiguration" in r["Properties"]
            ]
            assert notifying == ([f"wearit-storage-{env}"] if "Replica" not in stack else [])
    assert data_bucket(templates, "dev")["Properties"]["NotificationConfiguration"]


def test_prod_key_lets_only_this_bucket_encrypt_its_upload_events(templates: Templates) -> None:
    key = templates["WearitStorage-prod"]["Resources"]["DataKey17AFBB84"]
    statements = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert statements["BucketEncryptsUploadEvents"] == {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Condition": {
            "ArnEquals": {"aws:SourceArn": "arn:aws:s3:::wearit-storage-prod"},
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        },
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Resource": "*",
        "Sid": "BucketEncryptsUploadEvents",
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_an_alarm_fires_when_the_dead_letter_queue_holds_anything(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    _, (dlq_id, _) = queues(templates, env)
    (alarm,) = [
        a["Properties"]
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/SQS"
    ]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["Statistic"] == "Maximum"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": "MonitoringAlarmTopicAF62D4F1"}]


def _pairs(statements: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    pairs = set()
    for statement in statements.values():
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in resources if isinstance(resources, list) else [resources]:
                pairs.add((action, str(resource)))
    return pairs


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_upload_worker_role_has_exactly_what_the_pipeline_needs(
    templates: Templates, env: str
) -> None:
    found = role_statements(templates, env, "upload-worker")
    (queue_id, _), _ = queues(templates, env)
    bucket = f"arn:aws:s3:::wearit-storage-{env}"
    queue = str({"Fn::GetAtt": [queue_id, "Arn"]})
    promoted = ("clothing", "body", "avatars")
    expected = {
        ("sqs:ReceiveMessage", queue),
        ("sqs:DeleteMessage", queue),
        ("sqs:ChangeMessageVisibility", queue),
        ("sqs:GetQueueAttributes", queue),
        ("s3:GetObject", f"{bucket}/temp/*"),
        ("s3:GetObjectVersion", f"{bucket}/temp/*"),
        ("s3:DeleteObject", f"{bucket}/temp/*"),
        ("s3:DeleteObjectVersion", f"{bucket}/temp/*"),
        ("s3:PutObject", f"{bucket}/temp/*/status.json"),
        ("s3:ListBucket", bucket),
        ("s3:ListBucketVersions", bucket),
        *(
            (a, f"{bucket}/{p}/*")
            for p in promoted
            for a in ("s3:PutObject", "s3:AbortMultipartUpload")
        ),
        *(
            (a, f"{bucket}/{p}/*")
            for p in promoted
            for a in ("s3:GetObjectVersion", "s3:DeleteObjectVersion")
        ),
    }
    if env == "prod":
        key = str({"Fn::GetAtt": ["DataKey17AFBB84", "Arn"]})
        expected |= {("kms:Decrypt", key), ("kms:GenerateDataKey", key)}
    # Run as a Lambda function: writing its own log streams, nothing else.
    logs = found.pop("WriteOwnLogs")
    assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert _pairs(found) == expected
    # Never tryon/, never a plain GetObject of user data, never the replica.
    assert not any("tryon" in r or "replica" in r for _, r in _pairs(found))
    listing = found["ListUploadsRenditionsAndErasures"]["Condition"]
    assert listing == {
        "StringLike": {"s3:prefix": ["temp/*", "clothing/*", "body/*", "avatars/*", "erasures/*"]}
    }
    if env == "prod":
        assert found["UseBucketKey"]["Condition"] == {
            "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
        }
        assert found["DecryptUploadEvents"] == {
            "Action": "kms:Decrypt",
            "Condition": {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": ["DataKey17AFBB84", "Arn"]},
            "Sid": "DecryptUploadEvents",
        }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_stack_outputs_what_a_worker_deployment_needs(templates: Templates, env: str) -> None:
    outputs = templates[f"WearitStorage-{env}"]["Outputs"]
    (queue_id, _), (dlq_id, _) = queues(templates, env)
    assert outputs["UploadQueueUrl"]["Value"] == {"Ref": queue_id}
    assert outputs["UploadDeadLetterQueueUrl"]["Value"] == {"Ref": dlq_id}
    assert outputs["UploadWorkerRoleArn"]["Value"] == {
        "Fn::GetAtt": ["UploadWorkerRoleCA4AEDC2", "Arn"]
    }
