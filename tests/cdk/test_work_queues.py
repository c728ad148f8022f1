"""The work queues: S3 -> SQS notifications declared natively, the upload and erasure
queues, their policies and alarms, and the least-privilege roles of the workers that
consume them (the upload worker, the eraser)."""

from __future__ import annotations

from typing import Any

import pytest

from cdk.constructs.worker_function import ERASER, UPLOAD_WORKER
from tests.cdk.helpers import (
    ENVIRONMENTS,
    Templates,
    allowed_pairs,
    bucket_named,
    data_bucket,
    distribution_arn,
    queue_named,
    resources_of_type,
    role_statements,
)
from wearit_storage.uploads.store import UPLOAD_WORKER_WRITER, WRITER_TAG

DAY = 24 * 3600
#: The two queues the bucket announces objects on, by the name's ending.
WORK = ("uploads", "erasures")
DATA_KEY = {"Fn::GetAtt": ["DataKey17AFBB84", "Arn"]}


def queues(
    templates: Templates, env: str, work: str = "uploads"
) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    """The queue of one kind of work and its dead-letter queue."""
    template = templates[f"WearitStorage-{env}"]
    return (
        queue_named(template, f"wearit-storage-{env}-{work}"),
        queue_named(template, f"wearit-storage-{env}-{work}-dlq"),
    )


def queue_arn(templates: Templates, env: str, work: str) -> dict[str, Any]:
    (queue_id, _), _ = queues(templates, env, work)
    return {"Fn::GetAtt": [queue_id, "Arn"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize(
    ("work", "worker_timeout_s"),
    [("uploads", UPLOAD_WORKER.timeout.to_seconds()), ("erasures", ERASER.timeout.to_seconds())],
)
def test_each_queue_keeps_a_long_weekend_and_dead_letters_after_five_receives(
    templates: Templates, env: str, work: str, worker_timeout_s: float
) -> None:
    (_, queue), (dlq_id, dlq) = queues(templates, env, work)
    props = queue["Properties"]
    assert props["MessageRetentionPeriod"] == 4 * DAY
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    # Messages keep their enqueue time in the DLQ: it must retain longer than the queue.
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * DAY
    assert "RedrivePolicy" not in dlq["Properties"]
    # Six times its worker function's timeout (AWS's guidance for SQS event sources).
    assert props["VisibilityTimeout"] == 6 * worker_timeout_s
    assert props["VisibilityTimeout"] == {"uploads": 6 * 60, "erasures": 6 * 300}[work]


@pytest.mark.parametrize("work", WORK)
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("dev", {"SqsManagedSseEnabled": True}),
        ("prod", {"KmsMasterKeyId": DATA_KEY}),
    ],
)
def test_queues_are_encrypted_sqs_managed_in_dev_with_the_data_key_in_prod(
    templates: Templates, env: str, expected: dict[str, Any], work: str
) -> None:
    for _, queue in queues(templates, env, work):
        encryption = {
            k: v
            for k, v in queue["Properties"].items()
            if k in ("SqsManagedSseEnabled", "KmsMasterKeyId")
        }
        assert encryption == expected


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_queue_policies_are_tls_only_and_let_only_this_bucket_send(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    policies = {
        policy["Properties"]["Queues"][0]["Ref"]: policy["Properties"]["PolicyDocument"]
        for policy in resources_of_type(template, "AWS::SQS::QueuePolicy").values()
    }
    pairs = [queues(templates, env, work) for work in WORK]
    assert set(policies) == {logical_id for pair in pairs for logical_id, _ in pair}
    for queue_id, document in policies.items():
        assert {
            "Action": "sqs:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
        } in document["Statement"]
    for (queue_id, _), (dlq_id, _) in pairs:
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
                "Sid": "BucketAnnouncesObjects",
            }
        ]
        assert not [s for s in policies[dlq_id]["Statement"] if s["Effect"] == "Allow"]


