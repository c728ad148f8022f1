"""True erasure: every version and delete marker, primary and replica, nobody else's."""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from tests.sdk.helpers import all_versions
from wearit_storage import (
    ErasureIncomplete,
    OperationMetric,
    StorageSettings,
    StorageUnavailable,
    SyncS3Client,
    SyncStorageRepository,
)
from wearit_storage.categories import ERASED_CATEGORIES, Category
from wearit_storage.privacy.erasure import ErasureReport, ErasureTarget, erase_prefixes


def _populate(client: SyncS3Client, user_id: str) -> None:
    client.put_object(b"v1", f"clothing/{user_id}/c1/image.jpg")
    client.put_object(b"v2", f"clothing/{user_id}/c1/image.jpg")  # noncurrent version
    client.put_object(b"t", f"clothing/{user_id}/c1/thumb.jpg")
    client.put_object(b"b", f"body/{user_id}/b1/front.jpg")
    client.delete_file(f"body/{user_id}/b1/front.jpg")  # the seed's "deletion": a marker
    client.put_object(b"r", f"tryon/{user_id}/t1/result.jpg")
    client.put_object(b"a", f"avatars/{user_id}/avatar.jpg")


def test_delete_user_files_erases_every_version_in_both_buckets(
    repo: SyncStorageRepository,
    client: SyncS3Client,
    replica_client: SyncS3Client,
    admin: Any,
    bucket: str,
    replica_bucket: str,
) -> None:
    for target in (client, replica_client):
        _populate(target, "u1")
        _populate(target, "u10")  # "u1" is a prefix of "u10"
        _populate(target, "u2")
    client.put_object(b"s", "temp/u1/upload.jpg")  # temp/ is keyed by session, not user
    others_before = {
        b: sorted(
            v for v in all_versions(admin, b) if "/u1/" not in v[0] or v[0].startswith("temp/")
        )
        for b in (bucket, replica_bucket)
    }

    report = repo.delete_user_files("u1")

    assert report
    assert report.complete
    assert report.failures == []
    assert report.remaining == {bucket: 0, replica_bucket: 0}
    for b in (bucket, replica_bucket):
        counts = report.deleted[b]
        assert (counts["clothing"].versions_deleted, counts["clothing"].delete_markers_deleted) == (
            3,
            0,
        )
        assert (counts["body"].versions_deleted, counts["body"].delete_markers_deleted) == (1, 1)
        assert counts["tryon"].versions_deleted == 1
        assert counts["avatars"].versions_deleted == 1
        remaining = all_versions(admin, b)
        assert not [v for v in remaining if "/u1/" in v[0] and not v[0].startswith("temp/")]
        assert sorted(remaining) == others_before[b]  # u10, u2 and temp untouched
    assert report.versions_deleted == 12
    assert report.delete_markers_deleted == 2


def test_erasing_a_user_with_nothing_stored_is_truthy(repo: SyncStorageRepository) -> None:
    report = repo.delete_user_files("nobody")
    assert report
    assert report.versions_deleted == 0


def test_delete_user_files_validates_the_user_id(repo: SyncStorageRepository) -> None:
    from wearit_storage import InvalidStorageKey

    with pytest.raises(InvalidStorageKey):
        repo.delete_user_files("")  # would otherwise erase "clothing//" ... or everything


def test_more_than_one_thousand_versions_are_paginated_and_batched(
    repo: SyncStorageRepository, client: SyncS3Client, admin: Any, bucket: str
) -> None:
    keys = [f"clothing/u1/c{i // 10}/f{i}.jpg" for i in range(1100)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda key: admin.put_object(Bucket=bucket, Key=key, Body=b"1"), keys))
    for start in range(0, len(keys), 1000):  # a delete marker on top of every object
        admin.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": key} for key in keys[start : start + 1000]]},
        )
    assert len(all_versions(admin, bucket)) == 2200
    calls: Counter[str] = Counter()
    batch_sizes: list[int] = []

    def record(model: Any, params: dict[str, Any], **kwargs: Any) -> None:
        calls[model.name] += 1
        if model.name == "DeleteObjects":
            batch_sizes.append(len(params["Delete"]["Objects"]))
            assert params["Delete"]["Quiet"] is True

    client.boto_client.meta.events.register("provide-client-params.s3", record)

    report = SyncStorageRepository(client).delete_user_files("u1")

    assert report
    assert report.deleted[bucket]["clothing"].versions_deleted == 1100
    assert report.deleted[bucket]["clothing"].delete_markers_deleted == 1100
    assert batch_sizes == [1000, 1000, 200]
    assert calls["ListObjectVersions"] >= 3 + 5  # clothing needs 3 pages, then re-checks
    assert all_versions(admin, bucket) == []


