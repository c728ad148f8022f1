"""One seeded random run: 30% of the SDK's requests get a fault, two attempts per request.

100 clothing uploads and 100 downloads from a few threads, then the erasure of a user with
a few hundred versions (repeated until its report is truthy, bounded) beside a bystander.
The run is reproducible: the proxy draws a request's fault from the seed, the request's
operation and key, and how many times that request was seen, whatever the thread order.
Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from tests.faults.conftest import MAX_ATTEMPTS
from tests.faults.helpers import (
    Snapshot,
    current_versions,
    leftovers,
    put_versions,
    snapshot,
    upload_id,
    user_prefixes,
)
from tests.faults.proxy import FaultKind, FaultProxy, RandomFaults
from tests.sdk.helpers import make_jpeg
from wearit_storage import StorageError, SyncStorageRepository

T = TypeVar("T")

SEED: Final = 20261124
FAULTS: Final = RandomFaults(
    seed=SEED,
    probability=0.3,
    weights={
        FaultKind.SLOWDOWN: 1.0,
        FaultKind.ERROR500: 1.0,
        FaultKind.RESET_BEFORE: 1.0,
        FaultKind.RESET_AFTER: 1.0,
        FaultKind.RESET_MID_BODY: 1.0,
        FaultKind.LATENCY: 1.0,
    },
    latency_s=(0.01, 0.1),
)
UPLOADS: Final = 100
DOWNLOADS: Final = 100
THREADS: Final = 4
ERASURE_CALLS: Final = 10
UPLOADER, READER, ERASED, BYSTANDER = "uploader", "reader", "erased", "bystander"
OK: Final = "ok"


@dataclass
class Outcomes:
    """Outcome name per operation ("ok", a StorageError subclass, or "unexpected: ...")."""

    uploads: dict[str, str] = field(default_factory=dict)
    downloads: dict[str, str] = field(default_factory=dict)
    erasures: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = time.perf_counter() - started

    def unexpected(self) -> list[str]:
        every = [*self.uploads.values(), *self.downloads.values(), *self.erasures]
        return [outcome for outcome in every if outcome.startswith("unexpected")]


def attempt(call: Callable[[], T]) -> tuple[str, T | None]:
    try:
        return OK, call()
    except StorageError as exc:
        return type(exc).__name__, None
    except Exception as exc:  # what the run must never see
        return f"unexpected: {type(exc).__name__}: {exc}", None


def _items() -> list[str]:
    return [f"item-{n:03}" for n in range(UPLOADS)]


def _main_key(item: str) -> str:
    return f"clothing/{UPLOADER}/{item}/photo.jpg"


def _arrange_downloads(admin: Any, bucket: str) -> dict[str, bytes]:
    rng = random.Random(SEED)
    objects = {
        f"clothing/{READER}/item-{n:03}/image.jpg": rng.randbytes(rng.randint(500, 8_000))
        for n in range(DOWNLOADS)
    }
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda kv: put_versions(admin, bucket, kv[0], [kv[1]]), objects.items()))
    return objects


def _arrange_user(admin: Any, buckets: tuple[str, str], user: str, items: int) -> None:
    """Versions (and a delete marker on every third key) of a user in all four categories,
    in the primary bucket; the oldest version of each key in the replica; and one
    unfinished multipart upload in the primary."""
    primary, replica = buckets
    keys = [
        f"clothing/{user}/c{n}/photo{suffix}.jpg" for n in range(items) for suffix in ("", "_thumb")
    ]
    keys += [
        f"{category}/{user}/x{n}/image.jpg"
        for category in ("body", "tryon")
        for n in range(items // 2)
    ]
    keys += [f"avatars/{user}/avatar.jpg", f"avatars/{user}/avatar_thumb.jpg"]

    def arrange(numbered: tuple[int, str]) -> None:
        index, key = numbered
        put_versions(admin, primary, key, [f"{key} v{v}".encode() for v in range(4)])
        put_versions(admin, replica, key, [f"{key} v0".encode()])
        if index % 3 == 0:
            admin.delete_object(Bucket=primary, Key=key)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(arrange, enumerate(keys)))
    admin.create_multipart_upload(Bucket=primary, Key=f"body/{user}/x0/large.jpg")


def _half_renditions(admin: Any, bucket: str, uploads: dict[str, str]) -> list[str]:
    """Uploads whose pair is not all-or-nothing: a failed one with anything current, a
    successful one without both renditions current under one upload id."""
    now = current_versions(admin, bucket, f"clothing/{UPLOADER}/")
    half = []
    for item, outcome in uploads.items():
        main = _main_key(item)
        pair = {key: now.get(key) for key in (main, main.replace(".jpg", "_thumb.jpg"))}
        if outcome != OK:
            if any(pair.values()):
                half.append(f"{item} ({outcome}): {pair}")
            continue
        tags = {upload_id(admin, bucket, key, version) for key, version in pair.items() if version}
        if not all(pair.values()) or len(tags) != 1 or None in tags:
            half.append(f"{item} (ok): {pair} tags={tags}")
    return half


def _erase_until_complete(
    repo: SyncStorageRepository, admin: Any, buckets: tuple[str, str], outcomes: Outcomes
) -> list[str]:
    """Erase the user until a report is truthy (bounded); what remains after that report."""
    for _ in range(ERASURE_CALLS):
        outcome, report = attempt(lambda: repo.delete_user_files(ERASED))
        if report is not None and not report:
            outcome = "incomplete report"
        outcomes.erasures.append(outcome)
        if report:
            return [left for bucket in buckets for left in leftovers(admin, bucket, ERASED)]
    return ["no truthy report"]


def _figures(proxy: FaultProxy, outcomes: Outcomes, half: int) -> str:
    stats, seconds = proxy.stats, outcomes.seconds
    operations = ", ".join(f"{op}={n}" for op, n in stats.operations.most_common())
    return "\n".join(
        [
            f"random faults: seed={FAULTS.seed} p={FAULTS.probability} "
            f"max_attempts={MAX_ATTEMPTS} threads={THREADS}",
            f"proxy: {stats.summary()}",
            f"  requests by operation: {operations}",
            f"uploads ({seconds['uploads']:.1f} s): {dict(Counter(outcomes.uploads.values()))}, "
            f"half renditions: {half}",
            f"downloads ({seconds['downloads']:.1f} s): "
            f"{dict(Counter(outcomes.downloads.values()))}",
            f"erasure calls ({seconds['erasure']:.1f} s): {outcomes.erasures}",
        ]
    )


def test_seeded_random_faults(
    repo: SyncStorageRepository,
    proxy: FaultProxy,
    admin: Any,
    bucket: str,
    replica_bucket: str,
) -> None:
    buckets = (bucket, replica_bucket)
    expected = _arrange_downloads(admin, bucket)

    outcomes = Outcomes()
    downloaded: dict[str, bytes | None] = {}

    def upload(item: str) -> None:
        jpeg = make_jpeg((64, 48), color=f"#{random.Random(item).getrandbits(24):06x}")
        outcomes.uploads[item], _ = attempt(
            lambda: repo.upload_clothing_image(UPLOADER, item, jpeg, "photo.jpg")
        )

    def download(key: str) -> None:
        outcomes.downloads[key], downloaded[key] = attempt(
            lambda: repo.s3_client.download_file(key)
        )

    proxy.randomize(FAULTS)
    with ThreadPoolExecutor(THREADS) as pool:
        with outcomes.timed("uploads"):
            list(pool.map(upload, _items()))
        with outcomes.timed("downloads"):
            list(pool.map(download, expected))
    # Arranged now, directly: the uploads' listings need not copy them (moto deep-copies
    # a whole bucket per ListObjectVersions call).
    _arrange_user(admin, buckets, ERASED, items=20)
    _arrange_user(admin, buckets, BYSTANDER, items=2)
    bystander: list[Snapshot] = [snapshot(admin, b, user_prefixes(BYSTANDER)) for b in buckets]
    assert sum(len(leftovers(admin, b, ERASED)) for b in buckets) >= 300
    with outcomes.timed("erasure"):
        left_after_truthy_report = _erase_until_complete(repo, admin, buckets, outcomes)
    proxy.clear()

    half = _half_renditions(admin, bucket, outcomes.uploads)
    print(_figures(proxy, outcomes, len(half)))

    assert outcomes.unexpected() == []
    assert half == []
    corrupted = [
        key
        for key, data in downloaded.items()
        if outcomes.downloads[key] == OK and data != expected[key]
    ]
    assert corrupted == []
    assert left_after_truthy_report == []
    assert [snapshot(admin, b, user_prefixes(BYSTANDER)) for b in buckets] == bystander
    # The run exercised every kind of fault it draws from.
    assert set(proxy.stats.faults) == {kind.value for kind in FAULTS.weights}
