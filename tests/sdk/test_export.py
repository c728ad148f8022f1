"""GDPR export: one streamed ZIP of a user's current objects, checked against the bucket."""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.sdk.helpers import all_versions
from wearit_storage import (
    ExportFailed,
    InvalidStorageKey,
    StorageRepository,
    SyncS3Client,
    SyncStorageRepository,
    UserExport,
)
from wearit_storage.privacy.export import MANIFEST_NAME, archive_path
from wearit_storage.s3.multipart_sink import PART_SIZE, PartSink, part_size

MiB = 1024**2


def _put(admin: Any, bucket: str, key: str, body: bytes) -> None:
    admin.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm="SHA256")


def _populate(admin: Any, bucket: str, user: str) -> dict[str, bytes]:
    """Files in every category, an overwritten key and a deleted one; returns what is
    current (what the export must hold)."""
    rng = random.Random(user)
    files = {
        f"clothing/{user}/c1/image.jpg": rng.randbytes(3000),
        f"clothing/{user}/c1/image_thumb.jpg": rng.randbytes(500),
        f"body/{user}/b1/front.jpg": rng.randbytes(4000),
        f"tryon/{user}/t1/result.jpg": rng.randbytes(2000),
        f"avatars/{user}/avatar.jpg": rng.randbytes(1000),
    }
    _put(admin, bucket, f"clothing/{user}/c1/image.jpg", b"an older version")
    for key, body in files.items():
        _put(admin, bucket, key, body)
    _put(admin, bucket, f"body/{user}/b2/gone.jpg", b"deleted: only a marker is current")
    admin.delete_object(Bucket=bucket, Key=f"body/{user}/b2/gone.jpg")
    return files


def _archive(admin: Any, bucket: str, export: UserExport) -> zipfile.ZipFile:
    body = admin.get_object(Bucket=bucket, Key=export.key)["Body"].read()
    assert len(body) == export.archive_bytes
    return zipfile.ZipFile(io.BytesIO(body))


def _manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(archive.read(MANIFEST_NAME))
    return manifest