def test_batches_are_shared_across_categories_and_progress_is_reported(
    client: SyncS3Client, admin: Any, bucket: str
) -> None:
    keys = [f"clothing/u7/c{i}/image.jpg" for i in range(600)]
    keys += [f"body/u7/b{i}/image.jpg" for i in range(600)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda key: admin.put_object(Bucket=bucket, Key=key, Body=b"1"), keys))
    batch_sizes: list[int] = []

    def record(model: Any, params: dict[str, Any], **kwargs: Any) -> None:
        if model.name == "DeleteObjects":
            batch_sizes.append(len(params["Delete"]["Objects"]))

    client.boto_client.meta.events.register("provide-client-params.s3", record)
    progress: list[int] = []
    report = erase_prefixes(
        [ErasureTarget(client.boto_client, bucket)],
        [(Category.CLOTHING, "clothing/u7/"), (Category.BODY, "body/u7/")],
        ErasureReport("user u7"),
        progress=progress.append,
    )
    assert report
    # ceil(1200 / 1000) calls, not one partial batch per category.
    assert batch_sizes == [1000, 200]
    assert progress == [1000, 1200]
    assert report.deleted[bucket]["clothing"].versions_deleted == 600
    assert report.deleted[bucket]["body"].versions_deleted == 600


def test_unfinished_multipart_uploads_are_aborted(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    # A large body photo whose upload never completed: its parts are stored user data.
    upload = admin.create_multipart_upload(Bucket=bucket, Key="body/u5/b1/image.jpg")
    admin.upload_part(
        Bucket=bucket,
        Key="body/u5/b1/image.jpg",
        UploadId=upload["UploadId"],
        PartNumber=1,
        Body=b"p" * 1024,
    )
    other = admin.create_multipart_upload(Bucket=bucket, Key="body/u50/b1/image.jpg")

    report = repo.delete_user_files("u5")

    assert report
    assert report.deleted[bucket]["body"].multipart_uploads_aborted == 1
    left = admin.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [(u["Key"], u["UploadId"]) for u in left] == [
        ("body/u50/b1/image.jpg", other["UploadId"])
    ]


class _DeleteFailureInjector:
    """Makes DeleteObjects skip ``key`` and report it in ``Errors``, ``times`` times.

    S3 rejects an empty ``Objects`` list, so a batch holding only that key never leaves
    the client: ``before-call`` answers it with an empty 200 response.
    """

    def __init__(self, boto_client: Any, key: str, times: int, code: str = "InternalError") -> None:
        self.key, self.remaining, self.code = key, times, code
        self.skipped: list[dict[str, str]] = []
        self.nothing_left = False
        events = boto_client.meta.events
        events.register("provide-client-params.s3.DeleteObjects", self.drop)
        events.register("before-call.s3.DeleteObjects", self.short_circuit)
        events.register("after-call.s3.DeleteObjects", self.report)

    def drop(self, params: dict[str, Any], **kwargs: Any) -> None:
        objects = params["Delete"]["Objects"]
        self.skipped = [o for o in objects if o["Key"] == self.key] if self.remaining > 0 else []
        if self.skipped:
            self.remaining -= 1
            params["Delete"]["Objects"] = [o for o in objects if o["Key"] != self.key]
        self.nothing_left = not params["Delete"]["Objects"]

    def short_circuit(self, **kwargs: Any) -> tuple[Any, dict[str, Any]] | None:
        if not self.nothing_left:
            return None
        return AWSResponse("http://injected", 200, {}, None), {}

    def report(self, parsed: dict[str, Any], **kwargs: Any) -> None:
        for entry in self.skipped:
            parsed.setdefault("Errors", []).append(
                {
                    "Key": entry["Key"],
                    "VersionId": entry["VersionId"],
                    "Code": self.code,
                    "Message": "injected",
                }
            )
        self.skipped = []


def test_per_key_errors_are_retried_with_backoff(
    client: SyncS3Client, admin: Any, bucket: str
) -> None:
    for name in ("a", "b", "c"):
        client.put_object(b"x", f"clothing/u1/c1/{name}.jpg")
    injector = _DeleteFailureInjector(client.boto_client, "clothing/u1/c1/b.jpg", times=2)
    sleeps: list[float] = []
    report = erase_prefixes(
        [ErasureTarget(client.boto_client, bucket)],
        [(Category.CLOTHING, "clothing/u1/")],
        ErasureReport("user u1"),
        retries=3,
        backoff_s=0.1,
        sleep=sleeps.append,
    )
    assert injector.remaining == 0
    assert sleeps == [0.1, 0.2]  # exponential backoff between the retries
    assert report
    assert report.deleted[bucket]["clothing"].versions_deleted == 3
    assert all_versions(admin, bucket) == []


def test_persistent_failures_are_reported_and_the_report_is_falsy(
    repo: SyncStorageRepository,
    client: SyncS3Client,
    replica_client: SyncS3Client,
    admin: Any,
    bucket: str,
) -> None:
    stuck = client.put_object(b"x", "body/u1/b1/front.jpg")
    client.put_object(b"y", "body/u1/b1/side.jpg")
    replica_client.put_object(b"z", "body/u1/b1/front.jpg")
    _DeleteFailureInjector(client.boto_client, stuck.key, times=100, code="AccessDenied")

    report = repo.delete_user_files("u1")

    assert not report
    assert len(report.failures) == 1
    failure = report.failures[0]
    assert (failure.bucket, failure.key, failure.version_id, failure.code) == (
        bucket,
        "body/u1/b1/front.jpg",
        stuck.version_id,
        "AccessDenied",
    )
    assert report.remaining[bucket] == 1  # verified by the final listing
    assert report.deleted[bucket]["body"].versions_deleted == 1
    assert sum(report.remaining.values()) == 1  # the replica was still erased
    with pytest.raises(ErasureIncomplete, match="1 failure"):
        report.raise_if_incomplete()
    assert [v[0] for v in all_versions(admin, bucket)] == ["body/u1/b1/front.jpg"]


def test_an_incomplete_erasure_is_a_failed_operation_in_logs_and_metrics(
    settings: StorageSettings, caplog: pytest.LogCaptureFixture
) -> None:
    metrics: list[OperationMetric] = []
    with SyncStorageRepository.from_settings(
        settings, metrics_hook=metrics.append, erasure_backoff_s=0.0
    ) as repository:
        stuck = repository.s3_client.put_object(b"x", "body/u1/b1/front.jpg")
        _DeleteFailureInjector(repository.s3_client.boto_client, stuck.key, times=100)
        with caplog.at_level(logging.ERROR, logger="wearit_storage"):
            assert not repository.delete_user_files("u1")
    erase = [m for m in metrics if m.operation == "erase"]
    assert [(m.outcome, m.error) for m in erase] == [("error", "ErasureIncomplete")]
    failed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("storage erase")]
    assert len(failed) == 1
    assert "error=ErasureIncomplete: erasure of user u1 incomplete: 1 failure(s)" in failed[0]