def created(prefix: str, suffix: str, queue: dict[str, Any]) -> dict[str, Any]:
    return {
        "Event": "s3:ObjectCreated:*",
        "Filter": {
            "S3Key": {
                "Rules": [
                    {"Name": "prefix", "Value": prefix},
                    {"Name": "suffix", "Value": suffix},
                ]
            }
        },
        "Queue": queue,
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_bucket_announces_pinned_uploads_and_erasure_requests_natively(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    bucket_id, bucket = bucket_named(template, f"wearit-storage-{env}")
    assert bucket_id == "DataBucketE6B0FAA8"  # the retained bucket is not replaced
    uploads, erasures = (queue_arn(templates, env, work) for work in WORK)
    # Pinned uploads' endings only: the upload worker's status.json writes are not
    # announced; erasure requests only: neither is the eraser's progress (status.json).
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "QueueConfigurations": [
            *(
                created("temp/", suffix, uploads)
                for suffix in (".avif", ".heic", ".heif", ".jpeg", ".jpg", ".png", ".webp")
            ),
            created("erasures/", "/request.json", erasures),
        ]
    }
    # S3 checks that it may send when the notification is created: policies first.
    policy_ids = {
        work: lid
        for work in WORK
        for lid, p in resources_of_type(template, "AWS::SQS::QueuePolicy").items()
        if p["Properties"]["Queues"] == [{"Ref": queues(templates, env, work)[0][0]}]
    }
    assert set(policy_ids) == set(WORK)
    assert sorted(bucket["DependsOn"]) == sorted(policy_ids.values())
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


def test_prod_key_lets_only_this_bucket_encrypt_its_events(templates: Templates) -> None:
    key = templates["WearitStorage-prod"]["Resources"]["DataKey17AFBB84"]
    statements = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if "s3.amazonaws.com" in str(s)
    ]
    # One statement for both queues' events (a key policy's "*" is this key).
    assert statements == [
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Condition": {
                "ArnEquals": {"aws:SourceArn": "arn:aws:s3:::wearit-storage-prod"},
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            },
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Resource": "*",
            "Sid": "BucketEncryptsItsEvents",
        }
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_an_alarm_fires_when_either_dead_letter_queue_holds_anything(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    alarms = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: alarm["Properties"]
        for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/SQS"
    }
    dead_letter_queues = {work: queues(templates, env, work)[1][0] for work in WORK}
    assert set(alarms) == set(dead_letter_queues.values())
    for work, dlq_id in dead_letter_queues.items():
        alarm = alarms[dlq_id]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Dimensions"] == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
        ]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert alarm["Statistic"] == "Maximum"
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == [{"Ref": "MonitoringAlarmTopicAF62D4F1"}]
        assert alarm["OKActions"] == [{"Ref": "MonitoringAlarmTopicAF62D4F1"}]
        assert f"wearit-storage-{env}-{work}-dlq" in alarm["AlarmDescription"]


