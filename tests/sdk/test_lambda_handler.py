"""The upload worker's Lambda handler, called with Lambda's SQS event JSON made of the S3
event messages the local queue really received (moto runs no Lambda: the test is the
event source mapping)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.sdk.helpers import PRIMARY_REGION, all_versions, notify_queue, upload_queue
from wearit_local.clients import emulator_client
from wearit_local.http_upload import post_presigned
from wearit_local.lambda_events import LocalContext, receive_all, sqs_event
from wearit_storage import StorageSettings, SyncStorageRepository
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.workers import lambda_handler, parse_message

DESTINATION = UploadDestination("clothing", "user-1", "item-1")


@pytest.fixture
def sqs(moto_endpoint: str) -> Any:
    return emulator_client("sqs", moto_endpoint, region=PRIMARY_REGION)


@pytest.fixture
def queue_url(moto_endpoint: str, bucket: str, sqs: Any) -> str:
    url, _ = upload_queue(moto_endpoint, f"lambda-{uuid.uuid4().hex[:12]}")
    notify_queue(moto_endpoint, bucket, url)
    (test_event,) = receive_all(sqs, url, 1)  # S3's s3:TestEvent
    sqs.delete_message(QueueUrl=url, ReceiptHandle=test_event["ReceiptHandle"])
    return url


@pytest.fixture
def function_environment(
    monkeypatch: pytest.MonkeyPatch, settings: StorageSettings, queue_url: str
) -> Iterator[None]:
    """What the stack sets on the function (Lambda adds AWS_REGION and credentials)."""
    variables = {
        "AWS_REGION": settings.region,
        "AWS_BUCKET_NAME": settings.bucket_name,
        "AWS_ENDPOINT_URL": str(settings.endpoint_url),
        "WEARIT_UPLOAD_QUEUE_URL": queue_url,
        "WEARIT_WORKER_CONCURRENCY": "2",
        "WEARIT_MESSAGE_DEADLINE_SECONDS": "20",
        "WEARIT_MAX_ATTEMPTS": "2",
        "AWS_LAMBDA_FUNCTION_NAME": "wearit-storage-test-upload-worker",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/03/[$LATEST]0123456789abcdef",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    lambda_handler.upload_worker.cache_clear()  # a new execution environment
    yield
    lambda_handler.upload_worker.cache_clear()


def post(repo: SyncStorageRepository, session: str, data: bytes) -> None:
    presigned = repo.presign_upload(session, "photo.jpg", destination=DESTINATION)
    assert post_presigned(presigned, data, "image/jpeg") in (200, 201, 204)


def invoke(event: dict[str, Any], context: LocalContext | None = None) -> list[str]:
    response = lambda_handler.upload_handler(event, context or LocalContext())
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


@pytest.mark.usefixtures("function_environment")
def test_a_batch_of_uploads_is_promoted_and_nothing_comes_back(
    repo: SyncStorageRepository, sqs: Any, queue_url: str, jpeg: bytes
) -> None:
    for index in range(3):
        post(repo, f"sess-l{index}", jpeg)
    event = sqs_event(sqs, queue_url, receive_all(sqs, queue_url, 3))
    assert invoke(event) == []
    assert {repo.upload_status(f"sess-l{i}").state for i in range(3)} == {"done"}


@pytest.mark.usefixtures("function_environment")
def test_a_rejected_upload_is_settled_not_a_failure(
    repo: SyncStorageRepository, sqs: Any, queue_url: str
) -> None:
    post(repo, "sess-bad", b"\xff\xd8 not a photo at all" * 20)
    assert invoke(sqs_event(sqs, queue_url, receive_all(sqs, queue_url, 1))) == []
    assert repo.upload_status("sess-bad").state == "rejected"


@pytest.mark.usefixtures("function_environment")
def test_only_the_failed_record_of_a_partial_batch_comes_back(
    repo: SyncStorageRepository, sqs: Any, queue_url: str, jpeg: bytes
) -> None:
    post(repo, "sess-ok1", jpeg)
    sqs.send_message(QueueUrl=queue_url, MessageBody="this is not an S3 event")
    post(repo, "sess-ok2", jpeg)
    messages = receive_all(sqs, queue_url, 3)
    malformed = [m["MessageId"] for m in messages if m["Body"] == "this is not an S3 event"]
    assert invoke(sqs_event(sqs, queue_url, messages)) == malformed
    assert repo.upload_status("sess-ok1").state == "done"
    assert repo.upload_status("sess-ok2").state == "done"


@pytest.mark.usefixtures("function_environment")
def test_a_redelivered_message_is_settled_again_without_a_second_render(
    repo: SyncStorageRepository, sqs: Any, queue_url: str, admin: Any, bucket: str, jpeg: bytes
) -> None:
    post(repo, "sess-again", jpeg)
    event = sqs_event(sqs, queue_url, receive_all(sqs, queue_url, 1))
    assert invoke(event) == []
    renditions = all_versions(admin, bucket, "clothing/")
    assert invoke(event) == []  # the same record again (at-least-once delivery)
    assert all_versions(admin, bucket, "clothing/") == renditions


@pytest.mark.usefixtures("function_environment")
def test_messages_not_started_before_the_deadline_come_back_whole(
    repo: SyncStorageRepository,
    sqs: Any,
    queue_url: str,
    jpeg: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEARIT_WORKER_CONCURRENCY", "1")  # in order, one after another
    for index in range(4):
        post(repo, f"sess-t{index}", jpeg)
    messages = receive_all(sqs, queue_url, 4)
    # 45 s left, 20 s more gone each time a message starts: two start, two cannot.
    returned = invoke(sqs_event(sqs, queue_url, messages), LocalContext(45_000, 20_000))
    assert returned == [m["MessageId"] for m in messages[2:]]
    sessions = [parse_message(m["Body"])[0].key.split("/")[1] for m in messages]
    assert [repo.upload_status(s).state for s in sessions] == ["done", "done", "pending", "pending"]


@pytest.mark.usefixtures("function_environment")
def test_the_worker_reports_embedded_metric_format_lines(
    repo: SyncStorageRepository,
    sqs: Any,
    queue_url: str,
    jpeg: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    post(repo, "sess-emf", jpeg)
    assert invoke(sqs_event(sqs, queue_url, receive_all(sqs, queue_url, 1))) == []
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert [line["operation"] for line in lines] == ["upload_received", "upload_done"]
    (directive,) = lines[-1]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "WearIT/Storage"
    assert directive["Dimensions"] == [["operation", "outcome", "function"]]
    assert lines[-1]["function"] == "wearit-storage-test-upload-worker"
    assert lines[-1]["Count"] == 1
