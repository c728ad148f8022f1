"""The upload worker against moto's S3 and SQS: notification -> queue -> worker -> status.

The bucket notifies the queue as the stack declares it (ObjectCreated under temp/), so
the messages here are the ones moto's S3 sends; redeliveries are the same bodies again.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.sdk.helpers import all_versions, notify_queue, upload_queue
from wearit_local.clients import emulator_client
from wearit_local.http_upload import post_presigned
from wearit_storage import OperationMetric, StorageUnavailable, SyncStorageRepository
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.uploads.status import Claim, StatusRecord, claim, read_status, write_status
from wearit_storage.workers import (
    Outcome,
    QueueMessage,
    UploadProcessor,
    UploadQueue,
    UploadWorker,
    parse_message,
)

SESSION = "sess-a1"


@pytest.fixture
def queues(moto_endpoint: str, bucket: str) -> tuple[str, str]:
    url, dlq = upload_queue(moto_endpoint, f"uploads-{uuid.uuid4().hex[:12]}", max_receive_count=2)
    notify_queue(moto_endpoint, bucket, url)
    # Like S3, moto announces a new notification with an s3:TestEvent: consume it.
    sqs = emulator_client("sqs", moto_endpoint, region="eu-west-3")
    (test_event,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert parse_message(test_event["Body"]) == []
    sqs.delete_message(QueueUrl=url, ReceiptHandle=test_event["ReceiptHandle"])
    return url, dlq


@pytest.fixture
def queue(moto_endpoint: str, queues: tuple[str, str]) -> UploadQueue:
    sqs = emulator_client("sqs", moto_endpoint, region="eu-west-3")
    return UploadQueue(sqs, queues[0])


@pytest.fixture
def metrics() -> list[OperationMetric]:
    return []


@pytest.fixture
def worker(
    repo: SyncStorageRepository, queue: UploadQueue, metrics: list[OperationMetric]
) -> UploadWorker:
    return UploadWorker(repo, queue, wait_s=1, metrics_hook=metrics.append, worker_id="w1")


def upload(repo: SyncStorageRepository, data: bytes, session: str = SESSION) -> str:
    destination = UploadDestination("clothing", "user-1", "item-1")
    post = repo.presign_upload(session, "photo.jpg", destination=destination)
    assert post_presigned(post, data, "image/jpeg") in (200, 201, 204)
    return post.key


def claim_as(repo: SyncStorageRepository, worker: str, lease: timedelta) -> Claim:
    """Claim the session's upload as ``worker`` would (its ETag read with HeadObject)."""
    etag = repo.s3_client.head_object(f"temp/{SESSION}/photo.jpg").etag
    return claim(repo.s3_client, SESSION, "photo.jpg", upload_etag=etag, worker=worker, lease=lease)


def receive_upload_message(queue: UploadQueue) -> QueueMessage:
    """The next message announcing an upload (the worker's status writes announce too)."""
    found: QueueMessage | None = None
    for _ in range(5):
        for message in queue.receive(10, wait_s=1):
            if found is None and any(
                not e.key.endswith("status.json") for e in parse_message(message.body)
            ):
                found = message
            elif all(e.key.endswith("status.json") for e in parse_message(message.body)):
                queue.delete(message)
        if found is not None:
            return found
    raise AssertionError("no upload message arrived")


def test_a_pinned_upload_becomes_renditions_and_status_done(
    repo: SyncStorageRepository,
    worker: UploadWorker,
    admin: Any,
    bucket: str,
    jpeg: bytes,
    metrics: list[OperationMetric],
) -> None:
    assert repo.upload_status(SESSION).state == "pending"
    temp_key = upload(repo, jpeg)
    assert repo.upload_status(SESSION).state == "pending"
    stats = worker.run(once=True)
    assert (stats.received, stats.done) == (1, 1)
    status = repo.upload_status(SESSION)
    assert status.state == "done"
    assert status.main_key == "clothing/user-1/item-1/image.jpg"
    assert status.thumbnail_key == "clothing/user-1/item-1/image_thumb.jpg"
    assert status.url is not None
    assert "X-Amz-Signature" in status.url
    assert status.thumbnail_url is not None
    # Clothing stores an AVIF beside each JPEG: the status names both, with their URLs.
    assert status.avif_key == "clothing/user-1/item-1/image.avif"
    assert status.thumbnail_avif_key == "clothing/user-1/item-1/image_thumb.avif"
    assert status.avif_url is not None
    assert "/image.avif?" in status.avif_url
    assert status.thumbnail_avif_url is not None
    assert "/image_thumb.avif?" in status.thumbnail_avif_url
    assert [k for k, _, _ in all_versions(admin, bucket, temp_key)] == []
    done = [m for m in metrics if m.operation == "upload_done"]
    assert len(done) == 1
    assert done[0].key == temp_key
    assert done[0].duration_s >= 0
    assert [m.operation for m in metrics].count("upload_received") == 1


