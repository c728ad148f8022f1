"""Reads survive a primary-region outage: the proxy answers 503 from the primary bucket on
every attempt, and the bytes come from the replica, byte-exact; writes never go there.

The replica holds copies made here (moto runs no replication), with the same keys.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults.conftest import MAX_ATTEMPTS
from tests.faults.proxy import FaultKind, FaultProxy, Rule
from tests.sdk.helpers import all_versions, make_jpeg
from wearit_storage import (
    ObjectNotFound,
    OperationMetric,
    StorageSettings,
    StorageUnavailable,
    SyncStorageRepository,
)

KEY = "clothing/u1/c1/photo.jpg"


@pytest.fixture
def metrics() -> list[OperationMetric]:
    return []


@pytest.fixture
def fallback_repo(
    settings: StorageSettings, metrics: list[OperationMetric]
) -> Iterator[SyncStorageRepository]:
    """As the API, the workers and the CLI build it: the replica client comes with it."""
    with SyncStorageRepository.from_settings(settings, metrics_hook=metrics.append) as repo:
        yield repo


def replicate(admin: Any, bucket: str, replica_bucket: str, key: str, data: bytes) -> None:
    for target in (bucket, replica_bucket):
        admin.put_object(Bucket=target, Key=key, Body=data, ChecksumAlgorithm="SHA256")


def primary_down(proxy: FaultProxy, bucket: str, operation: str = "GetObject") -> None:
    proxy.script(Rule(FaultKind.SLOWDOWN, operation=operation, bucket=bucket))


def fallbacks(metrics: list[OperationMetric]) -> list[str]:
    return [m.key for m in metrics if m.operation == "replica_fallback"]


def test_a_download_the_primary_keeps_refusing_comes_from_the_replica(
    fallback_repo: SyncStorageRepository,
    proxy: FaultProxy,
    admin: Any,
    bucket: str,
    replica_bucket: str,
    metrics: list[OperationMetric],
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = random.Random(KEY).randbytes(300_000)
    replicate(admin, bucket, replica_bucket, KEY, data)
    primary_down(proxy, bucket)

    assert fallback_repo.download_clothing_image("u1", "c1", "photo.jpg") == data

    gets = proxy.matching(operation="GetObject", key=KEY)
    refused = [r for r in gets if r.fault is FaultKind.SLOWDOWN]
    served = [r for r in gets if r.fault is None]
    assert len(refused) == MAX_ATTEMPTS  # botocore's retries on the primary, all refused
    assert len(served) == 1  # then one GET of the replica
    assert fallbacks(metrics) == [KEY]
    assert "serving it from the replica" in caplog.text


def test_the_cli_download_reads_the_replica_too(
    fallback_repo: SyncStorageRepository,
    proxy: FaultProxy,
    admin: Any,
    bucket: str,
    replica_bucket: str,
) -> None:
    # The CLI's download is the repository's client: download_file and download_to_file.
    data = make_jpeg((64, 64))
    replicate(admin, bucket, replica_bucket, "avatars/u1/me.jpg", data)
    primary_down(proxy, bucket)
    assert fallback_repo.s3_client.download_file("avatars/u1/me.jpg") == data


def test_the_export_reads_the_replica_and_writes_the_archive_to_the_primary(
    fallback_repo: SyncStorageRepository,
    proxy: FaultProxy,
    admin: Any,
    bucket: str,
    replica_bucket: str,
    metrics: list[OperationMetric],
) -> None:
    rng = random.Random("export")
    files = {f"tryon/u1/t{i}/result.jpg": rng.randbytes(50_000 + i) for i in range(3)}
    for key, data in files.items():
        replicate(admin, bucket, replica_bucket, key, data)
    primary_down(proxy, bucket)

    export = fallback_repo.export_user_files("u1")

    archive = zipfile.ZipFile(
        io.BytesIO(admin.get_object(Bucket=bucket, Key=export.key)["Body"].read())
    )
    assert {name: archive.read(name) for name in files} == files
    assert sorted(fallbacks(metrics)) == sorted(files)
    assert all_versions(admin, replica_bucket, "exports/") == []  # written to the primary only


def test_writes_never_go_to_the_replica(
    fallback_repo: SyncStorageRepository,
    proxy: FaultProxy,
    admin: Any,
    replica_bucket: str,
    bucket: str,
) -> None:
    primary_down(proxy, bucket, operation="PutObject")
    with pytest.raises(StorageUnavailable):
        fallback_repo.upload_clothing_image("u1", "c2", make_jpeg((64, 64)), "new.jpg")
    assert all_versions(admin, replica_bucket) == []


def test_a_missing_object_is_an_answer_not_an_outage(
    fallback_repo: SyncStorageRepository,
    admin: Any,
    replica_bucket: str,
    metrics: list[OperationMetric],
) -> None:
    # Only the replica has it (say, deleted since): the primary's 404 stands.
    admin.put_object(Bucket=replica_bucket, Key=KEY, Body=b"stale")
    with pytest.raises(ObjectNotFound):
        fallback_repo.s3_client.download_file(KEY)
    assert fallbacks(metrics) == []


def test_keys_that_are_not_replicated_do_not_fall_back(
    fallback_repo: SyncStorageRepository, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    admin.put_object(Bucket=bucket, Key="temp/sess-1/photo.jpg", Body=b"raw")
    primary_down(proxy, bucket)
    with pytest.raises(StorageUnavailable):
        fallback_repo.s3_client.download_file("temp/sess-1/photo.jpg")


def test_without_a_replica_the_outage_is_reported(
    settings: StorageSettings,
    proxy: FaultProxy,
    admin: Any,
    bucket: str,
    replica_bucket: str,
) -> None:
    replicate(admin, bucket, replica_bucket, KEY, b"bytes")
    primary_down(proxy, bucket)
    alone = StorageSettings(
        region=settings.region,
        bucket_name=settings.bucket_name,
        access_key="testing",
        secret_key="testing",
        endpoint_url=settings.endpoint_url,
        max_attempts=MAX_ATTEMPTS,
    )
    with SyncStorageRepository.from_settings(alone) as repo, pytest.raises(StorageUnavailable):
        repo.s3_client.download_file(KEY)
