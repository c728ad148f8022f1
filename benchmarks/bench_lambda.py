"""The deployed upload worker: what one invocation does at the stack's batch size and
concurrency, what one upload costs in requests, and what a fleet costs.

The handler (``wearit_storage.workers.lambda_handler.upload_handler``) runs in a fresh
process pinned to one core, as one execution environment with one vCPU (1,769 MB of
Lambda memory); moto runs in its own process on the other core. The bench plays the event
source mapping: it receives batches of ``BATCH_SIZE`` S3 event messages from the queue the
bucket notifies (with the object's version id added, as S3 sends it and moto does not) and
hands each batch to the handler as Lambda's SQS event.

- records/s per invocation: ``UPLOADS`` 12 MP phone photos, preloaded, in batches of ten;
  the median invocation's records per second of wall time;
- requests per upload: every S3 call of the handler's client, counted by botocore's
  ``before-call`` event, divided by the uploads; and the queue messages per upload;
- memory: the process's resident set once the handler is imported and its clients built
  (the function's runtime), and its peak while one batch renders two 49 MP RGBA PNGs at
  once (the largest image the limits admit, twice: the function's worst case);
- sizing and cost: from the measured rate, scaled to the CPU share the deployed memory
  buys (Lambda gives 1 vCPU per 1,769 MB; rendering is CPU-bound, so the scaling is
  pessimistic for the S3 waits), at the public arm64 price.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from benchmarks.memory_probe import high_water_mark_kib
from benchmarks.soak.memory import own_rss_kib
from cdk.constructs.worker_function import BATCH_SIZE, MEMORY_MB, UPLOADS_AT_ONCE
from wearit_local.clients import emulator_client
from wearit_local.http_upload import post_presigned
from wearit_local.lambda_events import LocalContext, as_s3_sends, receive_all, sqs_event
from wearit_local.notifications import notify_queue
from wearit_local.samples import sample_photo
from wearit_local.server import MotoServerProcess
from wearit_storage import StorageSettings, SyncStorageRepository
from wearit_storage.categories import Category
from wearit_storage.renditions import DEFAULT_POLICIES
from wearit_storage.uploads.destination import UploadDestination

REGION = "eu-west-3"
UPLOADS = 40
#: Lambda's price for arm64 in us-east-1, per GB-second and per million requests, as the
#: AWS Lambda pricing page listed it (first 7.5 billion GB-s a month), last read 2025-06.
PRICE_GB_S: Final = 0.0000133334
PRICE_PER_MILLION_INVOCATIONS: Final = 0.20
PRICE_DATE: Final = "2025-06 (aws.amazon.com/lambda/pricing, us-east-1, arm64)"
#: S3 Standard request prices in us-east-1, per 1,000 (PUT, COPY, POST, LIST / GET).
S3_PUT_CLASS_PER_1000: Final = 0.005
S3_GET_CLASS_PER_1000: Final = 0.0004
_PUT_CLASS: Final = frozenset({"PutObject", "ListObjectsV2", "CopyObject", "ListObjectVersions"})
_GET_CLASS: Final = frozenset({"GetObject", "HeadObject"})
FULL_VCPU_MB: Final = 1769
PER_MINUTE: Final = 1000


def _pipeline(endpoint: str) -> tuple[str, str]:
    """A versioned bucket notifying a queue as the stack declares it."""
    name = f"bench-lambda-{uuid.uuid4().hex[:8]}"
    s3 = emulator_client("s3", endpoint, region=REGION)
    sqs = emulator_client("sqs", endpoint, region=REGION)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    url = str(sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "360"})["QueueUrl"])
    notify_queue(endpoint, name, url, REGION)
    test_event = receive_all(sqs, url, 1)[0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=test_event["ReceiptHandle"])
    return name, url


def _environment(endpoint: str, bucket: str, queue_url: str) -> dict[str, str]:
    """The function's variables as the stack sets them, pointed at moto."""
    return {
        "AWS_REGION": REGION,
        "AWS_BUCKET_NAME": bucket,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "WEARIT_UPLOAD_QUEUE_URL": queue_url,
        "WEARIT_WORKER_CONCURRENCY": str(UPLOADS_AT_ONCE),
        "AWS_LAMBDA_FUNCTION_NAME": "bench-upload-worker",
    }