def _uploads(admin: Any, bucket: str) -> list[str]:
    return [u["Key"] for u in admin.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def test_the_archive_holds_every_current_file_and_a_manifest_matching_the_bucket(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    files = _populate(admin, bucket, "u1")
    _populate(admin, bucket, "u10")  # "u1" is a prefix of "u10"
    _populate(admin, bucket, "u2")
    _put(admin, bucket, "temp/u1/upload.jpg", b"keyed by session, not by user")

    export = repo.export_user_files("u1")

    assert export.key == f"exports/u1/{export.export_id}.zip"
    assert (export.objects, export.bytes) == (len(files), sum(map(len, files.values())))
    archive = _archive(admin, bucket, export)
    assert archive.testzip() is None  # every CRC checks out
    assert sorted(archive.namelist()) == sorted([*files, MANIFEST_NAME])
    for key, body in files.items():
        assert archive.read(key) == body
        assert archive.getinfo(key).compress_type == zipfile.ZIP_STORED
    manifest = _manifest(archive)
    assert (manifest["user_id"], manifest["export_id"]) == ("u1", export.export_id)
    assert (manifest["objects"], manifest["bytes"]) == (export.objects, export.bytes)
    assert {entry["key"] for entry in manifest["files"]} == set(files)
    for entry in manifest["files"]:
        head = admin.head_object(Bucket=bucket, Key=entry["key"])
        assert entry["path"] == entry["key"]
        assert entry["size"] == head["ContentLength"] == len(files[entry["key"]])
        assert entry["sha256"] == hashlib.sha256(files[entry["key"]]).hexdigest()
        assert entry["version_id"] == head["VersionId"]
        assert entry["last_modified"] == head["LastModified"].isoformat().replace("+00:00", "Z")


def test_the_download_url_forces_an_attachment_and_expires_soon(
    repo: SyncStorageRepository, client: SyncS3Client, admin: Any, bucket: str
) -> None:
    _populate(admin, bucket, "u1")

    export = repo.export_user_files("u1")

    query = parse_qs(urlsplit(export.url).query)
    assert query["response-content-disposition"] == [
        f'attachment; filename="wearit-export-{export.export_id}.zip"'
    ]
    assert query["response-content-type"] == ["application/zip"]
    assert int(query["X-Amz-Expires"][0]) == export.expires_in
    assert export.expires_in == client.settings.body_get_expiry_s <= 300
    head = admin.head_object(Bucket=bucket, Key=export.key)
    assert head["ContentType"] == "application/zip"
    assert head["ContentDisposition"].startswith("attachment")


def test_an_empty_user_gets_an_archive_with_an_empty_manifest(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    export = repo.export_user_files("nobody")

    assert (export.objects, export.bytes) == (0, 0)
    archive = _archive(admin, bucket, export)
    assert archive.namelist() == [MANIFEST_NAME]
    assert _manifest(archive)["files"] == []


def test_large_files_stream_through_several_parts(
    repo: SyncStorageRepository, client: SyncS3Client, admin: Any, bucket: str
) -> None:
    rng = random.Random(7)
    files = {f"tryon/u1/t{i}/result.jpg": rng.randbytes(4 * MiB + i) for i in range(5)}
    for key, body in files.items():
        _put(admin, bucket, key, body)
    parts: list[int] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        parts.append(len(params["Body"]))

    client.boto_client.meta.events.register("provide-client-params.s3.UploadPart", record)

    export = repo.export_user_files("u1")

    archive = _archive(admin, bucket, export)
    for key, body in files.items():
        assert archive.read(key) == body
    assert len(parts) == 3  # 20 MiB of files: two full 8 MiB parts and the tail
    assert parts[:2] == [PART_SIZE, PART_SIZE]
    assert sum(parts) == export.archive_bytes
    assert _uploads(admin, bucket) == []


def test_exports_and_their_manifests_never_include_exports(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    _populate(admin, bucket, "u1")
    first = repo.export_user_files("u1")

    second = repo.export_user_files("u1")

    assert second.key != first.key  # a new export id each time
    names = _archive(admin, bucket, second).namelist()
    assert not [name for name in names if name.startswith("exports/")]
    assert second.objects == first.objects


def test_a_failing_upload_part_aborts_and_leaves_nothing_then_a_retry_starts_clean(
    repo: SyncStorageRepository, client: SyncS3Client, admin: Any, bucket: str
) -> None:
    rng = random.Random(3)
    for i in range(3):
        _put(admin, bucket, f"body/u1/b{i}/front.jpg", rng.randbytes(4 * MiB))
    calls = 0

    def fail_the_second_part(**_: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "UploadPart")

    client.boto_client.meta.events.register("before-call.s3.UploadPart", fail_the_second_part)

    with pytest.raises(ExportFailed, match="aborted") as failure:
        repo.export_user_files("u1")

    assert failure.value.cleaned_up
    assert calls == 2  # nothing more went up once the export had failed
    assert failure.value.http_status == 403  # the cause's status
    assert failure.value.code == "export_failed"
    assert failure.value.key is not None
    assert failure.value.key.startswith("exports/u1/")
    assert _uploads(admin, bucket) == []
    assert all_versions(admin, bucket, "exports/") == []

    retried = repo.export_user_files("u1")

    assert retried.key != failure.value.key
    assert retried.objects == 3
    assert [key for key, _, _ in all_versions(admin, bucket, "exports/")] == [retried.key]


def test_a_lost_completion_answer_removes_the_stored_archive(
    repo: SyncStorageRepository, client: SyncS3Client, admin: Any, bucket: str
) -> None:
    _populate(admin, bucket, "u1")

    def lose_the_answer(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "lost"}}, "Complete")

    # after-call: S3 has stored the archive, the caller never hears it.
    client.boto_client.meta.events.register(
        "after-call.s3.CompleteMultipartUpload", lose_the_answer
    )

    with pytest.raises(ExportFailed) as failure:
        repo.export_user_files("u1")

    assert failure.value.http_status == 503
    assert all_versions(admin, bucket, "exports/") == []
    assert _uploads(admin, bucket) == []


def test_a_file_deleted_after_the_listing_is_skipped(
    repo: SyncStorageRepository, client: SyncS3Client, admin: Any, bucket: str
) -> None:
    files = _populate(admin, bucket, "u1")
    victim = "body/u1/b1/front.jpg"

    def delete_before_reading(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == victim:
            admin.delete_object(Bucket=bucket, Key=victim)

    client.boto_client.meta.events.register(
        "provide-client-params.s3.GetObject", delete_before_reading
    )

    export = repo.export_user_files("u1")

    names = _archive(admin, bucket, export).namelist()
    assert victim not in names
    assert export.objects == len(files) - 1


def test_a_403_for_a_file_deleted_after_the_listing_is_skipped_but_a_real_denial_fails(
    repo: SyncStorageRepository, client: SyncS3Client, admin: Any, bucket: str
) -> None:
    files = _populate(admin, bucket, "u1")
    gone, denied = "body/u1/b1/front.jpg", "tryon/u1/t1/result.jpg"
    refused: set[str] = {gone}

    def answer_like_the_api_role(params: dict[str, Any], **_: Any) -> None:
        # What AWS answers the API role (no unconditional s3:ListBucket) for a missing key.
        if params["Key"] in refused:
            if params["Key"] == gone:
                admin.delete_object(Bucket=bucket, Key=gone)
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "m"}}, "GetObject")

    client.boto_client.meta.events.register(
        "provide-client-params.s3.GetObject", answer_like_the_api_role
    )

    export = repo.export_user_files("u1")

    assert gone not in _archive(admin, bucket, export).namelist()
    assert export.objects == len(files) - 1

    refused.add(denied)  # still listed: a real refusal, not a deletion

    with pytest.raises(ExportFailed) as failure:
        repo.export_user_files("u1")

    assert failure.value.http_status == 403
    assert [key for key, _, _ in all_versions(admin, bucket, "exports/")] == [export.key]


