"""Erasure that is final: the API asks, the eraser does (two passes), and nothing of the
user comes back: not a pending upload, not a late POST, not a redelivered message."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.sdk.helpers import (
    all_versions,
    create_distribution,
    make_jpeg,
    notify_queue,
    upload_queue,
)
from wearit_local.clients import emulator_client
from wearit_local.http_upload import post_presigned
from wearit_local.notifications import ERASURE_REQUESTS
from wearit_storage import (
    ObjectNotFound,
    StorageRepository,
    SyncS3Client,
    SyncStorageRepository,
)
from wearit_storage.delivery.invalidation import EdgeInvalidator, user_paths
from wearit_storage.errors import UserErased
from wearit_storage.privacy.eraser import Eraser
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.uploads.sessions import sessions_of
from wearit_storage.workers import QueueMessage, UploadWorker, WorkQueue
from wearit_storage.workers.erasures import ErasureMessages, scheduler, second_pass_message

USER = "user-e"
DESTINATION = UploadDestination("clothing", USER, "item-1")


class Scheduled:
    """An eraser's ``schedule`` that records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, timedelta]] = []

    def __call__(self, user_id: str, delay: timedelta) -> None:
        self.calls.append((user_id, delay))


def _eraser(
    client: SyncS3Client, replica_client: SyncS3Client, delay: timedelta = timedelta(0)
) -> tuple[Eraser, Scheduled]:
    scheduled = Scheduled()
    return Eraser(client, replica_client, schedule=scheduled, delay=delay), scheduled


def _keys_of_user(admin: Any, bucket: str, user: str) -> list[tuple[str, str, bool]]:
    """Every version and marker anywhere in ``bucket`` that names ``user`` or is under a
    session bound to them."""
    return [entry for entry in all_versions(admin, bucket) if f"/{user}/" in entry[0]]


