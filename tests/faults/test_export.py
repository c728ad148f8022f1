"""GDPR export under faults: a resumed body, a failed part, a lost completion answer.

Whatever happens, the bucket ends in one of two states: a whole, correct archive, or
nothing under exports/ and no unfinished upload.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from typing import Any

import pytest

from tests.faults.proxy import FaultKind, FaultProxy, Rule
from tests.sdk.helpers import all_versions
from wearit_storage import ExportFailed, SyncStorageRepository

MiB = 1024**2


def _arrange(admin: Any, bucket: str, user: str, sizes: list[int]) -> dict[str, bytes]:
    rng = random.Random(user)
    files = {f"clothing/{user}/c{i}/image.jpg": rng.randbytes(size) for i, size in enumerate(sizes)}
    for key, body in files.items():
        admin.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm="SHA256")
    return files


def _nothing_left(admin: Any, bucket: str) -> None:
    assert all_versions(admin, bucket, "exports/") == []
    assert admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def _archive_matches(admin: Any, bucket: str, key: str, files: dict[str, bytes]) -> None:
    body = admin.get_object(Bucket=bucket, Key=key)["Body"].read()
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    for name, data in files.items():
        assert archive.read(name) == data
    manifest = json.loads(archive.read("manifest.json"))
    assert {entry["key"] for entry in manifest["files"]} == set(files)


def test_a_body_cut_mid_stream_is_resumed_and_the_archive_is_exact(
    repo: SyncStorageRepository, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    files = _arrange(admin, bucket, "u1", [3 * MiB, 200_000])
    proxy.script(Rule(FaultKind.RESET_MID_BODY, operation="GetObject", key="c0/", nth=1))

    export = repo.export_user_files("u1")

    gets = proxy.matching(operation="GetObject")
    assert len([r for r in gets if "c0/" in r.key]) == 2  # the cut read and its resumption
    _archive_matches(admin, bucket, export.key, files)


def test_a_part_that_keeps_failing_aborts_the_upload_and_leaves_nothing(
    repo: SyncStorageRepository, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    _arrange(admin, bucket, "u1", [5 * MiB, 5 * MiB])
    proxy.script(Rule(FaultKind.ERROR500, operation="UploadPart"))

    with pytest.raises(ExportFailed) as failure:
        repo.export_user_files("u1")

    assert failure.value.http_status == 503
    assert failure.value.cleaned_up
    assert proxy.stats.operations["AbortMultipartUpload"] == 1
    _nothing_left(admin, bucket)


def test_an_unreachable_abort_is_reported_and_the_lifecycle_is_named(
    repo: SyncStorageRepository, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    _arrange(admin, bucket, "u1", [5 * MiB, 5 * MiB])
    proxy.script(
        Rule(FaultKind.ERROR500, operation="UploadPart"),
        Rule(FaultKind.RESET_BEFORE, operation="AbortMultipartUpload"),
    )

    with pytest.raises(ExportFailed, match="DeleteIncompleteMultipart") as failure:
        repo.export_user_files("u1")

    assert not failure.value.cleaned_up
    assert all_versions(admin, bucket, "exports/") == []  # never completed: no archive


def test_a_lost_completion_answer_ends_whole_or_empty(
    repo: SyncStorageRepository, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    files = _arrange(admin, bucket, "u1", [100_000, 50_000])
    # botocore retries the completion; whether S3 accepts the retry decides which end it is.
    proxy.script(Rule(FaultKind.RESET_AFTER, operation="CompleteMultipartUpload", nth=1))

    try:
        export = repo.export_user_files("u1")
    except ExportFailed:
        _nothing_left(admin, bucket)
    else:
        assert [key for key, _, _ in all_versions(admin, bucket, "exports/")] == [export.key]
        _archive_matches(admin, bucket, export.key, files)
    assert proxy.stats.faults[FaultKind.RESET_AFTER] == 1


def test_a_lost_creation_answer_leaves_no_orphan_upload(
    repo: SyncStorageRepository, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    files = _arrange(admin, bucket, "u1", [80_000])
    # moto creates the upload, the answer is lost, botocore creates a second one.
    proxy.script(Rule(FaultKind.RESET_AFTER, operation="CreateMultipartUpload", nth=1))

    export = repo.export_user_files("u1")

    assert proxy.stats.operations["CreateMultipartUpload"] == 2
    assert admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    _archive_matches(admin, bucket, export.key, files)


def test_creation_answers_lost_every_time_fail_and_leave_no_upload(
    repo: SyncStorageRepository, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    _arrange(admin, bucket, "u1", [80_000])
    proxy.script(Rule(FaultKind.RESET_AFTER, operation="CreateMultipartUpload"))

    with pytest.raises(ExportFailed) as failure:
        repo.export_user_files("u1")

    assert failure.value.cleaned_up
    assert failure.value.http_status == 503
    assert proxy.stats.operations["CreateMultipartUpload"] == 2  # both stored by moto
    _nothing_left(admin, bucket)


def test_a_body_corrupted_in_transit_fails_the_export_as_unavailable(
    repo: SyncStorageRepository, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    _arrange(admin, bucket, "u1", [300_000, 1000])
    # Its bytes are in the archive by the time the checksum fails: not resumable.
    proxy.script(Rule(FaultKind.CORRUPT_BODY, operation="GetObject", key="c0/"))

    with pytest.raises(ExportFailed, match="corrupted in transit") as failure:
        repo.export_user_files("u1")

    assert failure.value.http_status == 503
    assert proxy.stats.operations["UploadPart"] == 0  # the archive never went up
    _nothing_left(admin, bucket)
