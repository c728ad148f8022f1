"""Async S3Client / StorageRepository: seed API, same behaviour, never blocks the loop."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from typing import Any

import pytest

from tests.sdk.helpers import PRIMARY_REGION, all_versions, make_jpeg
from wearit_storage import (
    ImageProcessor,
    ObjectNotFound,
    OperationMetric,
    S3Client,
    StorageNotConnected,
    StorageRepository,
    StorageSettings,
)

KEY = "clothing/u1/c1/photo.jpg"


async def test_seed_style_connect_upload_download_delete(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, admin: Any, bucket: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    client = S3Client()
    await client.connect(PRIMARY_REGION, bucket, "testing", "testing")
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
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, admin: Any, bucket: str, jpeg: bytes
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    repo = StorageRepository()  # the seed's constructor: owns an unconnected client
    await repo.s3_client.connect(PRIMARY_REGION, bucket, "testing", "testing")
    url = await repo.upload_clothing_image("u1", "c1", jpeg, "photo.jpg")
    assert "/clothing/u1/c1/photo.jpg?" in url
    await repo.upload_body_image("u1", "b1", jpeg, "front.jpg")
    await repo.upload_tryon_result("u1", "t1", jpeg, "r.jpg")
    await repo.upload_avatar("u1", jpeg, "me.jpg")
    await repo.upload_optimized_image(jpeg, "tryon/u1/t2/r.jpg")
    # clothing and avatars: main, thumbnail and their AVIFs; body and try-on: the JPEG.
    assert len(all_versions(admin, bucket)) == 11
    if await repo.delete_user_files("u1"):  # the seed's boolean use keeps working
        erased = True
    assert erased
    assert all_versions(admin, bucket) == []
    await repo.close()


async def test_repository_extras_via_from_settings(
    async_repo: StorageRepository, admin: Any, bucket: str, replica_bucket: str, jpeg: bytes
) -> None:
    await async_repo.upload_temp("s1", jpeg, "up.jpg", "image/jpeg")
    post = await async_repo.presign_upload("s1", "next.jpg")
    assert post.key == "temp/s1/next.jpg"
    stored = await async_repo.promote_temp_upload(
        "s1", "up.jpg", user_id="u1", category="clothing", item_id="c1"
    )
    assert stored.main.key == "clothing/u1/c1/image.jpg"
    usage = await async_repo.user_storage_usage("u1")
    assert usage.categories["clothing"].objects == 4  # two JPEGs, two AVIFs
    await async_repo.s3_client.delete_file(stored.main.key)
    await async_repo.restore_previous_version(stored.main.key)
    assert await async_repo.s3_client.download_file(stored.main.key)
    report = await async_repo.delete_clothing_item("u1", "c1")
    assert report
    assert replica_bucket in report.deleted
    assert all_versions(admin, bucket) == []


async def test_no_request_and_no_rendering_runs_on_the_event_loop_thread(
    async_repo: StorageRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the work runs, not how long it takes: the loop thread must never send an S3
    request or render an image (timings belong in benchmarks/, not in tests)."""
    loop_thread = threading.get_ident()
    request_threads: list[int] = []
    render_threads: list[int] = []
    async_repo.s3_client.sync_client.boto_client.meta.events.register(
        "before-send.s3", lambda **_: request_threads.append(threading.get_ident())
    )
    original_render = ImageProcessor.render

    def recording_render(*args: Any, **kwargs: Any) -> Any:
        render_threads.append(threading.get_ident())
        return original_render(*args, **kwargs)

    monkeypatch.setattr(ImageProcessor, "render", staticmethod(recording_render))
    photo = make_jpeg((1600, 1200))

    await asyncio.gather(
        *(async_repo.upload_clothing_image("u1", f"c{i}", photo, "photo.jpg") for i in range(6))
    )
    await async_repo.s3_client.download_file("clothing/u1/c0/photo.jpg")
    await async_repo.delete_user_files("u1")

    assert len(render_threads) == 6
    assert len(request_threads) >= 6 * 2 + 1
    assert loop_thread not in render_threads
    assert loop_thread not in request_threads


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

    client = await S3Client.from_settings(dataclasses.replace(settings, max_concurrency=3))
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
        "avatars/u1/me.avif",
        "avatars/u1/me_thumb.avif",
    }
    assert await repo.delete_user_files("u1")
    await repo.close()
    # The erasure check before writing, the renditions (JPEG and AVIF main, thumbnail),
    # then the erasure (its sessions read first).
    assert [m.operation for m in metrics] == [
        "exists",
        *["upload"] * 4,
        "list_sessions",
        "erase",
    ]
    assert all(m.outcome == "ok" for m in metrics)
