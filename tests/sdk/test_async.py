"""Async S3Client / StorageRepository: seed API, same behaviour, never blocks the loop."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from tests.sdk.conftest import PRIMARY_REGION, all_versions, make_jpeg
from wearit_storage import (
    ObjectNotFound,
    OperationMetric,
    S3Client,
    StorageNotConnected,
    StorageRepository,
    StorageSettings,
)

KEY = "clothing/u1/c1/photo.jpg"


async def test_seed_style_connect_upload_download_delete(
    settings: StorageSettings, admin: Any, bucket: str
) -> None:
    client = S3Client()
    await client.connect(
        PRIMARY_REGION, bucket, "testing", "testing", endpoint_url=settings.endpoint_url
    )
    url = await client.upload_file(b"bytes", KEY)
    assert f"/{bucket}/{KEY}?" in url
    assert await client.download_file(KEY) == b"bytes"
    assert await client.delete_file(KEY) is True
    with pytest.raises(ObjectNotFound):
        await client.download_file(KEY)
    assert "X-Amz-Expires=60" in client.generate_presigned_url(KEY, 60)  # sync, as the seed
    await client.close()
    with pytest.raises(StorageNotConnected):
        await client.download_file(KEY)


async def test_not_connected_async_client_says_so() -> None:
    with pytest.raises(StorageNotConnected, match="connect"):
        await S3Client().upload_file(b"x", KEY)


async def test_seed_style_repository(
    settings: StorageSettings, admin: Any, bucket: str, jpeg: bytes
) -> None:
    repo = StorageRepository()  # the seed's constructor: owns an unconnected client
    await repo.s3_client.connect(
        PRIMARY_REGION, bucket, "testing", "testing", endpoint_url=settings.endpoint_url
    )
    url = await repo.upload_clothing_image("u1", "c1", jpeg, "photo.jpg")
    assert "/clothing/u1/c1/photo.jpg?" in url
    await repo.upload_body_image("u1", "b1", jpeg, "front.jpg")
    await repo.upload_tryon_result("u1", "t1", jpeg, "r.jpg")
    await repo.upload_avatar("u1", jpeg, "me.jpg")
    await repo.upload_optimized_image(jpeg, "tryon/u1/t2/r.jpg")
    assert len(all_versions(admin, bucket)) == 7
    if await repo.delete_user_files("u1"):  # the seed's boolean use keeps working
        erased = True
    assert erased
    assert all_versions(admin, bucket) == []
    await repo.close()


async def test_repository_extras_via_from_settings(
    async_repo: StorageRepository, admin: Any, bucket: str, replica_bucket: str, jpeg: bytes
) -> None:
    await async_repo.upload_temp("s1", jpeg, "up.jpg", "image/jpeg")
    post = async_repo.presign_upload("s1", "next.jpg")
    assert post.key == "temp/s1/next.jpg"
    stored = await async_repo.promote_temp_upload(
        "s1", "up.jpg", user_id="u1", category="clothing", item_id="c1"
    )
    assert stored.main.key == "clothing/u1/c1/image.jpg"
    usage = await async_repo.user_storage_usage("u1")
    assert usage.categories["clothing"].objects == 2
    await async_repo.s3_client.delete_file(stored.main.key)
    await async_repo.restore_previous_version(stored.main.key)
    assert await async_repo.s3_client.download_file(stored.main.key)
    report = await async_repo.delete_clothing_item("u1", "c1")
    assert report
    assert replica_bucket in report.deleted
    assert all_versions(admin, bucket) == []


async def test_event_loop_stays_responsive_during_uploads(
    async_repo: StorageRepository,
) -> None:
    photo = make_jpeg((4000, 3000))  # rendering takes real CPU time in the workers
    gaps: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(heartbeat())
    start = time.perf_counter()
    await asyncio.gather(
        *(async_repo.upload_clothing_image("u1", f"c{i}", photo, "photo.jpg") for i in range(12))
    )
    elapsed = time.perf_counter() - start
    done.set()
    await ticker
    # If uploads or rendering ran on the loop, the heartbeat would stall for the whole
    # batch (max gap == elapsed); off the loop it only sees GIL contention.
    message = f"loop blocked for {max(gaps):.2f}s during {elapsed:.2f}s"
    assert max(gaps) < 0.5, message
    assert max(gaps) < elapsed / 2, message


async def test_work_runs_on_a_bounded_pool(settings: StorageSettings, bucket: str) -> None:
    threads: set[str] = set()
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def enter(**kwargs: Any) -> None:
        nonlocal in_flight, peak
        with lock:
            threads.add(threading.current_thread().name)
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.02)

    def leave(**kwargs: Any) -> None:
        nonlocal in_flight
        with lock:
            in_flight -= 1

    client = S3Client()
    await client.connect(
        PRIMARY_REGION,
        bucket,
        "testing",
        "testing",
        endpoint_url=settings.endpoint_url,
        max_concurrency=3,
    )
    assert client.sync_client.boto_client.meta.config.max_pool_connections == 3
    events = client.sync_client.boto_client.meta.events
    events.register("before-call.s3.PutObject", enter)
    events.register("after-call.s3.PutObject", leave)
    await asyncio.gather(*(client.put_object(b"x", f"tryon/u1/t{i}/r.jpg") for i in range(12)))
    await client.close()
    assert peak == 3
    assert all(name.startswith("wearit-storage") for name in threads)
    assert len(threads) <= 3


async def test_from_env_end_to_end(
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
    bucket: str,
    replica_bucket: str,
    admin: Any,
    jpeg: bytes,
) -> None:
    environment = {
        "AWS_REGION_NAME": PRIMARY_REGION,
        "WEARIT_ENV": "dev",
        "AWS_BUCKET_NAME_DEV": bucket,
        "AWS_BUCKET_NAME_PROD": "not-this-one",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "WEARIT_REPLICA_BUCKET_NAME": replica_bucket,
        "WEARIT_REPLICA_REGION_NAME": "eu-central-1",
        "WEARIT_MAX_CONCURRENCY": "4",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    metrics: list[OperationMetric] = []
    repo = await StorageRepository.from_settings(
        StorageSettings.from_env(), metrics_hook=metrics.append
    )
    assert repo.s3_client.sync_client.boto_client.meta.config.max_pool_connections == 4
    await repo.upload_avatar("u1", jpeg, "me.jpg")
    assert {v[0] for v in all_versions(admin, bucket)} == {
        "avatars/u1/me.jpg",
        "avatars/u1/me_thumb.jpg",
    }
    assert await repo.delete_user_files("u1")
    await repo.close()
    assert [m.operation for m in metrics] == ["upload", "upload", "erase"]
    assert all(m.outcome == "ok" for m in metrics)
