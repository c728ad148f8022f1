"""``python -m benchmarks.worker_allocator [--uploads N]``: the upload worker's RSS under
glibc's allocator settings, side by side in one run.

Each setting runs in a fresh process, one after the other, against a fresh moto server (a
server holding the previous settings' objects would slow the later ones down): the
worker's processor on two threads (``WEARIT_WORKER_CONCURRENCY=2``, as deployed) over the
soak's photos in turn (phone JPEGs, a 12 MP photo, a PNG with alpha), recording RSS every
25 uploads and the time taken. Settings: glibc's defaults (an arena per thread, a dynamic
mmap threshold), ``MALLOC_ARENA_MAX=2`` (what the worker functions set:
:data:`wearit_storage.imaging.budget.ALLOCATOR_ENVIRONMENT`) and
``MALLOC_MMAP_THRESHOLD_=131072`` (what ``image_memory`` measures beside the defaults).
Writes ``results/worker_allocator.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from benchmarks.run import RESULTS, machine
from benchmarks.soak.memory import KIB_PER_MIB, own_rss_kib
from wearit_local.server import MotoServerProcess

SETTINGS: Final = {
    "defaults": {},
    "arena_max_2": {"MALLOC_ARENA_MAX": "2"},
    "mmap_threshold_128k": {"MALLOC_MMAP_THRESHOLD_": "131072"},
}
EVERY: Final = 25
THREADS: Final = 2


def _child(endpoint: str, cdk_out: Path, uploads: int) -> dict[str, Any]:
    """Runs in the measured process: ``uploads`` uploads through the processor."""
    from benchmarks.soak.photos import photos
    from wearit_local import provision_environment
    from wearit_local.clients import emulator_client
    from wearit_storage import StorageSettings, SyncStorageRepository
    from wearit_storage.uploads.destination import UploadDestination
    from wearit_storage.uploads.events import ObjectCreated
    from wearit_storage.workers import UploadProcessor

    run = f"{os.getpid()}"
    env = provision_environment(cdk_out, "dev", s3_endpoint=endpoint)
    settings = StorageSettings.from_env(env.environment_variables())
    admin = emulator_client("s3", env.endpoint_url, env.region)
    inputs = photos()
    samples: list[dict[str, float]] = []
    with SyncStorageRepository.from_settings(settings) as repo:
        processor = UploadProcessor(repo.uploads, worker_id="allocator")

        def one(n: int) -> None:
            photo = inputs[n % len(inputs)]
            destination = UploadDestination("clothing", f"user{n % 20}", f"item-{run}-{n}")
            key = f"temp/{run}-{n}/{photo.filename}"
            admin.put_object(
                Bucket=env.data_bucket,
                Key=key,
                Body=photo.data,
                ContentType=photo.content_type,
                Metadata=destination.metadata(),
            )
            event = ObjectCreated(
                env.data_bucket, key, len(photo.data), "ObjectCreated:Post", datetime.now(UTC)
            )
            processor.process(event)

        started = time.perf_counter()
        with ThreadPoolExecutor(THREADS) as pool:
            for first in range(0, uploads, EVERY):
                list(pool.map(one, range(first, min(uploads, first + EVERY))))
                samples.append(
                    {
                        "uploads": min(uploads, first + EVERY),
                        "seconds": round(time.perf_counter() - started, 1),
                        "rss_mib": own_rss_kib() // KIB_PER_MIB,
                    }
                )
    return {"samples": samples}


def _measure(setting: str, cdk_out: Path, uploads: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    with MotoServerProcess() as server:
        command = [sys.executable, "-m", "benchmarks.worker_allocator"]
        command += ["--child", server.endpoint_url, "--cdk-out", str(cdk_out)]
        command += ["--uploads", str(uploads)]
        done = subprocess.run(
            command, env=env | SETTINGS[setting], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"{setting}: the measured process failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    samples = result["samples"]
    half = samples[len(samples) // 2]["rss_mib"]
    result |= {
        "environment": SETTINGS[setting],
        "seconds": samples[-1]["seconds"],
        "rss_after_100_mib": next(
            s["rss_mib"] for s in samples if s["uploads"] >= min(100, uploads)
        ),
        "rss_half_mib": half,
        "rss_end_mib": samples[-1]["rss_mib"],
        "growth_second_half": round(samples[-1]["rss_mib"] / half - 1, 3),
    }
    return result


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Measured {results['date']} on {results['machine']['cores']} cores, Python "
        f"{results['machine']['python']}: {results['uploads']} uploads per setting through "
        f"the upload worker's processor on {THREADS} threads, each setting in a fresh "
        "process against a fresh moto server, one after the other.",
        "",
        "| setting | RSS after 100 uploads (MiB) | at half (MiB) | at the end (MiB) | "
        "growth over the second half | time (s) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results["settings"].values():
        shown = " ".join(f"{k}={v}" for k, v in r["environment"].items()) or "glibc defaults"
        lines.append(
            f"| {shown} | {r['rss_after_100_mib']} | {r['rss_half_mib']} | {r['rss_end_mib']} "
            f"| {r['growth_second_half']:+.1%} | {r['seconds']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker_allocator")
    parser.add_argument("--uploads", type=int, default=600)
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--child", metavar="ENDPOINT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.cdk_out, args.uploads)))
        return 0
    measured = {name: _measure(name, args.cdk_out.resolve(), args.uploads) for name in SETTINGS}
    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "uploads": args.uploads,
        "settings": measured,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "worker_allocator.json").write_text(json.dumps(results, indent=2) + "\n")
    table = _markdown(results)
    (RESULTS / "worker_allocator.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