def log_streams(env: str, function: str) -> str:
    return str(
        {
            "Fn::Join": [
                "",
                [
                    "arn:aws:logs:us-east-1:",
                    {"Ref": "AWS::AccountId"},
                    f":log-group:/aws/lambda/wearit-storage-{env}-{function}:*",
                ],
            ]
        }
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_upload_worker_role_has_exactly_what_the_pipeline_needs(
    templates: Templates, env: str
) -> None:
    found = role_statements(templates, env, "upload-worker")
    bucket = f"arn:aws:s3:::wearit-storage-{env}"
    queue = str(queue_arn(templates, env, "uploads"))
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
        # Renditions: written tagged, found by their tags, hidden if half-written; never
        # read (it reads no user's photo), no version of one deleted.
        *(
            (action, f"{bucket}/{p}/*")
            for p in promoted
            for action in (
                "s3:PutObject",
                "s3:PutObjectTagging",
                "s3:AbortMultipartUpload",
                "s3:GetObjectVersionTagging",
                "s3:DeleteObject",
            )
        ),
        # Run as a Lambda function: writing its own log streams, nothing else.
        ("logs:CreateLogStream", log_streams(env, "upload-worker")),
        ("logs:PutLogEvents", log_streams(env, "upload-worker")),
    }
    if env == "prod":
        key = str(DATA_KEY)
        expected |= {("kms:Decrypt", key), ("kms:GenerateDataKey", key)}
    assert allowed_pairs(found) == expected
    # Never tryon/, never the replica.
    assert not any("tryon" in r or "replica" in r for _, r in allowed_pairs(found))
    # What it writes carries its writer tag.
    assert found["WriteOwnRenditions"]["Condition"] == {
        "StringEquals": {f"s3:RequestObjectTag/{WRITER_TAG}": UPLOAD_WORKER_WRITER}
    }
    unconditioned = {sid for sid, s in found.items() if "Condition" not in s}
    assert unconditioned == {
        "ConsumeUploadQueue",
        "ReadAndDeleteUploads",
        "RecordUploadStatus",
        "AbortOwnMultipartUploads",
        "FindOwnVersions",
        "HideFailedRenditions",
        "WriteOwnLogs",
    }
    listing = found["ListUploadsRenditionsAndErasures"]["Condition"]
    assert listing == {
        "StringLike": {
            "s3:prefix": ["temp/*", "clothing/*", "body/*", "avatars/*", "erasures/*/request.json*"]
        }
    }
    if env == "prod":
        assert found["UseBucketKey"]["Condition"] == {
            "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
        }
        assert found["DecryptUploadEvents"] == {
            "Action": "kms:Decrypt",
            "Condition": {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": DATA_KEY,
            "Sid": "DecryptUploadEvents",
        }


def test_no_other_role_may_invalidate_the_cdn(templates: Templates) -> None:
    for template in templates.values():
        for resource in resources_of_type(template, "AWS::IAM::Role").values():
            granted = str(resource["Properties"].get("Policies", []))
            if "cloudfront:" in granted:
                assert resource["Properties"]["RoleName"].endswith("-eraser")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_eraser_role_has_exactly_what_erasing_needs(templates: Templates, env: str) -> None:
    """The one role that deletes versions of user data, in both buckets: it lists, deletes,
    aborts, reads the requests, records its progress and schedules its second pass; it
    reads no photo."""
    found = role_statements(templates, env, "eraser")
    bucket = f"arn:aws:s3:::wearit-storage-{env}"
    replica = f"{bucket}-replica"
    queue = str(queue_arn(templates, env, "erasures"))
    erased = ("clothing", "body", "tryon", "avatars", "exports", "sessions", "temp")
    replicated = ("clothing", "body", "tryon", "avatars")
    expected = {
        ("sqs:ReceiveMessage", queue),
        ("sqs:DeleteMessage", queue),
        ("sqs:ChangeMessageVisibility", queue),
        ("sqs:GetQueueAttributes", queue),
        ("sqs:SendMessage", queue),  # its own second pass, on its own queue
        *(
            (action, f"{bucket}/{p}/*")
            for p in erased
            for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload")
        ),
        ("s3:ListBucket", bucket),
        ("s3:ListBucketVersions", bucket),
        ("s3:ListBucketMultipartUploads", bucket),
        ("s3:GetObject", f"{bucket}/erasures/*"),
        ("s3:PutObject", f"{bucket}/erasures/*/status.json"),
        *(
            (action, f"{replica}/{p}/*")
            for p in replicated
            for action in ("s3:DeleteObject", "s3:DeleteObjectVersion")
        ),
        ("s3:ListBucket", replica),
        ("s3:ListBucketVersions", replica),
        ("logs:CreateLogStream", log_streams(env, "eraser")),
        ("logs:PutLogEvents", log_streams(env, "eraser")),
        # The CDN is on in both environments' cdk.json: its edges forget the erased user.
        ("cloudfront:CreateInvalidation", str(distribution_arn(templates, env))),
    }
    if env == "prod":
        key = str(DATA_KEY)
        expected |= {("kms:Decrypt", key), ("kms:GenerateDataKey", key)}
    assert allowed_pairs(found) == expected
    assert found["ListErased"]["Condition"] == {
        "StringLike": {"s3:prefix": [f"{p}/*" for p in (*erased, "erasures")]}
    }
    assert found["ListReplica"]["Condition"] == {
        "StringLike": {"s3:prefix": [f"{p}/*" for p in replicated]}
    }
    conditioned = {sid for sid, s in found.items() if "Condition" in s}
    assert conditioned == (
        {"ListErased", "ListReplica"}
        | ({"UseBucketKey", "UseQueueKey"} if env == "prod" else set())
    )
    if env == "prod":
        for sid, service in (("UseBucketKey", "s3"), ("UseQueueKey", "sqs")):
            assert found[sid] == {
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"{service}.us-east-1.amazonaws.com"}
                },
                "Effect": "Allow",
                "Resource": DATA_KEY,
                "Sid": sid,
            }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_stack_outputs_what_a_worker_deployment_needs(templates: Templates, env: str) -> None:
    outputs = templates[f"WearitStorage-{env}"]["Outputs"]
    (upload_id, _), (upload_dlq_id, _) = queues(templates, env, "uploads")
    (erasure_id, _), (erasure_dlq_id, _) = queues(templates, env, "erasures")
    assert outputs["UploadQueueUrl"]["Value"] == {"Ref": upload_id}
    assert outputs["UploadDeadLetterQueueUrl"]["Value"] == {"Ref": upload_dlq_id}
    assert outputs["UploadWorkerRoleArn"]["Value"] == {
        "Fn::GetAtt": ["UploadWorkerRoleCA4AEDC2", "Arn"]
    }
    assert outputs["ErasureQueueUrl"]["Value"] == {"Ref": erasure_id}
    assert outputs["ErasureDeadLetterQueueUrl"]["Value"] == {"Ref": erasure_dlq_id}
    assert outputs["EraserRoleArn"]["Value"] == {"Fn::GetAtt": ["EraserRole57FC2FA4", "Arn"]}
    assert outputs["UploadWorkerFunctionName"]["Value"] == {"Ref": "UploadWorkerFunction4220C85C"}
    assert outputs["EraserFunctionName"]["Value"] == {"Ref": "EraserFunction09C0E9BB"}
