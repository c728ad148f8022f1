"""The upload worker against moto's S3 and SQS: notification -> queue -> worker -> status.

The bucket notifies the queue as the stack declares it (pinned uploads' endings under
temp/), so the messages here are the ones moto's S3 sends; moto leaves out the version id
S3 sends, so those messages take the worker's fallback (a HeadObject), and the tests of the
version-pinned path add it as S3 writes it (``as_s3_sends``). Redeliveries are the same
bodies again.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.sdk.helpers import all_versions, notify_queue, upload_queue
from wearit_local.clients import emulator_client
from wearit_local.http_upload import post_presigned
from wearit_local.lambda_events import as_s3_sends
from wearit_storage import OperationMetric, StorageUnavailable, SyncStorageRepository
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.uploads.status import (
    Claim,
    StatusRecord,
    UploadRef,
    claim,
    read_status,
    write_status,
)
from wearit_storage.workers import (
    Outcome,
    QueueMessage,
    UploadProcessor,
    UploadWorker,
    WorkQueue,
    parse_message,
)

SESSION = "sess-a1"
DESTINATION = UploadDestination("clothing", "user-1", "item-1")


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
def queue(moto_endpoint: str, queues: tuple[str, str]) -> WorkQueue:
    sqs = emulator_client("sqs", moto_endpoint, region="eu-west-3")
    return WorkQueue(sqs, queues[0])


@pytest.fixture
def metrics() -> list[OperationMetric]:
    return []


@pytest.fixture
def worker(
    repo: SyncStorageRepository, queue: WorkQueue, metrics: list[OperationMetric]
) -> UploadWorker:
    return UploadWorker(repo, queue, wait_s=1, metrics_hook=metrics.append, worker_id="w1")


def upload(repo: SyncStorageRepository, data: bytes, session: str = SESSION) -> str:
    post = repo.presign_upload(session, "photo.jpg", destination=DESTINATION)
    assert post_presigned(post, data, "image/jpeg") in (200, 201, 204)
    return post.key


def claim_as(repo: SyncStorageRepository, worker: str, lease: timedelta) -> Claim:
    """Claim the session's current upload as ``worker`` would."""
    head = repo.s3_client.head_object(f"temp/{SESSION}/photo.jpg")
    ref = UploadRef(head.version_id, head.etag.strip('"'))
    return claim(repo.s3_client, SESSION, "photo.jpg", upload=ref, worker=worker, lease=lease)


def receive_upload_message(queue: WorkQueue, s3: Any = None) -> QueueMessage:
    """The next message announcing an upload; with ``s3``, its body as S3 itself writes it
    (with the object's version id, which moto's events lack)."""
    for _ in range(5):
        messages = queue.receive(1, wait_s=1)
        if messages:
            message = messages[0]
            if s3 is None:
                return message
            return dataclasses.replace(message, body=as_s3_sends(message.body, s3))
    raise AssertionError("no upload message arrived")


def count_requests(repo: SyncStorageRepository) -> Counter[str]:
    """Every S3 request the repository's client sends from now on, by operation."""
    sent: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        sent[model.name] += 1

    repo.s3_client.boto_client.meta.events.register("before-call.s3", record)
    return sent


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
    assert (stats.uploads, stats.done, stats.skipped) == (1, 1, Counter())
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


def test_one_upload_costs_five_requests_plus_one_per_rendition(
    repo: SyncStorageRepository, queue: WorkQueue, worker: UploadWorker, jpeg: bytes, admin: Any
) -> None:
    upload(repo, jpeg)
    message = receive_upload_message(queue, admin)  # as S3 sends it: versionId included
    sent = count_requests(repo)
    worker.messages.handle(message)
    sent_for_the_upload = Counter(sent)
    assert repo.upload_status(SESSION).state == "done"
    # The claim and the outcome (conditional PUTs), four renditions (a clothing upload's
    # two JPEGs and their AVIFs), the announced version's GET, the erasure check, the
    # version's delete: nothing else (no HEAD, no listing of the session, no
    # ListObjectVersions).
    assert sent_for_the_upload == Counter(
        {"PutObject": 2 + 4, "GetObject": 1, "ListObjectsV2": 1, "DeleteObject": 1}
    )


def test_the_worker_pins_the_announced_version(
    repo: SyncStorageRepository, queue: WorkQueue, worker: UploadWorker, jpeg: bytes, admin: Any
) -> None:
    temp_key = upload(repo, jpeg)
    (event,) = parse_message(receive_upload_message(queue, admin).body)
    current = repo.s3_client.head_object(temp_key)
    assert event.version_id == current.version_id
    result = worker.processor.process(event)
    assert result.outcome is Outcome.DONE
    stored = read_status(repo.s3_client, SESSION)
    assert stored is not None
    assert stored.record.upload_version == event.version_id


