"""The upload pipeline: uploads processed per second by 1 and 2 ``wearit-storage worker``
processes, and the time from a presigned POST to ``upload_status`` done.

Everything runs against one moto server process (S3 notifications to SQS included), on
this machine: the worker processes, moto and this driver share its cores, so the scaling
ratio is a floor, not what two separate hosts would show.

- throughput: the queue is preloaded with ``UPLOADS`` 12 MP phone photos (the POSTs come
  first), then N workers start; rate = uploads between the first and the last completion
  (``completed_at`` in each status object, so start-up does not count);
- latency: one worker idle on its long poll, one POST at a time; POST sent -> the
  status object's ``completed_at`` (same clock), median and p95.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

from wearit_local.clients import emulator_client
from wearit_local.http_upload import post_presigned
from wearit_local.notifications import notify_queue
from wearit_local.samples import sample_photo
from wearit_storage import StorageSettings, SyncStorageRepository
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.uploads.status import read_status

REGION = "us-east-1"
UPLOADS = 40
LATENCY_SAMPLES = 15
WORKER_COUNTS = (1, 2)
DESTINATION_USER = "bench-user"


def _pipeline(endpoint: str) -> tuple[str, str]:
    """A versioned bucket notifying a queue with a DLQ, as the stack declares them."""
    name = f"bench-worker-{uuid.uuid4().hex[:8]}"
    s3 = emulator_client("s3", endpoint, region=REGION)
    sqs = emulator_client("sqs", endpoint, region=REGION)
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "120",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}),
        },
    )["QueueUrl"]
    notify_queue(endpoint, name, str(url), REGION)
    return name, str(url)


def _environment(endpoint: str, bucket: str, queue_url: str) -> dict[str, str]:
    return {
        "AWS_REGION_NAME": REGION,
        "AWS_BUCKET_NAME": bucket,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "WEARIT_UPLOAD_QUEUE_URL": queue_url,
    }


def _start_workers(count: int, environment: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "wearit_storage", "worker", "--concurrency", "1"],
            env={**os.environ, **environment},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()  # SIGTERM: drains
    for worker in workers:
        worker.wait(timeout=60)


def _post(repo: SyncStorageRepository, session: str, photo: bytes, item: str) -> float:
    destination = UploadDestination("clothing", DESTINATION_USER, item)
    post = repo.presign_upload(session, "photo.jpg", destination=destination)
    sent = time.time()
    status = post_presigned(post, photo, "image/jpeg")
    if status not in (200, 201, 204):
        raise RuntimeError(f"presigned POST answered {status}")
    return sent


def _completed_at(repo: SyncStorageRepository, session: str, timeout_s: float) -> datetime:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stored = read_status(repo.s3_client, session)
        if stored is not None and stored.record.settled:
            if stored.record.state != "done" or stored.record.completed_at is None:
                raise RuntimeError(f"{session}: {stored.record.state} {stored.record.message}")
            return stored.record.completed_at
        # The times come from the status object, so a slow poll costs no precision, and
        # leaves moto's CPU (shared with the workers) to the workers.
        time.sleep(0.25)
    raise RuntimeError(f"{session} was not done within {timeout_s} s")


def _throughput(
    repo: SyncStorageRepository, environment: dict[str, str], photo: bytes, workers: int
) -> dict[str, Any]:
    sessions = [uuid.uuid4().hex for _ in range(UPLOADS)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda s: _post(repo, s, photo, f"t{workers}-{s[:8]}"), sessions))
    processes = _start_workers(workers, environment)
    try:
        completions = sorted(_completed_at(repo, s, 600) for s in sessions)
    finally:
        _stop(processes)
    span = (completions[-1] - completions[0]).total_seconds()
    rate = (len(completions) - 1) / span if span > 0 else float("inf")
    return {"workers": workers, "uploads": UPLOADS, "uploads_per_s": round(rate, 2)}


def _latency(
    repo: SyncStorageRepository, environment: dict[str, str], photo: bytes
) -> dict[str, Any]:
    processes = _start_workers(1, environment)
    try:
        _completed_at(repo, _warm_up(repo, photo), 120)  # the worker is up and polling
        seconds = []
        for index in range(LATENCY_SAMPLES):
            session = uuid.uuid4().hex
            sent = _post(repo, session, photo, f"lat-{index}")
            seconds.append(_completed_at(repo, session, 120).timestamp() - sent)
    finally:
        _stop(processes)
    ordered = sorted(seconds)
    p95 = statistics.quantiles(ordered, n=20, method="inclusive")[-1]
    return {
        "samples": LATENCY_SAMPLES,
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
    }


def _warm_up(repo: SyncStorageRepository, photo: bytes) -> str:
    session = uuid.uuid4().hex
    _post(repo, session, photo, "warm-up")
    return session


def run(endpoint: str) -> dict[str, Any]:
    photo = sample_photo()
    bucket, queue_url = _pipeline(endpoint)
    environment = _environment(endpoint, bucket, queue_url)
    settings = StorageSettings.from_env(environment)
    with ExitStack() as stack:
        repo = stack.enter_context(SyncStorageRepository.from_settings(settings))
        scaling = [_throughput(repo, environment, photo, count) for count in WORKER_COUNTS]
        latency = _latency(repo, environment, photo)
    one, two = (row["uploads_per_s"] for row in scaling)
    return {
        "photo_bytes": len(photo),
        "throughput": scaling,
        "scaling_ratio": round(two / one, 2),
        "post_to_done": latency,
        "cores": os.cpu_count(),
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    one, two = (row["uploads_per_s"] for row in result["throughput"])
    latency = result["post_to_done"]
    per_minute = 1000 / 60
    return [
        {
            "target": "report uploads/s with 1 and 2 worker processes (no target)",
            "measured": f"{one} and {two} uploads/s ({result['scaling_ratio']}x)",
            "met": True,
        },
        {
            "target": "report POST-to-done latency, one idle worker (no target)",
            "measured": f"median {latency['median_ms']} ms, p95 {latency['p95_ms']} ms",
            "met": True,
        },
        {
            "target": "sizing: worker processes per 1,000 uploads/min at the 1-worker rate",
            "measured": f"{per_minute / one:.1f} (1,000/min = {per_minute:.1f}/s)",
            "met": True,
        },
    ]
