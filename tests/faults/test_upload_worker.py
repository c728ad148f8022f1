"""The upload worker when S3 stores its writes but the answers are lost.

The worker's S3 traffic goes through the fault proxy (its repository is the suite's
``repo``); the queue is moto's own SQS, fed by the bucket's notification. A promotion whose
thumbnail write is stored on every attempt, every answer lost, must leave no version of
that attempt current, keep the upload, and leave the message to come back; once S3
answers again, the next delivery completes the pair.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.faults.helpers import current, upload_id
from tests.faults.proxy import FaultKind, FaultProxy, Rule
from tests.sdk.helpers import PRIMARY_REGION, make_jpeg, notify_queue, upload_queue
from wearit_local.clients import emulator_client
from wearit_local.http_upload import post_presigned
from wearit_storage import SyncStorageRepository
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.workers import UploadWorker, WorkQueue

SESSION = "sess-f1"
MAIN = "clothing/user-1/item-1/image.jpg"
THUMB = "clothing/user-1/item-1/image_thumb.jpg"
TEMP = f"temp/{SESSION}/photo.jpg"


@pytest.fixture
def queue(moto_endpoint: str, bucket: str) -> WorkQueue:
    url, _ = upload_queue(moto_endpoint, f"uploads-{uuid.uuid4().hex[:12]}")
    notify_queue(moto_endpoint, bucket, url)
    return WorkQueue(emulator_client("sqs", moto_endpoint, region=PRIMARY_REGION), url)


def _run_until(worker: UploadWorker, settled: Any, rounds: int = 10) -> None:
    for _ in range(rounds):
        worker.run(once=True)
        if settled():
            return


def test_lost_answers_while_promoting_leave_no_half_pair_and_the_message_comes_back(
    repo: SyncStorageRepository, queue: WorkQueue, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    destination = UploadDestination("clothing", "user-1", "item-1")
    post = repo.presign_upload(SESSION, "photo.jpg", destination=destination)
    assert post_presigned(post, make_jpeg(), "image/jpeg") in (200, 201, 204)
    proxy.script(Rule(FaultKind.RESET_AFTER, operation="PutObject", key=THUMB))
    worker = UploadWorker(repo, queue, wait_s=1, worker_id="w1")

    _run_until(worker, lambda: worker.stats.retried > 0)
    assert (worker.stats.retried, worker.stats.done) == (1, 0)
    # S3 did store the thumbnail (and the main image): neither may stay current.
    assert proxy.matching(operation="PutObject", key=THUMB, fault=FaultKind.RESET_AFTER)
    assert (current(admin, bucket, MAIN), current(admin, bucket, THUMB)) == (None, None)
    assert admin.head_object(Bucket=bucket, Key=TEMP)["ContentLength"] > 0  # kept for a retry
    assert repo.upload_status(SESSION).state == "pending"

    proxy.clear()
    _run_until(worker, lambda: repo.upload_status(SESSION).state == "done")
    status = repo.upload_status(SESSION)
    assert status.state == "done"
    main, thumb = current(admin, bucket, MAIN), current(admin, bucket, THUMB)
    assert main is not None
    assert thumb is not None
    # One upload's pair: both renditions carry the same upload id.
    assert upload_id(admin, bucket, MAIN, main) == upload_id(admin, bucket, THUMB, thumb)