def test_a_second_post_while_the_first_renders_is_refused_explicitly_never_lost(
    repo: SyncStorageRepository,
    queue: WorkQueue,
    worker: UploadWorker,
    admin: Any,
    bucket: str,
    jpeg: bytes,
    monkeypatch: pytest.MonkeyPatch,
    metrics: list[OperationMetric],
) -> None:
    temp_key = upload(repo, jpeg)
    first = receive_upload_message(queue)
    store_for = repo.uploads.store_for

    def second_post_lands_meanwhile(*args: Any, **kwargs: Any) -> Any:
        upload(repo, jpeg)  # between the first's download and its delete
        return store_for(*args, **kwargs)

    monkeypatch.setattr(repo.uploads, "store_for", second_post_lands_meanwhile)
    worker.handle(first)
    monkeypatch.undo()
    # The first upload's version alone was deleted: the second is still there.
    assert len(all_versions(admin, bucket, temp_key)) == 1
    assert repo.upload_status(SESSION).state == "done"
    worker.handle(receive_upload_message(queue))
    assert all_versions(admin, bucket, temp_key) == []
    assert repo.upload_status(SESSION).state == "done"  # the first's outcome stands
    assert worker.stats.rejected == 1
    assert [m.error for m in metrics if m.operation == "upload_rejected"] == ["session_closed"]