def test_a_request_holds_nothing_but_the_id_and_returns_at_once(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    status = repo.request_user_erasure(USER)
    assert (status.state, status.requested_at is not None) == ("requested", True)
    body = json.loads(
        admin.get_object(Bucket=bucket, Key=f"erasures/{USER}/request.json")["Body"].read()
    )
    assert set(body) == {"user_id", "requested_at"}
    assert body["user_id"] == USER
    again = repo.request_user_erasure(USER)  # a second request changes nothing
    assert again.requested_at == status.requested_at
    assert len(all_versions(admin, bucket, "erasures/")) == 1
    assert repo.erasure_status(USER).state == "requested"


def test_status_of_a_user_never_asked_for_is_not_found(repo: SyncStorageRepository) -> None:
    with pytest.raises(ObjectNotFound, match="request_user_erasure"):
        repo.erasure_status("nobody")


async def test_requests_and_status_have_async_twins(async_repo: StorageRepository) -> None:
    assert (await async_repo.request_user_erasure("user-async")).state == "requested"
    assert (await async_repo.erasure_status("user-async")).state == "requested"


def test_a_presign_with_a_destination_binds_the_session_to_its_user(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    repo.presign_upload("sess-bound", "photo.jpg", destination=DESTINATION)
    repo.presign_upload("sess-free", "photo.jpg")  # no destination: the API's own
    assert sessions_of(repo.s3_client, USER) == ["sess-bound"]
    (binding,) = all_versions(admin, bucket, "sessions/")
    assert binding[0] == f"sessions/{USER}/sess-bound.json"


def test_the_api_refuses_to_store_anything_of_an_erased_user(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    repo.request_user_erasure(USER)
    with pytest.raises(UserErased):
        repo.presign_upload("sess-after", "photo.jpg", destination=DESTINATION)
    assert all_versions(admin, bucket, "sessions/") == []
    with pytest.raises(UserErased) as refused:
        repo.upload_clothing_image(USER, "item-1", jpeg, "photo.jpg")
    assert refused.value.http_status == 410
    assert all_versions(admin, bucket, "clothing/") == []


def test_erasure_removes_pending_sessions_raw_photos_and_status_records(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    post = repo.presign_upload("sess-pending", "photo.jpg", destination=DESTINATION)
    assert post_presigned(post, jpeg, "image/jpeg") in (200, 201, 204)
    admin.put_object(Bucket=bucket, Key="temp/sess-pending/status.json", Body=b"{}")
    other = repo.presign_upload(
        "sess-other", "photo.jpg", destination=UploadDestination("clothing", "user-x", "i")
    )
    assert post_presigned(other, jpeg, "image/jpeg") in (200, 201, 204)
    report = repo.delete_user_files(USER)
    assert report
    assert all_versions(admin, bucket, "temp/sess-pending/") == []
    assert all_versions(admin, bucket, f"sessions/{USER}/") == []
    assert [k for k, _, _ in all_versions(admin, bucket, "temp/sess-other/")] == [
        "temp/sess-other/photo.jpg"
    ]


def test_two_passes_then_done_with_the_counts(
    repo: SyncStorageRepository, client: SyncS3Client, replica_client: SyncS3Client, jpeg: bytes
) -> None:
    repo.upload_clothing_image(USER, "item-1", jpeg, "photo.jpg")
    replica_client.put_object(b"replica copy", f"clothing/{USER}/item-1/photo.jpg")
    repo.request_user_erasure(USER)
    eraser, scheduled = _eraser(client, replica_client)
    first = eraser.first_pass(USER)
    # main and thumbnail in JPEG and AVIF, the replica's copy
    assert first.counts.versions_deleted == 5
    assert scheduled.calls == [(USER, timedelta(0))]
    assert repo.erasure_status(USER).state == "requested"  # not done before the 2nd pass
    eraser.second_pass(USER)
    status = repo.erasure_status(USER)
    assert status.state == "done"
    assert status.counts.versions_deleted == 5
    assert status.completed_at is not None


def test_a_write_landing_during_the_first_pass_is_left_to_the_second(
    repo: SyncStorageRepository,
    client: SyncS3Client,
    replica_client: SyncS3Client,
    admin: Any,
    bucket: str,
    jpeg: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Found by the soak run: the upload worker records its refusal (user_erased) in the
    user's session while the first pass erases it. That write is what the second pass is
    for; were the first pass to fail for it, its message would come back only after the
    erasure queue's visibility timeout (30 minutes), the status saying requested meanwhile."""
    post = repo.presign_upload("sess-racing", "photo.jpg", destination=DESTINATION)
    assert post_presigned(post, jpeg, "image/jpeg") in (200, 201, 204)
    repo.request_user_erasure(USER)
    landed: list[Any] = []

    def worker_writes_its_record(**_: Any) -> None:
        if not landed:  # after the pass deleted the session, before its final listing
            landed.append(
                admin.put_object(
                    Bucket=bucket, Key="temp/sess-racing/status.json", Body=b'{"state": "x"}'
                )
            )

    events = client.boto_client.meta.events
    events.register("after-call.s3.DeleteObjects", worker_writes_its_record)
    try:
        eraser, scheduled = _eraser(client, replica_client)
        with caplog.at_level(logging.INFO):
            eraser.first_pass(USER)
    finally:
        events.unregister("after-call.s3.DeleteObjects", worker_writes_its_record)
    assert landed
    # Expected, so not an ERROR line an on-call engineer would chase (the soak run's logs).
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("left to the second pass" in r.getMessage() for r in caplog.records)
    assert scheduled.calls == [(USER, timedelta(0))]
    assert repo.erasure_status(USER).state == "requested"
    eraser.second_pass(USER)
    assert repo.erasure_status(USER).state == "done"
    assert all_versions(admin, bucket, "temp/sess-racing/") == []


def test_a_second_pass_delivered_early_is_deferred_until_due(
    repo: SyncStorageRepository, client: SyncS3Client, replica_client: SyncS3Client
) -> None:
    repo.request_user_erasure(USER)
    eraser, _ = _eraser(client, replica_client, delay=timedelta(minutes=15))
    eraser.first_pass(USER)
    messages = ErasureMessages(eraser)
    verdict = messages.handle(QueueMessage("m1", "r1", second_pass_message(USER), 1))
    assert verdict.action == "defer"
    assert 14 * 60 <= verdict.delay_s <= 15 * 60 + 1
    assert repo.erasure_status(USER).state == "requested"


def test_the_erasure_queue_carries_the_first_pass_and_the_delayed_second(
    moto_endpoint: str,
    repo: SyncStorageRepository,
    client: SyncS3Client,
    replica_client: SyncS3Client,
    bucket: str,
    jpeg: bytes,
) -> None:
    """The bucket announces the request; the eraser's own message carries the second pass."""
    url, _ = upload_queue(moto_endpoint, f"erasures-{uuid.uuid4().hex[:12]}")
    notify_queue(moto_endpoint, bucket, url, ERASURE_REQUESTS)
    sqs = emulator_client("sqs", moto_endpoint, region="eu-west-3")
    queue = WorkQueue(sqs, url)
    repo.upload_avatar(USER, jpeg, "me.jpg")
    repo.request_user_erasure(USER)
    eraser = Eraser(client, replica_client, schedule=scheduler(queue), delay=timedelta(0))
    messages = ErasureMessages(eraser)
    handled = 0
    for _ in range(6):
        for message in queue.receive(10, wait_s=1):
            verdict = messages.handle(message)
            assert verdict.action == "ack", verdict
            queue.delete(message)
            handled += 1
        if repo.erasure_status(USER).state == "done":
            break
    assert repo.erasure_status(USER).state == "done"
    assert messages.passes == 2
    assert handled >= 2  # the test event aside: the announcement and the second pass


def test_erasing_a_user_who_keeps_uploading_leaves_zero_objects_and_versions(
    moto_endpoint: str,
    repo: SyncStorageRepository,
    client: SyncS3Client,
    replica_client: SyncS3Client,
    admin: Any,
    bucket: str,
    replica_bucket: str,
    jpeg: bytes,
) -> None:
    """The acceptance case: uploads before, during and after the request (a POST presigned
    before the erasure and sent after it, a message redelivered after the first pass)."""
    url, _ = upload_queue(moto_endpoint, f"uploads-{uuid.uuid4().hex[:12]}")
    notify_queue(moto_endpoint, bucket, url)
    queue = WorkQueue(emulator_client("sqs", moto_endpoint, region="eu-west-3"), url)
    worker = UploadWorker(repo, queue, wait_s=1, worker_id="w-final")
    late_posts = [
        repo.presign_upload(f"sess-late-{i}", "photo.jpg", destination=DESTINATION)
        for i in range(2)
    ]
    early = repo.presign_upload("sess-early", "photo.jpg", destination=DESTINATION)
    assert post_presigned(early, jpeg, "image/jpeg") in (200, 201, 204)
    worker.run(once=True)  # rendered: clothing/ now holds the user's pair
    repo.upload_clothing_image(USER, "item-2", jpeg, "photo.jpg")
    # What S3 replication would have copied (moto does not replicate).
    for key, _, marker in all_versions(admin, bucket, f"clothing/{USER}/"):
        if not marker:
            replica_client.put_object(b"replica copy", key)
    pending = repo.presign_upload("sess-pending", "photo.jpg", destination=DESTINATION)
    assert post_presigned(pending, jpeg, "image/jpeg") in (200, 201, 204)  # not worked yet

    repo.request_user_erasure(USER)
    eraser, _ = _eraser(client, replica_client)
    eraser.first_pass(USER)
    # After the first pass: a POST presigned before the request lands, and the worker
    # (with the pending upload's message, delivered now) meets the tombstone.
    assert post_presigned(late_posts[0], make_jpeg(color="red"), "image/jpeg") in (200, 201, 204)
    for _ in range(3):
        worker.run(once=True)
    with pytest.raises(UserErased):
        repo.upload_avatar(USER, jpeg, "me.jpg")
    eraser.second_pass(USER)
    # After the second pass, the other late POST: refused and deleted by the worker too.
    assert post_presigned(late_posts[1], make_jpeg(color="blue"), "image/jpeg") in (200, 201, 204)
    for _ in range(3):
        worker.run(once=True)

    assert repo.erasure_status(USER).state == "done"
    for name in (bucket, replica_bucket):
        left = [
            entry
            for entry in _keys_of_user(admin, name, USER)
            if not entry[0].startswith("erasures/")
        ]
        assert left == [], name
    # What stays is the request itself (the tombstone: the id and when it was asked) and
    # the eraser's counts, until the lifecycle removes them.
    assert sorted(k for k, _, _ in all_versions(admin, bucket, "erasures/")) == [
        f"erasures/{USER}/request.json",
        f"erasures/{USER}/status.json",
        f"erasures/{USER}/status.json",
    ]
    # Every session bound to the user is gone, but for the one posted after the second
    # pass: its refusal's record (no binding left to find it by) names no one, and the
    # temp/ lifecycle removes it within a day.
    for session in ["sess-early", "sess-pending", "sess-late-0"]:
        assert all_versions(admin, bucket, f"temp/{session}/") == [], session
    after_the_end = all_versions(admin, bucket, "temp/sess-late-1/")
    assert {k for k, _, _ in after_the_end} == {"temp/sess-late-1/status.json"}
    for key, version, _ in after_the_end:
        record = admin.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()
        assert USER not in record.decode()
    assert repo.upload_status("sess-late-1").reason == "user_erased"
    assert worker.stats.done == 1
    assert worker.stats.rejected >= 2  # the pending upload and the late POSTs: user_erased


# -- at the CDN's edges ------------------------------------------------------------------


def test_erasure_invalidates_the_users_paths_and_the_report_says_so(
    moto_endpoint: str, client: SyncS3Client, replica_client: SyncS3Client, jpeg: bytes
) -> None:
    """Both ways of erasing: ``delete_user_files`` (its report) and the eraser (the
    status the API reads), each invalidation one CloudFront accepted (moto's API)."""
    cloudfront = emulator_client("cloudfront", moto_endpoint)
    distribution_id = create_distribution(cloudfront)
    edges = EdgeInvalidator(cloudfront, distribution_id)
    repo = SyncStorageRepository(client, replica_client=replica_client, edge_invalidator=edges)
    repo.upload_clothing_image(USER, "item-1", jpeg, "photo.jpg")
    report = repo.delete_user_files(USER)
    assert report
    assert report.cdn_invalidation is not None
    assert report.cdn_invalidation.paths == user_paths(USER)
    accepted = cloudfront.get_invalidation(
        DistributionId=distribution_id, Id=report.cdn_invalidation.invalidation_id
    )["Invalidation"]
    assert accepted["InvalidationBatch"]["Paths"]["Items"] == list(user_paths(USER))

    repo.request_user_erasure(USER)
    scheduled = Scheduled()
    eraser = Eraser(
        client, replica_client, schedule=scheduled, delay=timedelta(0), edge_invalidator=edges
    )
    eraser.first_pass(USER)
    eraser.second_pass(USER)
    status = repo.erasure_status(USER)
    assert status.state == "done"
    listed = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
    ids = [item["Id"] for item in listed["Items"]]
    assert len(ids) == 3  # delete_user_files, then each pass of the eraser
    assert status.cdn_invalidation_id in ids
    assert status.cdn_invalidation_id != report.cdn_invalidation.invalidation_id


def test_an_invalidation_that_fails_leaves_the_erasure_incomplete(
    moto_endpoint: str, client: SyncS3Client, replica_client: SyncS3Client, jpeg: bytes
) -> None:
    """The buckets are clean, the edges may not be: the report is falsy (retry), naming
    the distribution and the setting."""
    cloudfront = emulator_client("cloudfront", moto_endpoint)
    edges = EdgeInvalidator(cloudfront, "EDOESNOTEXIST")
    repo = SyncStorageRepository(client, replica_client=replica_client, edge_invalidator=edges)
    repo.upload_clothing_image(USER, "item-2", jpeg, "photo.jpg")
    report = repo.delete_user_files(USER)
    assert not report
    assert report.remaining == {client.bucket_name: 0, replica_client.bucket_name: 0}
    (failure,) = report.failures
    assert failure.bucket == "cloudfront:EDOESNOTEXIST"
    assert "WEARIT_CDN_DISTRIBUTION_ID" in failure.message
    assert report.cdn_invalidation is None
