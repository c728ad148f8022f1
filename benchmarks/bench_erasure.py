"""User erasure: requests and wall time of ``delete_user_files`` vs a naive per-version
delete, on a user with 5,000 objects x 2 versions plus delete markers."""

from __future__ import annotations

import math
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wearit_local.clients import emulator_client
from wearit_storage import StorageSettings, SyncS3Client, SyncStorageRepository

OBJECTS = 5000
VERSIONS_PER_OBJECT = 2
DELETE_MARKER_EVERY = 10  # every 10th object also gets a delete marker
CATEGORIES = ("clothing", "body", "tryon", "avatars")
SURVIVOR_OBJECTS = 50
REGION = "us-east-1"


def raw_client(endpoint: str) -> Any:
    return emulator_client("s3", endpoint, region=REGION)


def key_for(user: str, index: int) -> str:
    category = CATEGORIES[index % len(CATEGORIES)]
    if category == "avatars":
        return f"avatars/{user}/avatar{index}.jpg"
    return f"{category}/{user}/item{index}/image.jpg"


def populate(endpoint: str, bucket: str, user: str, objects: int) -> int:
    """Write the versions and delete markers; return how many entries were created."""
    client = raw_client(endpoint)

    def write(index: int) -> int:
        key = key_for(user, index)
        for version in range(VERSIONS_PER_OBJECT):
            client.put_object(Bucket=bucket, Key=key, Body=f"v{version}".encode())
        if index % DELETE_MARKER_EVERY == 0:
            client.delete_object(Bucket=bucket, Key=key)
            return VERSIONS_PER_OBJECT + 1
        return VERSIONS_PER_OBJECT

    with ThreadPoolExecutor(16) as pool:
        return sum(pool.map(write, range(objects)))


def count_requests(client: Any) -> Counter[str]:
    counts: Counter[str] = Counter()

    def on_request(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    client.meta.events.register("before-call.s3", on_request)
    return counts


def remaining(endpoint: str, bucket: str, user: str) -> int:
    client = raw_client(endpoint)
    total = 0
    for category in CATEGORIES:
        paginator = client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket, Prefix=f"{category}/{user}/"):
            total += len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
    return total


def sdk_erasure(endpoint: str, bucket: str, user: str) -> dict[str, Any]:
    client = SyncS3Client.from_settings(
        StorageSettings(
            region=REGION,
            bucket_name=bucket,
            access_key="testing",
            secret_key="testing",
            endpoint_url=endpoint,
        )
    )
    counts = count_requests(client.boto_client)
    start = time.perf_counter()
    with SyncStorageRepository(client) as repository:
        report = repository.delete_user_files(user)
    return {
        "wall_s": round(time.perf_counter() - start, 2),
        "requests": dict(counts),
        "total_requests": sum(counts.values()),
        "entries_deleted": report.versions_deleted + report.delete_markers_deleted,
        "report_complete": bool(report),
    }


def naive_erasure(endpoint: str, bucket: str, user: str) -> dict[str, Any]:
    """What a hand-written fix of the seed typically does: one DeleteObject per version."""
    client = raw_client(endpoint)
    counts = count_requests(client)
    start = time.perf_counter()
    for category in CATEGORIES:
        paginator = client.get_paginator("list_object_versions")
        # Listed completely first: deleting under a live pagination skips entries on moto.
        entries = [
            entry
            for page in paginator.paginate(Bucket=bucket, Prefix=f"{category}/{user}/")
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for entry in entries:
            client.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
    return {
        "wall_s": round(time.perf_counter() - start, 2),
        "requests": dict(counts),
        "total_requests": sum(counts.values()),
    }


def run(endpoint: str, bucket: str) -> dict[str, Any]:
    entries = populate(endpoint, bucket, "gdpr-user", OBJECTS)
    populate(endpoint, bucket, "gdpr-user0", SURVIVOR_OBJECTS)  # id shares a prefix
    survivor_before = remaining(endpoint, bucket, "gdpr-user0")
    sdk = sdk_erasure(endpoint, bucket, "gdpr-user")
    sdk["remaining_after"] = remaining(endpoint, bucket, "gdpr-user")
    sdk["survivor_intact"] = remaining(endpoint, bucket, "gdpr-user0") == survivor_before
    populate(endpoint, bucket, "naive-user", OBJECTS)
    naive = naive_erasure(endpoint, bucket, "naive-user")
    naive["remaining_after"] = remaining(endpoint, bucket, "naive-user")
    return {"entries": entries, "wearit_storage": sdk, "naive": naive}


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    sdk = result["wearit_storage"]
    lists = sdk["requests"].get("ListObjectVersions", 0)
    deletes = sdk["requests"].get("DeleteObjects", 0)
    bound = lists + math.ceil(result["entries"] / 1000)
    return [
        {
            "target": "requests <= list pages + ceil(versions / 1000) DeleteObjects",
            "measured": (
                f"{sdk['total_requests']} requests ({lists} list pages, {deletes} DeleteObjects)"
                f" for {result['entries']} entries; bound {bound}; naive: "
                f"{result['naive']['total_requests']}"
            ),
            "met": sdk["total_requests"] <= bound,
        },
        {
            "target": "nothing of the user left, the other user intact",
            "measured": (
                f"{sdk['remaining_after']} left, survivor intact: {sdk['survivor_intact']}"
            ),
            "met": sdk["remaining_after"] == 0
            and sdk["survivor_intact"]
            and sdk["report_complete"],
        },
    ]
