"""GDPR export (right of access and portability): one ZIP of every current object a user
owns, streamed from S3 into a multipart upload at ``exports/{user_id}/{export_id}.zip``.

Memory stays bounded whatever the user owns: each object's body is read in
``CHUNK_SIZE`` pieces straight into :mod:`zipfile` (``ZIP_STORED``: photos are JPEGs
already, recompressing them costs CPU and saves nothing), which writes into
:class:`PartSink`, a write-only file that uploads each full part with ``UploadPart`` and
drops it. At most one part (8 MiB, larger only past 20 GiB of archive) plus one chunk is
held; the manifest's entries are spooled to a temporary file once past 1 MiB.

``manifest.json`` (last in the archive, because checksums are known only once the bodies
have streamed) lists every file: its original key, its path in the archive, size,
last-modified date (ISO 8601, UTC), the version exported and the SHA-256 of the bytes
written into the archive, computed while streaming.

Honest under faults: a body cut mid-stream is resumed with a ranged GET of the same
version (and its SHA-256 compared with the one S3 stored, when there is one); anything
else that fails aborts the multipart upload (and, if the completion's answer was lost,
deletes what it may have stored), then raises :class:`ExportFailed`. No partial archive is
left behind; a retry is a new export with a new id, never a continuation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from wearit_storage.categories import USER_CATEGORIES
from wearit_storage.errors import ExportFailed, StorageError, StorageUnavailable
from wearit_storage.observability import logger
from wearit_storage.paths import export_key, new_export_id, user_prefix, validate_id
from wearit_storage.s3.client import BODY_ERRORS, SyncS3Client
from wearit_storage.s3.multipart_sink import PART_SIZE, PartSink, abort_upload, abort_uploads_of
from wearit_storage.s3.transport import CHECKSUM_ALGORITHM, error_code, translate_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as BotoS3Client

MiB: Final = 1024**2
#: Read size of each object body: the unit of memory per object, whatever its size.
CHUNK_SIZE: Final = 1 * MiB
MANIFEST_NAME: Final = "manifest.json"
_MANIFEST_SPOOL_BYTES: Final = 1 * MiB
_ZIP_EPOCH: Final = (1980, 1, 1, 0, 0, 0)  # the earliest date a ZIP entry can carry
_RESUME_BACKOFF_S: Final = 0.1

#: Called after each file with the running count of files and bytes written.
ExportProgress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class UserExport:
    """A finished export: where the archive is and a link that downloads it."""

    user_id: str
    export_id: str
    key: str
    objects: int  # files in the archive, manifest not counted
    bytes: int  # bytes of those files
    archive_bytes: int  # size of the ZIP
    # A bearer URL (presigned GET, Content-Disposition: attachment): out of the repr, so
    # logging an export never logs a credential.
    url: str = field(repr=False)
    expires_in: int  # seconds the URL stays valid
    version_id: str | None


@dataclass(frozen=True, slots=True)
class ExportedFile:
    key: str
    path: str  # name inside the archive
    size: int
    last_modified: str
    sha256: str
    version_id: str | None

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "path": self.path,
            "size": self.size,
            "last_modified": self.last_modified,
            "sha256": self.sha256,
            "version_id": self.version_id,
        }


def export_user_files(
    client: SyncS3Client,
    user_id: str,
    *,
    progress: ExportProgress | None = None,
    base_part_size: int = PART_SIZE,
) -> UserExport:
    """Write every current object under the user's categories into one new archive.

    Raises :class:`InvalidStorageKey` for a bad user id (before any request) and
    :class:`ExportFailed` for anything that stops the export, after its multipart upload
    was aborted.
    """
    validate_id(user_id, field="user_id")
    export_id = new_export_id()
    key = export_key(user_id, export_id)
    boto, bucket = client.boto_client, client.bucket_name
    with client.operation("export", key) as record:
        upload_id, retried = _create_upload(client, user_id, key)
        completing = False
        try:
            sink = PartSink(boto, bucket, key, upload_id, base=base_part_size)
            objects, total = _write_archive(client, user_id, export_id, sink, progress)
            parts = sink.finish()
            completing = True  # from here on, S3 may store the archive even if we fail
            response = boto.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException as exc:
            cleaned = _discard(boto, bucket, key, upload_id, completed=completing)
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt & co.: cleaned up, not wrapped
            raise _failure(exc, user_id, key, bucket, cleaned=cleaned) from exc
        if retried:
            # A retried creation may have started an upload whose answer was lost.
            abort_uploads_of(boto, bucket, key)
        record.bytes = sink.tell()
    expires_in = client.settings.body_get_expiry_s
    return UserExport(
        user_id=user_id,
        export_id=export_id,
        key=key,
        objects=objects,
        bytes=total,
        archive_bytes=sink.tell(),
        url=client.generate_presigned_url(key, expires_in),
        expires_in=expires_in,
        version_id=response.get("VersionId"),
    )


def _create_upload(client: SyncS3Client, user_id: str, key: str) -> tuple[str, bool]:
    """The new upload's id, and whether botocore had to retry the creation (then an
    earlier attempt may have created an upload too, whose answer was lost)."""
    try:
        response = client.boto_client.create_multipart_upload(
            Bucket=client.bucket_name,
            Key=key,
            ContentType="application/zip",
            ContentDisposition=f'attachment; filename="wearit-export-{key.rsplit("/", 1)[-1]}"',
            ChecksumAlgorithm=CHECKSUM_ALGORITHM,
            Metadata={"wearit-export-of": user_id},
        )
    except Exception as exc:
        # Every attempt may have created an upload that we never heard of.
        cleaned = abort_uploads_of(client.boto_client, client.bucket_name, key)
        raise _failure(exc, user_id, key, client.bucket_name, cleaned=cleaned) from exc
    retried = response.get("ResponseMetadata", {}).get("RetryAttempts", 0) > 0
    return response["UploadId"], retried


def _write_archive(
    client: SyncS3Client,
    user_id: str,
    export_id: str,
    sink: PartSink,
    progress: ExportProgress | None,
) -> tuple[int, int]:
    objects = total = 0
    with (
        tempfile.SpooledTemporaryFile(max_size=_MANIFEST_SPOOL_BYTES) as entries,
        zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf,
    ):
        try:
            for listed in _current_objects(client, user_id):
                exported = _export_object(client, zf, sink, listed)
                if exported is None:
                    continue  # deleted since it was listed: no longer the user's data
                entries.write((json.dumps(exported.manifest_entry()) + ",\n").encode())
                objects += 1
                total += exported.size
                if progress is not None:
                    progress(objects, total)
            _write_manifest(zf, entries, user_id, export_id, objects, total)
        except BaseException:
            sink.abandon()
            raise
    return objects, total


def _current_objects(client: SyncS3Client, user_id: str) -> Iterator[dict[str, Any]]:
    """Current objects (no old versions, no delete markers), one listing page at a time."""
    paginator = client.boto_client.get_paginator("list_objects_v2")
    for category in USER_CATEGORIES:
        prefix = user_prefix(category, user_id)
        for page in paginator.paginate(Bucket=client.bucket_name, Prefix=prefix):
            yield from page.get("Contents", [])


def archive_path(key: str) -> str:
    """The key itself as the member name, unless an unzip tool could misread it (``..``,
    empty or ``.`` segments, backslashes, control characters): those files go under
    ``other/`` by a digest of their key, which the manifest maps back."""
    segments = key.split("/")
    unsafe = (
        any(segment in ("", ".", "..") for segment in segments)
        or "\\" in key
        or any(ord(char) < 32 or ord(char) == 127 for char in key)
    )
    if not unsafe:
        return key
    return f"other/{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def _export_object(
    client: SyncS3Client, zf: zipfile.ZipFile, sink: PartSink, listed: dict[str, Any]
) -> ExportedFile | None:
    key: str = listed["Key"]
    try:
        response = _get(client, key, version_id=None, etag=None, offset=0)
    except ClientError as exc:
        if _deleted_since_listed(client, key, exc):
            return None
        raise
    version_id: str | None = response.get("VersionId")
    size = int(response["ContentLength"])
    modified: datetime = response["LastModified"]
    info = zipfile.ZipInfo(archive_path(key), date_time=_zip_time(modified))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = size  # decides zip64 for this entry before its header is written
    info.external_attr = 0o644 << 16  # readable after unzip, like a downloaded file
    digest = hashlib.sha256()
    with zf.open(info, mode="w") as member:
        try:
            written = _stream_body(client, key, response, size, member, digest)
        except BaseException:
            sink.abandon()  # before the entry's closing writes its data descriptor
            raise
    if written != size:
        message = f"{key!r} changed length while it was exported ({written} of {size} bytes)"
        raise ExportFailed(message, key=key, cause=StorageUnavailable(message, key=key))
    _verify_checksum(key, response, digest)
    return ExportedFile(
        key=key,
        path=info.filename,
        size=size,
        last_modified=_iso(modified),
        sha256=digest.hexdigest(),
        version_id=version_id,
    )


def _deleted_since_listed(client: SyncS3Client, key: str, exc: ClientError) -> bool:
    """Whether a failed GET means the object is gone. S3 answers a missing key with 403,
    not 404, to a role that may only list its own prefixes (the API role), so a 403 is
    settled by listing exactly that key again."""
    code = error_code(exc)
    if code in ("NoSuchKey", "404"):
        return True
    if code not in ("AccessDenied", "403"):
        return False
    listed = client.boto_client.list_objects_v2(Bucket=client.bucket_name, Prefix=key, MaxKeys=1)
    return not any(entry["Key"] == key for entry in listed.get("Contents", []))


def _get(
    client: SyncS3Client, key: str, *, version_id: str | None, etag: str | None, offset: int
) -> Any:
    extra: dict[str, Any] = {}
    # A resumed read continues the same version (unversioned bucket: the same bytes).
    if version_id is not None:
        extra["VersionId"] = version_id
    elif etag is not None:
        extra["IfMatch"] = etag
    if offset:
        extra["Range"] = f"bytes={offset}-"
    else:
        # botocore verifies a whole single-part body against the stored checksum.
        extra["ChecksumMode"] = "ENABLED"
    return client.get_object(key, **extra)  # the replica answers when the primary cannot


def _stream_body(
    client: SyncS3Client,
    key: str,
    response: Any,
    size: int,
    member: IO[bytes],
    digest: Any,
) -> int:
    """Copy the body into the archive member; a body cut mid-stream is resumed from where
    it stopped (same version), up to ``max_attempts`` reads in all. A checksum failure is
    not resumable: its bytes are in the archive already."""
    attempts = client.settings.max_attempts
    written, attempt = 0, 1
    body = response["Body"]
    while True:
        try:
            try:
                while chunk := body.read(CHUNK_SIZE):
                    member.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
            finally:
                body.close()
            return written
        except FlexibleChecksumError:
            raise
        except BODY_ERRORS as exc:
            if attempt >= attempts or written >= size:
                raise
            logger.info("export: resuming %s at byte %d after %s", key, written, exc)
            time.sleep(_RESUME_BACKOFF_S * 2 ** (attempt - 1))
            attempt += 1
            body = _get(
                client,
                key,
                version_id=response.get("VersionId"),
                etag=response.get("ETag"),
                offset=written,
            )["Body"]


def _verify_checksum(key: str, response: Any, digest: Any) -> None:
    """Compare with the SHA-256 S3 stored, when it is one of the whole object (a multipart
    object's is a checksum of its parts' checksums, ``...-N``)."""
    stored = response.get("ChecksumSHA256")
    if not stored or "-" in stored or response.get("ChecksumType") == "COMPOSITE":
        return
    if base64.b64decode(stored) != digest.digest():
        message = f"{key!r} did not match its stored SHA-256 while it was exported"
        raise ExportFailed(message, key=key, cause=StorageUnavailable(message, key=key))


def _write_manifest(
    zf: zipfile.ZipFile, entries: IO[bytes], user_id: str, export_id: str, objects: int, total: int
) -> None:
    info = zipfile.ZipInfo(MANIFEST_NAME, date_time=_zip_time(datetime.now(UTC)))
    info.compress_type = zipfile.ZIP_DEFLATED  # text: compresses ~10x, unlike the photos
    info.external_attr = 0o644 << 16
    header = {
        "user_id": user_id,
        "export_id": export_id,
        "created_at": _iso(datetime.now(UTC)),
        "objects": objects,
        "bytes": total,
        "checksum_algorithm": "SHA-256",
    }
    with zf.open(info, mode="w") as member:
        # Streamed, not built in memory: the entries were spooled one JSON object per line,
        # each followed by a comma; the last one's comma is dropped as the list closes.
        member.write(json.dumps(header)[:-1].encode() + b', "files": [\n')
        entries.seek(0)
        previous = b""
        while line := entries.readline():
            member.write(previous)
            previous = line
        member.write(previous[:-2] + b"\n]}\n" if previous else b"]}\n")


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    utc = moment.astimezone(UTC)
    stamp = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
    return max(stamp, _ZIP_EPOCH)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _discard(
    boto_client: BotoS3Client, bucket: str, key: str, upload_id: str, *, completed: bool
) -> bool:
    """Leave nothing behind: abort the upload and, if its completion was sent (its answer
    may have been lost after S3 stored the archive), delete every version of the key,
    which this export alone ever wrote. True when both are confirmed."""
    cleaned = abort_upload(boto_client, bucket, key, upload_id)
    # Uploads of this key from creation attempts whose answers were lost (rare: listed only
    # on this failure path). The key is this export's own, so every upload of it is ours.
    cleaned = abort_uploads_of(boto_client, bucket, key) and cleaned
    if completed:
        try:
            listed = boto_client.list_object_versions(Bucket=bucket, Prefix=key)
            for entry in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
                if entry["Key"] == key:
                    boto_client.delete_object(
                        Bucket=bucket, Key=key, VersionId=entry.get("VersionId") or "null"
                    )
        except (BotoCoreError, ClientError) as exc:
            cleaned = False
            logger.error("export: removing %s after a failed completion failed: %s", key, exc)
    return cleaned


def _failure(exc: Exception, user_id: str, key: str, bucket: str, *, cleaned: bool) -> ExportFailed:
    if isinstance(exc, ExportFailed):
        cause: StorageError | None = exc.cause
        reason = str(exc)
    elif isinstance(exc, BODY_ERRORS):
        # urllib3's reset is no botocore error: without this it would read as a bug (500).
        cause = StorageUnavailable(
            f"a file was cut or corrupted in transit ({type(exc).__name__})", key=key
        )
        reason = str(cause)
    else:
        cause = translate_error(exc, operation="export", key=key, bucket=bucket)
        reason = str(cause)
    aftermath = (
        "nothing was kept (the multipart upload was aborted)"
        if cleaned
        else "cleaning up failed too: the bucket's lifecycle removes the unfinished upload "
        "(DeleteIncompleteMultipart) and exports/ expire after a few days"
    )
    return ExportFailed(
        f"export of user {user_id} failed: {reason}; {aftermath}; retry the export "
        "(it starts over under a new key)",
        key=key,
        cause=cause,
        cleaned_up=cleaned,
    )