def _post_all(environment: dict[str, str], photos: list[bytes]) -> None:
    settings = StorageSettings.from_env(environment)
    with SyncStorageRepository.from_settings(settings) as repo:

        def post(index_photo: tuple[int, bytes]) -> None:
            index, photo = index_photo
            destination = UploadDestination("clothing", "bench-user", f"item-{index}")
            presigned = repo.presign_upload(uuid.uuid4().hex, "photo.jpg", destination=destination)
            status = post_presigned(presigned, photo, "image/jpeg")
            if status not in (200, 201, 204):
                raise RuntimeError(f"presigned POST answered {status}")

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(post, enumerate(photos)))


def child(arguments: list[str]) -> None:
    """In the pinned process: the handler, batch after batch (prints one JSON line)."""
    os.sched_setaffinity(0, {0})
    endpoint, queue_url, uploads = arguments[0], arguments[1], int(arguments[2])
    from wearit_storage.workers import lambda_handler

    sqs = emulator_client("sqs", endpoint, region=REGION)
    s3 = emulator_client("s3", endpoint, region=REGION)
    worker = lambda_handler.upload_worker()  # the cold start: settings, clients
    runtime_kib = own_rss_kib()
    sent: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        sent[model.name] += 1

    worker.repository.s3_client.boto_client.meta.events.register("before-call.s3", count)
    invocations = []
    for _ in range(uploads // BATCH_SIZE):
        messages = [
            {**message, "Body": as_s3_sends(message["Body"], s3)}
            for message in receive_all(sqs, queue_url, BATCH_SIZE)[:BATCH_SIZE]
        ]
        event = sqs_event(sqs, queue_url, messages)
        started = time.perf_counter()
        cpu_started = time.process_time()
        response = lambda_handler.upload_handler(event, LocalContext())
        invocations.append(
            {
                "records": len(messages),
                "seconds": time.perf_counter() - started,
                "cpu_seconds": time.process_time() - cpu_started,
                "failures": len(response["batchItemFailures"]),
            }
        )
    print(json.dumps({"invocations": invocations, "requests": sent, "runtime_kib": runtime_kib}))


def child_memory(arguments: list[str]) -> None:
    """In a pinned process: one batch of two 49 MP PNGs at the function's concurrency."""
    os.sched_setaffinity(0, {0})
    endpoint, queue_url = arguments[0], arguments[1]
    from wearit_storage.workers import lambda_handler

    sqs = emulator_client("sqs", endpoint, region=REGION)
    lambda_handler.upload_worker()
    before = high_water_mark_kib()
    messages = receive_all(sqs, queue_url, 2)[:2]
    response = lambda_handler.upload_handler(sqs_event(sqs, queue_url, messages), LocalContext())
    print(
        json.dumps(
            {
                "peak_kib": high_water_mark_kib(),
                "before_kib": before,
                "failures": len(response["batchItemFailures"]),
            }
        )
    )


def _run_child(mode: str, environment: dict[str, str], *arguments: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_lambda", mode, *arguments],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench_lambda {mode} failed: {result.stderr[-2000:]}")
    lines = [line for line in result.stdout.splitlines() if not line.startswith('{"_aws"')]
    loaded: dict[str, Any] = json.loads(lines[-1])
    return loaded


def run(workdir: Path) -> dict[str, Any]:
    from benchmarks.bench_image_memory import make_inputs

    with MotoServerProcess() as server:
        if server.pid is not None:
            os.sched_setaffinity(server.pid, {1})  # moto on the other core
        endpoint = server.endpoint_url
        bucket, queue_url = _pipeline(endpoint)
        environment = _environment(endpoint, bucket, queue_url)
        _post_all(environment, [sample_photo()] * UPLOADS)
        timed = _run_child("child", environment, endpoint, queue_url, str(UPLOADS))
        largest = make_inputs(workdir)["png_rgba"].read_bytes()
        _post_all(environment, [largest, largest])
        memory = _run_child("child-memory", environment, endpoint, queue_url)
    invocations = timed["invocations"]
    rates = [i["records"] / i["seconds"] for i in invocations]
    seconds_per_record = [i["seconds"] / i["records"] for i in invocations]
    cpu_per_record = [i["cpu_seconds"] / i["records"] for i in invocations]
    requests: dict[str, int] = timed["requests"]
    uploads = sum(i["records"] for i in invocations)
    return {
        "batch_size": BATCH_SIZE,
        "concurrency_in_invocation": UPLOADS_AT_ONCE,
        "uploads": uploads,
        "failures": sum(i["failures"] for i in invocations),
        "records_per_s_one_vcpu": round(statistics.median(rates), 2),
        "seconds_per_record_one_vcpu": round(statistics.median(seconds_per_record), 3),
        "cpu_seconds_per_record": round(statistics.median(cpu_per_record), 3),
        "s3_requests_per_upload": {k: round(v / uploads, 2) for k, v in sorted(requests.items())},
        "queue_messages_per_upload": 1,
        "runtime_mib": round(timed["runtime_kib"] / 1024, 1),
        "two_49mp_renders_peak_mib": round(memory["peak_kib"] / 1024, 1),
        "memory_failures": memory["failures"],
        "memory_mb": MEMORY_MB,
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def estimates(result: dict[str, Any]) -> dict[str, float]:
    """At the deployed memory: the CPU share it buys, the rate, and what a million cost."""
    share = min(1.0, result["memory_mb"] / FULL_VCPU_MB)
    # Pessimistic: as if the whole record were CPU, slowed by the share.
    seconds = result["seconds_per_record_one_vcpu"] / share
    gb_s = seconds * result["memory_mb"] / 1024
    invocations_per_million = 1e6 / result["batch_size"]
    lambda_cost = 1e6 * gb_s * PRICE_GB_S + invocations_per_million / 1e6 * (
        PRICE_PER_MILLION_INVOCATIONS
    )
    requests = result["s3_requests_per_upload"]
    s3_cost = 1e6 * (
        sum(v for k, v in requests.items() if k in _PUT_CLASS) * S3_PUT_CLASS_PER_1000 / 1000
        + sum(v for k, v in requests.items() if k in _GET_CLASS) * S3_GET_CLASS_PER_1000 / 1000
    )
    rate = 1 / seconds  # records/s per invocation at the deployed memory
    return {
        "vcpu_share": round(share, 2),
        "records_per_s": round(rate, 2),
        "concurrency_for_1000_per_minute": round(PER_MINUTE / 60 / rate, 1),
        "lambda_usd_per_million": round(lambda_cost, 2),
        "s3_requests_usd_per_million": round(s3_cost, 2),
    }


def renditions_per_upload(category: Category = Category.CLOTHING) -> int:
    """What one upload of the bench's category writes: its JPEGs and AVIFs, main and
    thumbnail (clothing: four)."""
    policy = DEFAULT_POLICIES[category]
    return (2 if policy.has_thumbnail else 1) * len(policy.formats)


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    at_memory = estimates(result)
    requests = result["s3_requests_per_upload"]
    total = round(sum(requests.values()), 2)
    renditions = renditions_per_upload()
    return [
        {
            "target": f"records/s per invocation, batch {result['batch_size']}, "
            f"{result['concurrency_in_invocation']} at once (no target)",
            "measured": f"{result['records_per_s_one_vcpu']} on one vCPU (1,769 MB); "
            f"~{at_memory['records_per_s']} at {result['memory_mb']} MB "
            f"({at_memory['vcpu_share']} vCPU), {result['failures']} failures",
            "met": result["failures"] == 0,
        },
        {
            "target": f"S3 requests per upload: 5 + one per rendition, {5 + renditions} "
            f"with {renditions} renditions (was 11 with 2)",
            "measured": f"{total}: "
            + ", ".join(f"{k} {v}" for k, v in requests.items())
            + f"; {result['queue_messages_per_upload']} queue message (was 3)",
            "met": total <= 5 + renditions,
        },
        {
            "target": f"peak memory of two 49 MP renders at once < {result['memory_mb']} MB",
            "measured": f"{result['two_49mp_renders_peak_mib']} MiB "
            f"(runtime {result['runtime_mib']} MiB), {result['memory_failures']} failures",
            "met": result["two_49mp_renders_peak_mib"] * 2**20 < result["memory_mb"] * 10**6
            and result["memory_failures"] == 0,
        },
        {
            "target": "sizing: concurrency for 1,000 uploads a minute (no target)",
            "measured": f"{at_memory['concurrency_for_1000_per_minute']} invocations at "
            f"{result['memory_mb']} MB (16.7 uploads/s / {at_memory['records_per_s']} per "
            "invocation)",
            "met": True,
        },
        {
            "target": f"cost per million uploads at the arm64 price of {PRICE_DATE} (no target)",
            "measured": f"${at_memory['lambda_usd_per_million']} Lambda + "
            f"${at_memory['s3_requests_usd_per_million']} S3 requests",
            "met": True,
        },
    ]


if __name__ == "__main__":
    modes = {"child": child, "child-memory": child_memory}
    modes[sys.argv[1]](sys.argv[2:])
