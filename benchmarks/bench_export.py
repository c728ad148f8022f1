"""GDPR export of a user with 2,000 objects: throughput, requests, peak extra memory.

The user owns 2,000 photo-sized objects (thumbnails to ~200 KB, ~110 MB in all) across
the four categories; another user's files share the id prefix. Each contender runs in a
fresh process (``python -m benchmarks.bench_export one CONTENDER ENDPOINT BUCKET USER``),
whose extra peak RSS is VmHWM after the export minus VmHWM before it (imports and the
client's start-up cancel out); three interleaved rounds, median wall time, highest peak:

- ``wearit_storage``: ``export_user_files`` (streamed multipart upload);
- ``in_memory``: what the API would do without it: download every object, build the ZIP
  in a ``BytesIO``, upload it, so memory grows with what the user owns.

The SDK's archive is then downloaded and checked file by file against the bucket.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
import statistics
import subprocess
import sys
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.bench_erasure import CATEGORIES, REGION, key_for, raw_client
from wearit_storage import StorageSettings, SyncS3Client, SyncStorageRepository
from wearit_storage.s3.multipart_sink import PART_SIZE

OBJECTS = 2000
SURVIVOR_OBJECTS = 20
# Per-category sizes cycle through these: a main image, its thumbnail, a try-on result...
SIZES = (92_000, 10_000, 120_000, 10_000, 60_000)
USER = "export-user"
MEMORY_BOUND_MIB = 64
ROUNDS = 3
MIB = 2**20


def body_for(user: str, index: int) -> bytes:
    return random.Random(f"{user}/{index}").randbytes(SIZES[index % len(SIZES)])


def populate(endpoint: str, bucket: str, user: str, objects: int) -> int:
    client = raw_client(endpoint)

    def write(index: int) -> int:
        body = body_for(user, index)
        client.put_object(
            Bucket=bucket, Key=key_for(user, index), Body=body, ChecksumAlgorithm="SHA256"
        )
        return len(body)

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(write, range(objects)))


def settings(endpoint: str, bucket: str) -> StorageSettings:
    return StorageSettings(
        region=REGION,
        bucket_name=bucket,
        access_key="testing",
        secret_key="testing",
        endpoint_url=endpoint,
    )


def count_requests(boto_client: Any) -> Counter[str]:
    counts: Counter[str] = Counter()

    def on_request(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    boto_client.meta.events.register("before-call.s3", on_request)
    return counts


def export_with_sdk(client: SyncS3Client, user: str) -> dict[str, Any]:
    export = SyncStorageRepository(client).export_user_files(user)
    return {"key": export.key, "objects": export.objects, "archive_bytes": export.archive_bytes}


def export_in_memory(client: SyncS3Client, user: str) -> dict[str, Any]:
    """The obvious version: everything in memory, then one upload."""
    boto, bucket = client.boto_client, client.bucket_name
    files: list[tuple[str, bytes]] = []
    for category in CATEGORIES:
        paginator = boto.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=f"{category}/{user}/"):
            for entry in page.get("Contents", []):
                body = boto.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                files.append((entry["Key"], body))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for key, body in files:
            zf.writestr(key, body)
    key = f"exports/{user}/in-memory.zip"
    client.put_object(archive.getvalue(), key, "application/zip")
    return {"key": key, "objects": len(files), "archive_bytes": archive.tell()}


CONTENDERS = {"wearit_storage": export_with_sdk, "in_memory": export_in_memory}


def one(contender: str, endpoint: str, bucket: str, user: str) -> None:
    """In a fresh process: one export, its wall time, requests and extra peak RSS."""
    from benchmarks.memory_probe import high_water_mark_kib  # Linux /proc reader

    client = SyncS3Client.from_settings(settings(endpoint, bucket))
    counts = count_requests(client.boto_client)
    client.boto_client.list_objects_v2(Bucket=bucket, MaxKeys=1)  # warm the connection pool
    counts.clear()
    before = high_water_mark_kib()
    start = time.perf_counter()
    result = CONTENDERS[contender](client, user)
    wall = time.perf_counter() - start
    result |= {
        "wall_s": round(wall, 2),
        "peak_extra_mib": round((high_water_mark_kib() - before) / 1024, 1),
        "requests": dict(counts),
        "total_requests": sum(counts.values()),
    }
    print(json.dumps(result))


def run_one(contender: str, endpoint: str, bucket: str, user: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_export", "one", contender, endpoint, bucket, user],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def verify(endpoint: str, bucket: str, key: str, user: str) -> dict[str, Any]:
    """Every file's bytes and manifest entry against what was written; nobody else's."""
    client = raw_client(endpoint)
    archive = zipfile.ZipFile(io.BytesIO(client.get_object(Bucket=bucket, Key=key)["Body"].read()))
    manifest = json.loads(archive.read("manifest.json"))
    by_key = {entry["key"]: entry for entry in manifest["files"]}
    mismatches = 0
    for index in range(OBJECTS):
        expected = body_for(user, index)
        entry = by_key.get(key_for(user, index))
        if (
            entry is None
            or archive.read(entry["path"]) != expected
            or entry["sha256"] != hashlib.sha256(expected).hexdigest()
            or entry["size"] != len(expected)
        ):
            mismatches += 1
    foreign = [name for name in archive.namelist() if f"/{user}/" not in name]
    return {
        "files": len(by_key),
        "mismatches": mismatches,
        "foreign_files": len([n for n in foreign if n != "manifest.json"]),
    }


def run(endpoint: str, bucket: str) -> dict[str, Any]:
    total_bytes = populate(endpoint, bucket, USER, OBJECTS)
    populate(endpoint, bucket, f"{USER}0", SURVIVOR_OBJECTS)  # "export-user" is its prefix
    results: dict[str, Any] = {"objects": OBJECTS, "bytes": total_bytes, "rounds": ROUNDS}
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTENDERS}
    for _ in range(ROUNDS):  # interleaved: a noisy neighbour slows both contenders alike
        for contender in CONTENDERS:
            rounds[contender].append(run_one(contender, endpoint, bucket, USER))
    for contender, runs in rounds.items():
        measured = runs[-1] | {
            "wall_s": statistics.median(run["wall_s"] for run in runs),
            "wall_s_rounds": [run["wall_s"] for run in runs],
            "peak_extra_mib": max(run["peak_extra_mib"] for run in runs),
        }
        measured["mb_per_s"] = round(total_bytes / 1e6 / measured["wall_s"], 1)
        results[contender] = measured
    results["wearit_storage"]["verified"] = verify(
        endpoint, bucket, results["wearit_storage"]["key"], USER
    )
    return results


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    sdk, naive = result["wearit_storage"], result["in_memory"]
    requests = sdk["requests"]
    lists = requests.get("ListObjectsV2", 0)
    parts = requests.get("UploadPart", 0)
    bound = lists + result["objects"] + math.ceil(sdk["archive_bytes"] / PART_SIZE) + 2
    verified = sdk["verified"]
    return [
        {
            "target": f"peak extra memory <= {MEMORY_BOUND_MIB} MiB whatever the user owns",
            "measured": (
                f"{sdk['peak_extra_mib']} MiB for {result['bytes'] / 1e6:.0f} MB "
                f"(in-memory export: {naive['peak_extra_mib']} MiB)"
            ),
            "met": sdk["peak_extra_mib"] <= MEMORY_BOUND_MIB,
        },
        {
            "target": "requests <= list pages + one GET per object + parts + 2",
            "measured": (
                f"{sdk['total_requests']} requests ({lists} list pages, "
                f"{requests.get('GetObject', 0)} GetObject, {parts} UploadPart); bound {bound}"
            ),
            "met": sdk["total_requests"] <= bound,
        },
        {
            "target": "report throughput, 2,000 objects (no target)",
            "measured": (
                f"{sdk['mb_per_s']} MB/s, median {sdk['wall_s']} s of {result['rounds']} "
                f"(in-memory: {naive['mb_per_s']} MB/s, {naive['wall_s']} s)"
            ),
            "met": True,
        },
        {
            "target": "every file byte-exact and in the manifest, no other user's file",
            "measured": (
                f"{verified['files']} files, {verified['mismatches']} mismatches, "
                f"{verified['foreign_files']} foreign"
            ),
            "met": verified["files"] == result["objects"]
            and verified["mismatches"] == 0
            and verified["foreign_files"] == 0,
        },
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["one"]:
        one(*sys.argv[2:6])
    else:
        raise SystemExit(
            "usage: python -m benchmarks.bench_export one CONTENDER ENDPOINT BUCKET USER"
        )