def test_a_redelivered_message_neither_fails_nor_renders_again(
    repo: SyncStorageRepository,
    queue: UploadQueue,
    worker: UploadWorker,
    admin: Any,
    bucket: str,
    jpeg: bytes,
) -> None:
    upload(repo, jpeg)
    message = receive_upload_message(queue)
    worker.handle(message)
    versions_after_first = all_versions(admin, bucket, "clothing/user-1/")
    assert len(versions_after_first) == 4  # main + thumbnail, JPEG and AVIF
    # The same body again (SQS at-least-once, or S3's own duplicate event).
    worker.handle(message)
    worker.handle(message)
    assert all_versions(admin, bucket, "clothing/user-1/") == versions_after_first
    assert worker.stats.done == 1
    assert worker.stats.settled_before == 2
    assert repo.upload_status(SESSION).state == "done"


def test_a_second_worker_backs_off_while_the_first_holds_the_upload_then_takes_over_a_dead_one(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    temp_key = upload(repo, jpeg)
    (event,) = [
        e
        for e in parse_message(
            json.dumps(
                {
                    "Records": [
                        {
                            "eventName": "ObjectCreated:Post",
                            "eventTime": "2026-11-30T08:00:00Z",
                            "s3": {"bucket": {"name": bucket}, "object": {"key": temp_key}},
                        }
                    ]
                }
            )
        )
    ]
    first = claim_as(repo, "w1", timedelta(minutes=5))
    assert first.version_id is not None
    second = UploadProcessor(repo.uploads, worker_id="w2").process(event)
    assert second.outcome is Outcome.BUSY
    assert second.retry_in is not None
    assert second.retry_in > timedelta(minutes=4)
    assert all_versions(admin, bucket, "clothing/") == []
    # w1 dies; once its lease has run out, another worker takes the upload over.
    expired = StatusRecord(
        "processing", "photo.jpg", worker="w1", lease_until=datetime.now(UTC) - timedelta(1)
    )
    write_status(repo.s3_client, SESSION, expired)
    takeover = UploadProcessor(repo.uploads, worker_id="w3").process(event)
    assert takeover.outcome is Outcome.DONE
    # One main, one thumbnail, each a JPEG and an AVIF.
    assert len(all_versions(admin, bucket, "clothing/")) == 4
    assert repo.upload_status(SESSION).state == "done"


def test_an_expired_lease_is_taken_over_once(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    upload(repo, jpeg)
    dead = claim_as(repo, "dead", timedelta(0))
    assert dead.version_id is not None
    winner = claim_as(repo, "w2", timedelta(minutes=5))
    loser = claim_as(repo, "w3", timedelta(minutes=5))
    assert winner.version_id is not None
    assert loser.version_id is None
    assert loser.busy_for is not None


def test_a_rejected_image_deletes_the_upload_records_why_and_acks(
    repo: SyncStorageRepository,
    queue: UploadQueue,
    worker: UploadWorker,
    admin: Any,
    bucket: str,
    metrics: list[OperationMetric],
) -> None:
    temp_key = upload(repo, b"\xff\xd8 this is no jpeg at all" * 20)
    worker.run(once=True)
    status = repo.upload_status(SESSION)
    assert status.state == "rejected"
    assert status.reason in ("corrupt", "unsupported_format")
    assert status.message
    assert all_versions(admin, bucket, temp_key) == []
    assert all_versions(admin, bucket, "clothing/") == []
    assert [m.error for m in metrics if m.operation == "upload_rejected"] == [status.reason]
    # The message is gone: nothing comes back after the visibility timeout.
    assert not any(
        not e.key.endswith("status.json")
        for m in queue.receive(10, wait_s=2)
        for e in parse_message(m.body)
    )


def test_a_transient_failure_leaves_the_message_to_come_back_and_releases_the_claim(
    repo: SyncStorageRepository,
    queue: UploadQueue,
    worker: UploadWorker,
    jpeg: bytes,
    monkeypatch: pytest.MonkeyPatch,
    metrics: list[OperationMetric],
) -> None:
    upload(repo, jpeg)

    def unavailable(*_: Any) -> None:
        raise StorageUnavailable("S3 kept failing with SlowDown after retries")

    monkeypatch.setattr(repo.uploads, "promote_pinned_upload", unavailable)
    worker.handle(receive_upload_message(queue))
    assert worker.stats.retried == 1
    assert [m.operation for m in metrics if m.outcome == "error"] == ["upload_retried"]
    assert read_status(repo.s3_client, SESSION) is None  # claim given back
    monkeypatch.undo()
    again = receive_upload_message(queue)  # visible again after the 1 s timeout
    assert again.receive_count == 2
    worker.handle(again)
    assert repo.upload_status(SESSION).state == "done"


def test_a_message_that_keeps_failing_lands_in_the_dead_letter_queue(
    moto_endpoint: str, queues: tuple[str, str], queue: UploadQueue, worker: UploadWorker
) -> None:
    sqs = emulator_client("sqs", moto_endpoint, region="eu-west-3")
    url, dlq = queues
    sqs.send_message(QueueUrl=url, MessageBody="this is not an S3 event")
    for _ in range(2):  # maxReceiveCount receives, never deleted
        (message,) = queue.receive(1, wait_s=2)
        worker.handle(message)
    assert queue.receive(1, wait_s=2) == []  # the next receive moves it instead
    moved = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in moved] == ["this is not an S3 event"]


def test_an_upload_presigned_without_destination_is_left_to_the_api(
    repo: SyncStorageRepository, worker: UploadWorker, admin: Any, bucket: str, jpeg: bytes
) -> None:
    post = repo.presign_upload("sess-sync", "photo.jpg")
    assert post_presigned(post, jpeg, "image/jpeg") in (200, 201, 204)
    worker.run(once=True)
    assert worker.stats.ignored == 1
    assert [k for k, _, _ in all_versions(admin, bucket, "temp/sess-sync/")] == [post.key]
    assert repo.upload_status("sess-sync").state == "pending"
    # The synchronous path still works on it.
    stored = repo.promote_temp_upload(
        "sess-sync", "photo.jpg", user_id="user-1", category="clothing", item_id="item-2"
    )
    assert stored.main.key == "clothing/user-1/item-2/image.jpg"


def test_a_temp_object_gone_without_an_outcome_is_acknowledged(
    repo: SyncStorageRepository,
    queue: UploadQueue,
    worker: UploadWorker,
    admin: Any,
    bucket: str,
    jpeg: bytes,
) -> None:
    temp_key = upload(repo, jpeg)
    for _, version, _ in all_versions(admin, bucket, temp_key):
        admin.delete_object(Bucket=bucket, Key=temp_key, VersionId=version)  # "expired"
    worker.handle(receive_upload_message(queue))
    assert worker.stats.ignored == 1
    assert worker.stats.retried == 0
    assert repo.upload_status(SESSION).state == "pending"


async def test_upload_status_has_an_async_twin(async_repo: Any, jpeg: bytes) -> None:
    status = await async_repo.upload_status("sess-none")
    assert status.state == "pending"


def test_a_message_for_an_upload_another_worker_holds_is_deferred_not_deleted(
    moto_endpoint: str,
    queues: tuple[str, str],
    repo: SyncStorageRepository,
    queue: UploadQueue,
    worker: UploadWorker,
    jpeg: bytes,
) -> None:
    upload(repo, jpeg)
    claim_as(repo, "other", timedelta(minutes=5))
    worker.handle(receive_upload_message(queue))
    assert worker.stats.done == 0
    assert repo.upload_status(SESSION).state == "pending"
    sqs = emulator_client("sqs", moto_endpoint, region="eu-west-3")
    attributes = sqs.get_queue_attributes(
        QueueUrl=queues[0], AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"  # hidden, not gone
    assert queue.receive(10, wait_s=2) == []  # for the rest of the lease, not 1 s


def test_concurrency_renders_several_uploads_from_one_receive(
    repo: SyncStorageRepository, queue: UploadQueue, jpeg: bytes
) -> None:
    for index in range(3):
        upload(repo, jpeg, session=f"sess-c{index}")
    time.sleep(0.5)
    worker = UploadWorker(repo, queue, concurrency=3, wait_s=1, worker_id="w-pool")
    for _ in range(5):
        worker.run(once=True)
        if worker.stats.done == 3:
            break
    assert worker.stats.done == 3
    assert {repo.upload_status(f"sess-c{i}").state for i in range(3)} == {"done"}


def test_a_new_upload_into_a_rejected_session_is_processed_anew(
    repo: SyncStorageRepository, worker: UploadWorker, queue: UploadQueue, jpeg: bytes
) -> None:
    upload(repo, b"\xff\xd8 not a photo" * 30)
    worker.handle(receive_upload_message(queue))
    assert repo.upload_status(SESSION).state == "rejected"
    upload(repo, jpeg)  # the app tries again with the same session
    worker.handle(receive_upload_message(queue))
    assert repo.upload_status(SESSION).state == "done"
    assert worker.stats.rejected == 1
    assert worker.stats.done == 1