def test_progress_counts_files_and_bytes(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    files = _populate(admin, bucket, "u1")
    seen: list[tuple[int, int]] = []

    repo.export_user_files("u1", progress=lambda objects, size: seen.append((objects, size)))

    assert [objects for objects, _ in seen] == list(range(1, len(files) + 1))
    assert seen[-1][1] == sum(map(len, files.values()))


def test_the_user_id_is_validated_before_any_request(repo: SyncStorageRepository) -> None:
    with pytest.raises(InvalidStorageKey):
        repo.export_user_files("../u1")


def test_erasure_removes_the_users_exports_and_only_theirs(
    repo: SyncStorageRepository, admin: Any, bucket: str, replica_bucket: str
) -> None:
    _populate(admin, bucket, "u1")
    _populate(admin, bucket, "u10")
    repo.export_user_files("u1")
    repo.export_user_files("u1")
    kept = repo.export_user_files("u10")

    report = repo.delete_user_files("u1")

    assert report
    assert report.deleted[bucket]["exports"].versions_deleted == 2
    assert "exports" not in report.deleted[replica_bucket]  # never replicated, never listed
    assert [key for key, _, _ in all_versions(admin, bucket, "exports/")] == [kept.key]


def test_unsafe_keys_get_a_safe_member_name() -> None:
    assert archive_path("clothing/u1/c1/image.jpg") == "clothing/u1/c1/image.jpg"
    for unsafe in ("clothing/u1/../../etc/passwd", "clothing/u1//x", "body/u1/a\\b", "a/\x00"):
        assert archive_path(unsafe).startswith("other/")
    assert archive_path("clothing/u1/../x") != archive_path("clothing/u1/../y")


def test_part_sizes_grow_so_ten_thousand_parts_hold_a_large_archive() -> None:
    assert part_size(1) == part_size(2500) == 8 * MiB
    assert part_size(2501) == 16 * MiB
    assert part_size(10_000) == 32 * MiB
    assert sum(part_size(n) for n in range(1, 10_001)) >= 200 * 1024**3


async def test_the_async_twin_exports_on_the_pool(
    async_repo: StorageRepository, admin: Any, bucket: str
) -> None:
    files = _populate(admin, bucket, "u1")

    export = await async_repo.export_user_files("u1")

    assert export.objects == len(files)
    assert (
        _archive(admin, bucket, export).read("avatars/u1/avatar.jpg")
        == (files["avatars/u1/avatar.jpg"])
    )


class _RecordingParts:
    """Stands in for boto3: records each part's size, and how full the sink's buffer is."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def upload_part(self, **params: Any) -> dict[str, str]:
        self.sizes.append(len(params["Body"]))
        return {"ETag": f'"{params["PartNumber"]}"'}


@pytest.mark.parametrize("write_size", [4097, 1 * MiB + 3, 5 * MiB, 9 * MiB, 20 * MiB])
def test_the_sink_holds_at_most_one_part_and_sends_full_parts(write_size: int) -> None:
    parts = _RecordingParts()
    sink = PartSink(parts, "b", "exports/u/e.zip", "upload", base=5 * MiB)  # type: ignore[arg-type]
    total = 17 * MiB + 11
    chunk = b"x" * write_size
    written, peak = 0, 0
    while written < total:
        written += sink.write(chunk[: total - written])
        peak = max(peak, len(sink._buffer))
    assert sink.tell() == total
    sink.finish()
    assert parts.sizes == [5 * MiB, 5 * MiB, 5 * MiB, 2 * MiB + 11]
    assert peak < 5 * MiB  # a full part leaves at once, in the buffer it was filled in
    assert [part["PartNumber"] for part in sink.parts] == [1, 2, 3, 4]


def test_zip64_records_are_written_when_sizes_or_counts_need_them(
    repo: SyncStorageRepository, admin: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limits are zipfile's module globals: lowered, 3 KB files and 6 entries need zip64
    # exactly as 4 GiB files and 65,536 entries would.
    files = {f"body/u1/b{i}/front.jpg": random.Random(i).randbytes(3000) for i in range(5)}
    for key, body in files.items():
        _put(admin, bucket, key, body)
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 2000)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 3)

    export = repo.export_user_files("u1")

    monkeypatch.undo()
    raw = admin.get_object(Bucket=bucket, Key=export.key)["Body"].read()
    assert b"PK\x06\x06" in raw  # the zip64 end of central directory record
    archive = zipfile.ZipFile(io.BytesIO(raw))
    assert archive.testzip() is None
    for key, body in files.items():
        assert archive.read(key) == body
    assert len(_manifest(archive)["files"]) == len(files)


def test_avif_renditions_are_exported_counted_and_erased_with_the_jpegs(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    # Export, usage and erasure work by prefix: the AVIFs beside the JPEGs are the user's
    # files like any other, so each of the three must see them.
    stored = repo.store_clothing_image("u1", "c1", jpeg, "photo.jpg")
    repo.store_avatar("u1", jpeg, "me.jpg")
    assert stored.main_avif is not None
    assert stored.thumbnail_avif is not None
    avifs = {
        "clothing/u1/c1/photo.avif",
        "clothing/u1/c1/photo_thumb.avif",
        "avatars/u1/me.avif",
        "avatars/u1/me_thumb.avif",
    }
    assert {stored.main_avif.key, stored.thumbnail_avif.key} < avifs

    export = repo.export_user_files("u1")
    archive = _archive(admin, bucket, export)
    listed = {entry["key"]: entry for entry in _manifest(archive)["files"]}
    assert avifs < set(listed)
    for key in avifs:
        entry = listed[key]
        assert entry["path"] == key  # a key like any other, not under other/
        assert archive.read(entry["path"])[4:12] == b"ftypavif"

    usage = repo.user_storage_usage("u1")
    assert usage.categories["clothing"].objects == 4
    assert usage.categories["avatars"].objects == 4

    assert repo.delete_user_files("u1")
    assert all_versions(admin, bucket, "clothing/u1/") == []
    assert all_versions(admin, bucket, "avatars/u1/") == []
