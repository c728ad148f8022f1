"""wearit_local.moto_patches: ListObjectVersions must not retain copies of the versions.

(The two fixtures below mirror
tests/local/conftest.py's ``moto_endpoint`` and ``scratch_endpoint``.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wearit_local.clients import emulator_client
from wearit_local.server import MotoServerProcess, running_moto_server

MIB = 1 << 20


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with running_moto_server() as endpoint:
        yield endpoint


def _versioned_bucket(endpoint: str, name: str, versions: int, size: int) -> Any:
    s3 = emulator_client("s3", endpoint)
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    body = os.urandom(size)
    for i in range(versions):
        s3.put_object(Bucket=name, Key=f"k{i % 3}", Body=body)
    s3.delete_object(Bucket=name, Key="k0")  # a delete marker, copied with the version it hides
    return s3


def test_listing_versions_keeps_no_copy_of_them(moto_endpoint: str) -> None:
    from moto.s3.models import FakeDeleteMarker, FakeKey

    s3 = _versioned_bucket(moto_endpoint, "listing-copies", versions=6, size=1000)

    def tracked() -> tuple[int, int]:
        # moto's BaseModel keeps every instance it creates in a class-level list.
        keys: list[Any] = getattr(FakeKey, "instances_tracked")  # noqa: B009
        markers: list[Any] = getattr(FakeDeleteMarker, "instances_tracked")  # noqa: B009
        return len(keys), len(markers)

    before = tracked()
    for _ in range(3):
        page = s3.list_object_versions(Bucket="listing-copies", Prefix="k1", MaxKeys=1)
    assert tracked() == before
    assert page["Versions"][0]["IsLatest"] is True
    listing = s3.list_object_versions(Bucket="listing-copies")
    assert sum(v["IsLatest"] for v in listing["Versions"]) == 2  # k1, k2; k0 is hidden
    assert [m["IsLatest"] for m in listing["DeleteMarkers"]] == [True]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the child's RSS from /proc")
def test_the_child_server_memory_does_not_grow_with_listings() -> None:
    with MotoServerProcess() as server:
        assert server.pid is not None
        s3 = _versioned_bucket(server.endpoint_url, "listing-rss", versions=30, size=MIB)
        before = _rss_mib(server.pid)
        for _ in range(10):
            s3.list_object_versions(Bucket="listing-rss", Prefix="k1", MaxKeys=1)
        # Unpatched, each listing kept a copy of all 30 MiB: +300 MiB here.
        assert _rss_mib(server.pid) - before < 30