def test_delete_clothing_item_erases_only_that_item(
    repo: SyncStorageRepository,
    client: SyncS3Client,
    replica_client: SyncS3Client,
    admin: Any,
    bucket: str,
    replica_bucket: str,
) -> None:
    for target in (client, replica_client):
        target.put_object(b"1", "clothing/u1/c1/image.jpg")
        target.put_object(b"2", "clothing/u1/c1/image.jpg")
        target.put_object(b"t", "clothing/u1/c1/thumb.jpg")
        target.delete_file("clothing/u1/c1/thumb.jpg")
        target.put_object(b"3", "clothing/u1/c10/image.jpg")  # c1 is a prefix of c10
        target.put_object(b"4", "clothing/u2/c1/image.jpg")
    report = repo.delete_clothing_item("u1", "c1")
    assert report
    assert report.deleted[bucket]["clothing"].versions_deleted == 3
    assert report.deleted[bucket]["clothing"].delete_markers_deleted == 1
    for b in (bucket, replica_bucket):
        assert sorted(v[0] for v in all_versions(admin, b)) == [
            "clothing/u1/c10/image.jpg",
            "clothing/u2/c1/image.jpg",
        ]


def test_erasing_while_the_storage_is_unreachable_raises_instead_of_reporting_zero(
    settings: StorageSettings,
) -> None:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        unreachable = dataclasses.replace(
            settings,
            endpoint_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
            replica_bucket_name=None,
            replica_region=None,
            max_attempts=1,
        )
        with (
            SyncStorageRepository.from_settings(unreachable) as repository,
            pytest.raises(StorageUnavailable, match="unreachable"),
        ):
            repository.delete_user_files("u1")


def test_a_failed_final_listing_leaves_the_remainder_unknown_not_zero(
    repo: SyncStorageRepository, client: SyncS3Client, bucket: str
) -> None:
    client.put_object(b"x", "body/u1/b1/front.jpg")
    listings = 0

    def fail_the_final_listings(**kwargs: Any) -> None:
        nonlocal listings
        listings += 1
        if listings > len(ERASED_CATEGORIES):  # the first pass lists each category once
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "m"}}, "List")

    client.boto_client.meta.events.register(
        "before-call.s3.ListObjectVersions", fail_the_final_listings
    )
    report = repo.delete_user_files("u1")
    assert not report
    assert bucket in report.unverified
    assert "unknown in" in report.summary()
