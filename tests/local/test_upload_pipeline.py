"""The upload pipeline provisioned from cdk.out: queues, their policy and the bucket's
notification reach moto, moto's S3 delivers uploads under temp/ (and only those) to the
queue, and the worker turns a presigned POST into renditions and ``upload_status`` done."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.local.helpers import raw_template
from tests.sdk.helpers import make_jpeg
from wearit_local import ProvisionedEnvironment, emulator_client
from wearit_local.http_upload import post_presigned
from wearit_storage import StorageSettings, SyncStorageRepository
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.workers import UploadWorker, WorkQueue, parse_message


@pytest.fixture
def sqs(dev: ProvisionedEnvironment) -> Any:
    return emulator_client("sqs", dev.endpoint_url, dev.region)


@pytest.fixture
def repository(dev: ProvisionedEnvironment) -> Iterator[SyncStorageRepository]:
    settings = StorageSettings.from_env(dev.environment_variables())
    with SyncStorageRepository.from_settings(settings) as repo:
        yield repo


def _declared_queues(cdk_out: Path) -> dict[str, dict[str, Any]]:
    template = raw_template(cdk_out, "WearitStorage-dev")
    return {
        r["Properties"]["QueueName"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SQS::Queue"
    }


def test_the_queues_are_provisioned_as_declared(
    cdk_out: Path, dev: ProvisionedEnvironment, sqs: Any
) -> None:
    declared = _declared_queues(cdk_out)
    assert sorted(declared) == sorted(q.name for q in dev.queues)
    by_name = {queue.name: queue for queue in dev.queues}
    for name, props in declared.items():
        attributes = sqs.get_queue_attributes(QueueUrl=by_name[name].url, AttributeNames=["All"])[
            "Attributes"
        ]
        assert attributes["MessageRetentionPeriod"] == str(props["MessageRetentionPeriod"])
        assert attributes["SqsManagedSseEnabled"] == "true"
        if "RedrivePolicy" in props:
            redrive = json.loads(attributes["RedrivePolicy"])
            assert redrive["maxReceiveCount"] == props["RedrivePolicy"]["maxReceiveCount"] == 5
            assert redrive["deadLetterTargetArn"] == by_name[f"{name}-dlq"].arn
            assert attributes["VisibilityTimeout"] == str(props["VisibilityTimeout"])
    assert dev.upload_queue_url == by_name["wearit-storage-dev-uploads"].url
    assert dev.environment_variables()["WEARIT_UPLOAD_QUEUE_URL"] == dev.upload_queue_url


def test_the_queue_policy_is_held_as_declared(
    cdk_out: Path, dev: ProvisionedEnvironment, sqs: Any
) -> None:
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=dev.upload_queue_url, AttributeNames=["Policy"])[
            "Attributes"
        ]["Policy"]
    )
    sids = [s.get("Sid") for s in policy["Statement"]]
    assert sids == [None, "BucketAnnouncesUploads"]
    deny, allow = policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert allow["Condition"] == {
        "ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{dev.data_bucket}"},
        "StringEquals": {"aws:SourceAccount": dev.account_id},
    }
    queue_arn = next(q.arn for q in dev.queues if q.url == dev.upload_queue_url)
    assert allow["Resource"] == deny["Resource"] == queue_arn


def _announced_keys(sqs: Any, queue_url: str, *, wait_s: int = 2) -> list[str]:
    """Every key announced on the queue right now (messages deleted as read)."""
    keys: list[str] = []
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            keys += [event.key for event in parse_message(message["Body"])]
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return keys


def test_uploads_under_temp_are_announced_and_other_prefixes_are_not(
    dev: ProvisionedEnvironment, sqs: Any
) -> None:
    s3 = emulator_client("s3", dev.endpoint_url, dev.region)
    _announced_keys(sqs, dev.upload_queue_url, wait_s=1)  # whatever earlier tests left
    session = uuid.uuid4().hex
    s3.put_object(Bucket=dev.data_bucket, Key=f"temp/{session}/a.jpg", Body=b"x")
    s3.put_object(Bucket=dev.data_bucket, Key=f"clothing/u-{session}/i/a.jpg", Body=b"x")
    s3.put_object(Bucket=dev.data_bucket, Key=f"tempx/{session}/a.jpg", Body=b"x")
    assert _announced_keys(sqs, dev.upload_queue_url) == [f"temp/{session}/a.jpg"]


def test_a_presigned_post_is_promoted_by_the_worker_and_reported_done(
    dev: ProvisionedEnvironment, repository: SyncStorageRepository, sqs: Any
) -> None:
    session = uuid.uuid4().hex
    destination = UploadDestination("clothing", "local-user", "item-1")
    post = repository.presign_upload(session, "photo.jpg", destination=destination)
    assert repository.upload_status(session).state == "pending"
    assert post_presigned(post, make_jpeg((1600, 1200)), "image/jpeg") in (200, 201, 204)
    queue = WorkQueue(sqs, dev.upload_queue_url)
    worker = UploadWorker(repository, queue, wait_s=1, worker_id="local-test")
    for _ in range(5):  # earlier messages (test events, other tests) come first
        worker.run(once=True)
        if worker.stats.done:
            break
    assert worker.stats.done == 1
    status = repository.upload_status(session)
    assert status.state == "done"
    assert status.main_key == "clothing/local-user/item-1/image.jpg"
    assert status.url is not None
    with_renditions = repository.download_clothing_image("local-user", "item-1", "image.jpg")
    assert with_renditions[:2] == b"\xff\xd8"
