"""The outcome of a direct upload: a small JSON object beside it, ``temp/{session}/status.json``.

Why an object under the session's own prefix, and not object tags or a database:

- the API asks by session id alone, and the uploaded object itself is gone once promoted
  (tags would die with it, and the renditions' keys are what the answer is about);
- it needs nothing new: the API role already reads ``temp/``, the ``temp/`` lifecycle
  expires it with the session (1 day), it is never replicated, and S3's strong
  read-after-write consistency makes a written outcome visible to the next read;
- S3 conditional writes (``If-None-Match: *``, ``If-Match``) turn the same object into
  the claim that stops two workers from rendering one upload twice (:func:`claim`).

Life of the object: absent (pending) -> ``processing`` with a lease, written by the worker
that claimed the upload -> ``done`` (rendition keys) or ``rejected`` (reason), written
before the temp object is deleted, so a missing temp object with no outcome can only mean
the upload expired or was erased. ``upload_status`` answers ``pending`` for the first two.

Existence is checked with a ``ListObjectsV2`` of the exact key, not a GET: roles that may
list only their prefixes (an ``s3:prefix`` condition) get 403 instead of 404 for a missing
key, and a pending session is the common answer when an app polls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, get_args

from botocore.exceptions import ClientError

from wearit_storage.errors import RejectionReason, StorageError
from wearit_storage.paths import session_prefix, status_key
from wearit_storage.s3.client import SyncS3Client
from wearit_storage.s3.transport import CHECKSUM_ALGORITHM, error_code

UploadState = Literal["pending", "done", "rejected"]
#: What the status object may hold (``processing`` is reported as ``pending``).
RecordState = Literal["processing", "done", "rejected"]
_JSON: Final = "application/json"
_PRECONDITION_CODES: Final = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


@dataclass(frozen=True, slots=True)
class UploadStatus:
    """What ``upload_status(session_id)`` answers.

    ``done``: ``main_key`` (and ``thumbnail_key`` where the category has thumbnails) with
    GET URLs (signed CDN URLs of their versions, or presigned S3) and version ids;
    ``rejected``: ``reason`` (an ``ImageRejected`` reason) and a message; ``pending``:
    nothing yet (not uploaded, queued, or being rendered).
    """

    session_id: str
    state: UploadState
    main_key: str | None = None
    thumbnail_key: str | None = None
    url: str | None = None
    thumbnail_url: str | None = None
    reason: RejectionReason | None = None
    message: str | None = None
    completed_at: datetime | None = None
    #: The renditions' versions: what a CDN URL names (``presigned_url(key, version_id=)``).
    main_version_id: str | None = None
    thumbnail_version_id: str | None = None


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """The JSON document of ``temp/{session}/status.json``."""

    state: RecordState
    filename: str
    #: ETag of the uploaded object this record is about: a new upload into the same
    #: session (an app retrying after a rejection) has another, and is processed anew.
    upload_etag: str = ""
    worker: str = ""
    lease_until: datetime | None = None  # processing only
    main_key: str | None = None
    thumbnail_key: str | None = None
    reason: RejectionReason | None = None
    message: str | None = None
    completed_at: datetime | None = None
    main_version_id: str | None = None
    thumbnail_version_id: str | None = None

    @property
    def settled(self) -> bool:
        return self.state != "processing"

    def lease_left(self, now: datetime) -> timedelta:
        if self.lease_until is None:
            return timedelta(0)
        return max(self.lease_until - now, timedelta(0))

    def to_json(self) -> bytes:
        document: dict[str, Any] = {"state": self.state, "filename": self.filename}
        for name in (
            "upload_etag",
            "worker",
            "main_key",
            "thumbnail_key",
            "reason",
            "message",
            "main_version_id",
            "thumbnail_version_id",
        ):
            value = getattr(self, name)
            if value:
                document[name] = value
        for name in ("lease_until", "completed_at"):
            moment = getattr(self, name)
            if moment is not None:
                document[name] = moment.isoformat()
        return json.dumps(document, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes, *, key: str) -> StatusRecord:
        try:
            document = json.loads(data)
            state = document["state"]
            if state not in get_args(RecordState):
                raise ValueError(f"unknown state {state!r}")
            reason = document.get("reason")
            if reason is not None and reason not in get_args(RejectionReason):
                raise ValueError(f"unknown reason {reason!r}")
            return cls(
                state=state,
                filename=str(document["filename"]),
                upload_etag=str(document.get("upload_etag", "")),
                worker=str(document.get("worker", "")),
                lease_until=_moment(document.get("lease_until")),
                main_key=document.get("main_key"),
                thumbnail_key=document.get("thumbnail_key"),
                reason=reason,
                message=document.get("message"),
                completed_at=_moment(document.get("completed_at")),
                main_version_id=document.get("main_version_id"),
                thumbnail_version_id=document.get("thumbnail_version_id"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(
                f"{key!r} is not an upload status the worker wrote ({exc}); delete it to let "
                "the upload be processed again",
                key=key,
            ) from exc


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class StoredStatus:
    record: StatusRecord
    etag: str
    version_id: str | None


def session_keys(client: SyncS3Client, session_id: str) -> set[str]:
    """Every key under ``temp/{session_id}/`` (the upload and its status), one request."""
    prefix = session_prefix(session_id)
    with client.operation("list_session", prefix):
        response = client.boto_client.list_objects_v2(Bucket=client.bucket_name, Prefix=prefix)
    return {str(entry["Key"]) for entry in response.get("Contents", [])}


def read_status(
    client: SyncS3Client, session_id: str, *, known_present: bool = False
) -> StoredStatus | None:
    """The status object of ``session_id``, ``None`` when there is none yet."""
    key = status_key(session_id)
    with client.operation("read_status", key) as record:
        if not known_present:
            listing = client.boto_client.list_objects_v2(
                Bucket=client.bucket_name, Prefix=key, MaxKeys=1
            )
            if not any(entry["Key"] == key for entry in listing.get("Contents", [])):
                return None
        try:
            response = client.boto_client.get_object(Bucket=client.bucket_name, Key=key)
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None  # deleted between the listing and the read
            raise
        body = response["Body"].read()
        record.bytes = len(body)
    return StoredStatus(
        StatusRecord.from_json(body, key=key),
        str(response.get("ETag", "")),
        response.get("VersionId"),
    )


def write_status(
    client: SyncS3Client,
    session_id: str,
    record: StatusRecord,
    *,
    if_none_match: bool = False,
    if_match: str | None = None,
) -> str | None:
    """Write the status object; returns its version id, or ``None`` if a condition failed
    (another writer got there first)."""
    key = status_key(session_id)
    body = record.to_json()
    request: dict[str, Any] = {
        "Bucket": client.bucket_name,
        "Key": key,
        "Body": body,
        "ContentType": _JSON,
        "ChecksumAlgorithm": CHECKSUM_ALGORITHM,
    }
    if if_none_match:
        request["IfNoneMatch"] = "*"
    if if_match is not None:
        request["IfMatch"] = if_match
    with client.operation("write_status", key, len(body)):
        try:
            response = client.boto_client.put_object(**request)
        except ClientError as exc:
            if error_code(exc) in _PRECONDITION_CODES:
                return None
            raise
    return str(response.get("VersionId") or "null")


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of :func:`claim`: exactly one of the three is set."""

    version_id: str | None = None  # claimed: ours until the lease ends
    settled: StatusRecord | None = None  # someone already finished it
    busy_for: timedelta | None = None  # another worker holds a live lease


