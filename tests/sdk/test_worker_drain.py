"""SIGTERM drains ``wearit-storage worker``: the upload in flight finishes, nothing new is
taken, and the process exits 0. A real child process, a real signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from typing import Any

from tests.sdk.helpers import PRIMARY_REGION, make_jpeg, notify_queue, upload_queue
from wearit_local.clients import emulator_client
from wearit_local.http_upload import post_presigned
from wearit_storage import SyncStorageRepository
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.workers import parse_message

DESTINATION = UploadDestination("clothing", "user-1", "item-1")


def _worker_environment(endpoint: str, bucket: str, queue_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_REGION_NAME": PRIMARY_REGION,
        "AWS_BUCKET_NAME": bucket,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "WEARIT_UPLOAD_QUEUE_URL": queue_url,
    }


def test_sigterm_finishes_the_upload_in_flight_takes_nothing_new_and_exits_0(
    moto_endpoint: str, bucket: str, repo: SyncStorageRepository, admin: Any
) -> None:
    queue_url, _ = upload_queue(moto_endpoint, f"drain-{uuid.uuid4().hex[:12]}")
    notify_queue(moto_endpoint, bucket, queue_url)
    worker = subprocess.Popen(
        [sys.executable, "-m", "wearit_storage", "worker", "--concurrency", "1"],
        env=_worker_environment(moto_endpoint, bucket, queue_url),
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # 12 MP: rendering takes long enough for the signal to land mid-upload.
        post = repo.presign_upload("sess-drain", "photo.jpg", destination=DESTINATION)
        assert post_presigned(post, make_jpeg((4000, 3000)), "image/jpeg") in (200, 201, 204)
        assert worker.stderr is not None
        for line in worker.stderr:
            if "upload_received key=temp/sess-drain/photo.jpg" in line:
                break
        worker.send_signal(signal.SIGTERM)
        late = repo.presign_upload("sess-late", "photo.jpg", destination=DESTINATION)
        assert post_presigned(late, make_jpeg(), "image/jpeg") in (200, 201, 204)
        stdout, stderr = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, stderr
    assert "worker stopped:" in stdout
    assert repo.upload_status("sess-drain").state == "done"
    assert "Versions" not in admin.list_object_versions(Bucket=bucket, Prefix="temp/sess-drain/p")
    # The upload after the signal was not taken: still pending, its message still queued.
    assert repo.upload_status("sess-late").state == "pending"
    sqs = emulator_client("sqs", moto_endpoint, region=PRIMARY_REGION)
    keys = [
        event.key
        for message in sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2
        ).get("Messages", [])
        for event in parse_message(message["Body"])
    ]
    assert "temp/sess-late/photo.jpg" in keys