def test_a_new_upload_into_a_settled_session_is_refused_before_decoding(
    repo: SyncStorageRepository,
    worker: UploadWorker,
    queue: WorkQueue,
    jpeg: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upload(repo, b"\xff\xd8 not a photo" * 30)
    worker.handle(receive_upload_message(queue))
    first = repo.upload_status(SESSION)
    assert first.state == "rejected"
    upload(repo, jpeg)  # the same presign, used again: one presign buys one render

    def must_not_decode(*_: Any) -> None:
        raise AssertionError("a closed session's upload was decoded")

    monkeypatch.setattr(repo.uploads, "render_for", must_not_decode)
    worker.handle(receive_upload_message(queue))
    status = repo.upload_status(SESSION)
    assert (status.state, status.reason) == ("rejected", first.reason)  # the first outcome
    assert worker.stats.rejected == 2
    assert worker.stats.done == 0


def test_a_redelivered_message_neither_fails_nor_renders_again(
    repo: SyncStorageRepository,
    queue: WorkQueue,
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
    repo: SyncStorageRepository, queue: WorkQueue, admin: Any, bucket: str, jpeg: bytes
) -> None:
    upload(repo, jpeg)
    (event,) = parse_message(receive_upload_message(queue).body)
    first = claim_as(repo, "w1", timedelta(minutes=5))
    assert first.held is not None
    second = UploadProcessor(repo.uploads, worker_id="w2").process(event)
    assert second.outcome is Outcome.BUSY
    assert second.retry_in is not None
    assert second.retry_in > timedelta(minutes=4)
    assert all_versions(admin, bucket, "clothing/") == []
    # w1 dies; once its lease has run out, another worker takes the upload over.
    assert event.etag is not None
    expired = StatusRecord(
        "processing",
        "photo.jpg",
        upload_etag=event.etag,
        upload_version=event.version_id,
        worker="w1",
        lease_until=datetime.now(UTC) - timedelta(1),
    )
    write_status(repo.s3_client, SESSION, expired)
    takeover = UploadProcessor(repo.uploads, worker_id="w3").process(event)
    assert takeover.outcome is Outcome.DONE
    # One main, one thumbnail, each a JPEG and an AVIF.
    assert len(all_versions(admin, bucket, "clothing/")) == 4
    assert repo.upload_status(SESSION).state == "done"


def test_an_expired_lease_is_taken_over_once(repo: SyncStorageRepository, jpeg: bytes) -> None:
    upload(repo, jpeg)
    dead = claim_as(repo, "dead", timedelta(0))
    assert dead.held is not None
    winner = claim_as(repo, "w2", timedelta(minutes=5))
    loser = claim_as(repo, "w3", timedelta(minutes=5))
    assert winner.held is not None
    assert loser.held is None
    assert loser.busy_for is not None


def test_a_rejected_image_deletes_the_upload_records_why_and_acks(
    repo: SyncStorageRepository,
    queue: WorkQueue,
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
    assert queue.receive(10, wait_s=2) == []


def test_a_transient_failure_leaves_the_message_to_come_back_and_says_pending_again(
    repo: SyncStorageRepository,
    queue: WorkQueue,
    worker: UploadWorker,
    jpeg: bytes,
    monkeypatch: pytest.MonkeyPatch,
    metrics: list[OperationMetric],
) -> None:
    upload(repo, jpeg)

    def unavailable(*_: Any, **__: Any) -> None:
        raise StorageUnavailable("S3 kept failing with SlowDown after retries")

    monkeypatch.setattr(repo.uploads, "store_for", unavailable)
    worker.handle(receive_upload_message(queue))
    assert worker.stats.retried == 1
    assert [m.operation for m in metrics if m.outcome == "error"] == ["upload_retried"]
    # The claim is given back as a record that says pending, not by deleting the claim's
    # version (which would make an older record current again).
    given_back = read_status(repo.s3_client, SESSION)
    assert given_back is not None
    assert given_back.record.state == "pending"
    assert repo.upload_status(SESSION).state == "pending"
    monkeypatch.undo()
    again = receive_upload_message(queue)  # visible again after the 1 s timeout
    assert again.receive_count == 2
    worker.handle(again)
    assert repo.upload_status(SESSION).state == "done"


def test_a_release_never_resurrects_an_older_outcome(
    repo: SyncStorageRepository,
    queue: WorkQueue,
    worker: UploadWorker,
    jpeg: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An older record of the session, then a claim over it that fails transiently.
    upload(repo, jpeg)
    message = receive_upload_message(queue)
    (event,) = parse_message(message.body)
    assert event.etag is not None
    old = StatusRecord(
        "pending", "photo.jpg", upload_etag=event.etag, upload_version=event.version_id
    )
    write_status(repo.s3_client, SESSION, dataclasses.replace(old, state="processing"))
    write_status(repo.s3_client, SESSION, old)

    def unavailable(*_: Any, **__: Any) -> None:
        raise StorageUnavailable("S3 kept failing")

    monkeypatch.setattr(repo.uploads, "store_for", unavailable)
    worker.handle(message)
    stored = read_status(repo.s3_client, SESSION)
    assert stored is not None
    assert stored.record.state == "pending"
    assert repo.upload_status(SESSION).state == "pending"


def test_invalid_pinned_metadata_is_rejected_at_once_not_retried(
    repo: SyncStorageRepository, queue: WorkQueue, worker: UploadWorker, admin: Any, bucket: str
) -> None:
    # What a POST whose pinned fields S3 did not check would store (moto checks none).
    admin.put_object(
        Bucket=bucket,
        Key=f"temp/{SESSION}/photo.jpg",
        Body=b"\xff\xd8",
        Metadata={"wearit-category": "body", "wearit-user-id": "../../etc"},
    )
    worker.handle(receive_upload_message(queue))
    status = repo.upload_status(SESSION)
    assert (status.state, status.reason) == ("rejected", "invalid_upload")
    assert (worker.stats.rejected, worker.stats.retried) == (1, 0)
    assert queue.receive(10, wait_s=2) == []  # acknowledged: no five retries


def test_a_status_record_the_worker_did_not_write_is_replaced_by_the_refusal(
    repo: SyncStorageRepository,
    queue: WorkQueue,
    worker: UploadWorker,
    admin: Any,
    bucket: str,
    jpeg: bytes,
) -> None:
    admin.put_object(Bucket=bucket, Key=f"temp/{SESSION}/status.json", Body=b"{not json")
    upload(repo, jpeg)
    worker.handle(receive_upload_message(queue))
    status = repo.upload_status(SESSION)
    assert (status.state, status.reason) == ("rejected", "invalid_upload")
    assert worker.stats.retried == 0


def test_an_upload_for_an_erased_user_is_refused_and_nothing_of_theirs_is_written(
    repo: SyncStorageRepository,
    queue: WorkQueue,
    worker: UploadWorker,
    admin: Any,
    bucket: str,
    jpeg: bytes,
) -> None:
    temp_key = upload(repo, jpeg)
    admin.put_object(Bucket=bucket, Key="erasures/user-1/request.json", Body=b"{}")
    worker.handle(receive_upload_message(queue))
    status = repo.upload_status(SESSION)
    assert (status.state, status.reason) == ("rejected", "user_erased")
    assert all_versions(admin, bucket, "clothing/") == []
    assert all_versions(admin, bucket, temp_key) == []  # the raw photo (GPS) is gone too


def test_a_message_that_keeps_failing_lands_in_the_dead_letter_queue(
    moto_endpoint: str, queues: tuple[str, str], queue: WorkQueue, worker: UploadWorker
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
    repo: SyncStorageRepository,
    queue: WorkQueue,
    worker: UploadWorker,
    admin: Any,
    bucket: str,
    jpeg: bytes,
) -> None:
    post = repo.presign_upload("sess-sync", "photo.jpg")
    assert post_presigned(post, jpeg, "image/jpeg") in (200, 201, 204)
    worker.handle(receive_upload_message(queue))
    assert worker.stats.skipped == Counter({"upload(s) with no pinned destination": 1})
    assert worker.stats.uploads == 0
    assert [k for k, _, _ in all_versions(admin, bucket, "temp/sess-sync/")] == [post.key]
    assert repo.upload_status("sess-sync").state == "pending"
    # The synchronous path still works on it.
    stored = repo.promote_temp_upload(
        "sess-sync", "photo.jpg", user_id="user-1", category="clothing", item_id="item-2"
    )
    assert stored.main.key == "clothing/user-1/item-2/image.jpg"


def test_a_temp_object_gone_without_an_outcome_is_acknowledged(
    repo: SyncStorageRepository,
    queue: WorkQueue,
    worker: UploadWorker,
    admin: Any,
    bucket: str,
    jpeg: bytes,
) -> None:
    temp_key = upload(repo, jpeg)
    for _, version, _ in all_versions(admin, bucket, temp_key):
        admin.delete_object(Bucket=bucket, Key=temp_key, VersionId=version)  # "expired"
    worker.handle(receive_upload_message(queue))
    assert worker.stats.gone == 1
    assert worker.stats.retried == 0
    assert repo.upload_status(SESSION).state == "pending"
    assert read_status(repo.s3_client, SESSION) is None  # its claim went with it


def test_the_bucket_announces_uploads_not_the_workers_status_records(
    repo: SyncStorageRepository, queue: WorkQueue, worker: UploadWorker, jpeg: bytes
) -> None:
    upload(repo, jpeg)
    worker.handle(receive_upload_message(queue))
    assert repo.upload_status(SESSION).state == "done"
    assert queue.receive(10, wait_s=2) == []  # two status writes, no announcement


def test_a_pinned_upload_is_presigned_under_a_lowercase_ending(
    repo: SyncStorageRepository,
) -> None:
    post = repo.presign_upload("sess-case", "IMG_0042.JPG", destination=DESTINATION)
    assert post.key == "temp/sess-case/IMG_0042.jpg"


async def test_upload_status_has_an_async_twin(async_repo: Any, jpeg: bytes) -> None:
    status = await async_repo.upload_status("sess-none")
    assert status.state == "pending"


def test_a_message_for_an_upload_another_worker_holds_is_deferred_not_deleted(
    moto_endpoint: str,
    queues: tuple[str, str],
    repo: SyncStorageRepository,
    queue: WorkQueue,
    worker: UploadWorker,
    jpeg: bytes,
) -> None:
    upload(repo, jpeg)
    claim_as(repo, "other", timedelta(minutes=5))
    worker.handle(receive_upload_message(queue))
    assert worker.stats.done == 0
    assert worker.stats.deferred == 1
    assert repo.upload_status(SESSION).state == "pending"
    sqs = emulator_client("sqs", moto_endpoint, region="eu-west-3")
    attributes = sqs.get_queue_attributes(
        QueueUrl=queues[0], AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"  # hidden, not gone
    assert queue.receive(10, wait_s=2) == []  # for the rest of the lease, not 1 s


def test_concurrency_renders_several_uploads_from_one_receive(
    repo: SyncStorageRepository, queue: WorkQueue, jpeg: bytes
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


def test_once_receives_past_s3s_test_event(
    moto_endpoint: str, repo: SyncStorageRepository, bucket: str, jpeg: bytes
) -> None:
    url, _ = upload_queue(moto_endpoint, f"uploads-{uuid.uuid4().hex[:12]}")
    notify_queue(moto_endpoint, bucket, url)  # S3 sends its s3:TestEvent first
    upload(repo, jpeg)
    queue = WorkQueue(emulator_client("sqs", moto_endpoint, region="eu-west-3"), url)
    stats = UploadWorker(repo, queue, wait_s=1, worker_id="w-once").run(once=True)
    assert stats.skipped == Counter({"S3 test event": 1})
    assert (stats.uploads, stats.done) == (1, 1)
    assert "1 upload(s): 1 done" in stats.summary()
    assert "skipped: 1 S3 test event" in stats.summary()