def claim(
    client: SyncS3Client,
    session_id: str,
    filename: str,
    *,
    upload_etag: str,
    worker: str,
    lease: timedelta,
) -> Claim:
    """Take the upload (the object whose ETag is ``upload_etag``) for ``lease``: create the
    status object only if there is none, or replace an expired lease or the outcome of an
    earlier upload only if nobody else changed it meanwhile (``If-Match``). Two workers
    racing for one upload: exactly one wins, the other is told it is busy."""
    for _ in range(3):  # a lost race re-reads what the winner wrote
        now = datetime.now(UTC)
        mine = StatusRecord(
            "processing",
            filename,
            upload_etag=upload_etag,
            worker=worker,
            lease_until=now + lease,
        )
        current = read_status(client, session_id)
        if current is None:
            version = write_status(client, session_id, mine, if_none_match=True)
        elif current.record.settled and current.record.upload_etag == upload_etag:
            return Claim(settled=current.record)
        elif current.record.settled:  # a new upload into a settled session
            version = write_status(client, session_id, mine, if_match=current.etag)
        elif current.record.lease_left(now):
            return Claim(busy_for=current.record.lease_left(now))
        else:  # a worker died holding it
            version = write_status(client, session_id, mine, if_match=current.etag)
        if version is not None:
            return Claim(version_id=version)
    return Claim(busy_for=lease)


def release(client: SyncS3Client, session_id: str, version_id: str) -> None:
    """Give a claim back after a transient failure, so that a redelivery can claim at once."""
    client.delete_version(status_key(session_id), version_id)


def status_for_api(client: SyncS3Client, session_id: str) -> UploadStatus:
    """``upload_status``: the record translated for the API, with fresh GET URLs."""
    stored = read_status(client, session_id)
    if stored is None or not stored.record.settled:
        return UploadStatus(session_id, "pending")
    record = stored.record
    if record.state == "rejected":
        return UploadStatus(
            session_id,
            "rejected",
            reason=record.reason or "corrupt",
            message=record.message,
            completed_at=record.completed_at,
        )
    if record.main_key is None:
        raise StorageError(
            f"{status_key(session_id)!r} says done but names no rendition key",
            key=status_key(session_id),
        )
    return UploadStatus(
        session_id,
        "done",
        main_key=record.main_key,
        thumbnail_key=record.thumbnail_key,
        # Records written before version ids were recorded: the CDN URL looks them up.
        url=client.image_url(record.main_key, record.main_version_id),
        thumbnail_url=(
            client.image_url(record.thumbnail_key, record.thumbnail_version_id)
            if record.thumbnail_key
            else None
        ),
        completed_at=record.completed_at,
        main_version_id=record.main_version_id,
        thumbnail_version_id=record.thumbnail_version_id,
    )
