"""Event-loop lag while 100 uploads run concurrently: the SDK vs the seed's pattern."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.baselines.seed_s3_client import SeedS3Client
from wearit_storage import S3Client, StorageSettings

UPLOADS = 100
UPLOAD_BYTES = 256 * 1024
HEARTBEAT_S = 0.005
REGION = "us-east-1"
ACCESS_KEY, SECRET_KEY = "testing", "testing"


async def measure_lag(workload: Callable[[], Awaitable[None]]) -> dict[str, float]:
    """Run ``workload`` while a heartbeat task records how late each tick wakes up."""
    lags: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        while not done.is_set():
            expected = time.perf_counter() + HEARTBEAT_S
            await asyncio.sleep(HEARTBEAT_S)
            lags.append(max(0.0, time.perf_counter() - expected))

    beat = asyncio.create_task(heartbeat())
    start = time.perf_counter()
    await workload()
    wall = time.perf_counter() - start
    done.set()
    await beat
    lags_ms = sorted(lag * 1000 for lag in lags) or [0.0]
    return {
        "wall_s": round(wall, 3),
        "max_lag_ms": round(lags_ms[-1], 1),
        "p99_lag_ms": round(statistics.quantiles(lags_ms, n=100)[-1], 1)
        if len(lags_ms) > 1
        else lags_ms[0],
        "heartbeats": len(lags),
    }


def payloads() -> list[bytes]:
    return [os.urandom(UPLOAD_BYTES) for _ in range(UPLOADS)]


async def sdk_run(endpoint: str, bucket: str) -> dict[str, float]:
    settings = StorageSettings(
        region=REGION,
        bucket_name=bucket,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        endpoint_url=endpoint,
    )
    client = await S3Client.from_settings(settings)
    bodies = payloads()

    async def workload() -> None:
        await asyncio.gather(
            *(
                client.upload_file(body, f"tryon/bench/item{i}/result.jpg")
                for i, body in enumerate(bodies)
            )
        )

    try:
        return await measure_lag(workload)
    finally:
        await client.close()


async def seed_run(endpoint: str, bucket: str) -> dict[str, float]:
    client = SeedS3Client()
    await client.connect(REGION, bucket, ACCESS_KEY, SECRET_KEY, endpoint)
    bodies = payloads()

    async def workload() -> None:
        await asyncio.gather(
            *(
                client.upload_file(body, f"tryon/seed/item{i}/result.jpg")
                for i, body in enumerate(bodies)
            )
        )

    return await measure_lag(workload)


def run(endpoint: str, bucket: str) -> dict[str, Any]:
    seed = asyncio.run(seed_run(endpoint, bucket))
    sdk = asyncio.run(sdk_run(endpoint, bucket))
    return {"uploads": UPLOADS, "upload_bytes": UPLOAD_BYTES, "wearit_storage": sdk, "seed": seed}


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    sdk, seed = result["wearit_storage"], result["seed"]
    return [
        {
            "target": "max event-loop lag <= 50 ms during 100 concurrent uploads",
            "measured": f"{sdk['max_lag_ms']} ms (seed: {seed['max_lag_ms']} ms)",
            "met": sdk["max_lag_ms"] <= 50,
        },
        {
            "target": "wall time no worse than the seed's",
            "measured": f"{sdk['wall_s'] / seed['wall_s']:.2f}x the seed's wall time",
            "met": sdk["wall_s"] <= seed["wall_s"],
        },
    ]
