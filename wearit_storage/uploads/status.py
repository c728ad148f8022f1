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
that claimed the upload (the version S3 announced) -> ``done`` (rendition keys) or
``rejected`` (reason), written before the upload's version is deleted, so a missing
upload with no outcome can only mean it expired or was erased; a claim given back after a
transient failure says ``pending`` until a redelivery claims it again. ``upload_status``
answers ``pending`` for all but the two outcomes. One session takes one upload: a record
about another upload of the session refuses this one (``session_closed``).

Existence is checked with a ``ListObjectsV2`` of the exact key, not a GET: roles that may
list only their prefixes (an ``s3:prefix`` condition) get 403 instead of 404 for a missing
key, and a pending session is the common answer when an app polls.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, get_args

from botocore.exceptions import ClientError

from wearit_storage.errors import RefusalReason, StorageError
from wearit_storage.paths import status_key
from wearit_storage.s3.client import SyncS3Client
from wearit_storage.s3.transport import CHECKSUM_ALGORITHM, error_code

UploadState = Literal["pending", "done", "rejected"]
#: What the status object may hold: ``processing`` (claimed, with a lease) and ``pending``
#: (a claim given back after a transient failure) are reported as ``pending``.
RecordState = Literal["processing", "pending", "done", "rejected"]
_SETTLED: Final = frozenset({"done", "rejected"})
_JSON: Final = "application/json"
_PRECONDITION_CODES: Final = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


@dataclass(frozen=True, slots=True)
class UploadStatus:
    """What ``upload_status(session_id)`` answers.

    ``done``: ``main_key`` (and ``thumbnail_key`` where the category has thumbnails) with
    GET URLs (signed CDN URLs of their versions, or presigned S3) and version ids, and the
    AVIFs beside them (``avif_key``, ``thumbnail_avif_key``, their URLs) where the
    category stores AVIF; ``rejected``: ``reason`` (an ``ImageRejected`` reason, or why the
    upload itself was refused: ``session_closed``, ``user_erased``, ``invalid_upload``)
    and a message; ``pending``: nothing yet (not uploaded, queued, or being rendered).
    """

    session_id: str
    state: UploadState
    main_key: str | None = None
    thumbnail_key: str | None = None
    # Bearer URLs: kept out of the repr, so logging a status never logs a credential.
    url: str | None = field(default=None, repr=False)
    thumbnail_url: str | None = field(default=None, repr=False)
    reason: RefusalReason | None = None
    message: str | None = None
    completed_at: datetime | None = None
    avif_key: str | None = None
    thumbnail_avif_key: str | None = None
    avif_url: str | None = field(default=None, repr=False)
    thumbnail_avif_url: str | None = field(default=None, repr=False)
    #: The renditions' versions: what a CDN URL names (``presigned_url(key, version_id=)``).
    main_version_id: str | None = None
    thumbnail_version_id: str | None = None


@dataclass(frozen=True, slots=True)
class UploadRef:
    """Which upload of a session a record is about: the object version S3 announced (and
    its ETag, which identifies it on an unversioned bucket)."""

    version_id: str | None
    etag: str


class MalformedStatusRecord(StorageError):
    """``status.json`` holds something the worker did not write: no retry can read it."""

    code = "malformed_status"


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """The JSON document of ``temp/{session}/status.json``."""

    state: RecordState
    filename: str
    #: The upload this record is about: another upload into the same session is refused
    #: (``session_closed``), never taken for this one.
    upload_etag: str = ""
    upload_version: str | None = None
    worker: str = ""
    lease_until: datetime | None = None  # processing only
    main_key: str | None = None
    thumbnail_key: str | None = None
    reason: RefusalReason | None = None
    message: str | None = None
    completed_at: datetime | None = None
    avif_key: str | None = None
    thumbnail_avif_key: str | None = None
    main_version_id: str | None = None
    thumbnail_version_id: str | None = None
    avif_version_id: str | None = None
    thumbnail_avif_version_id: str | None = None

    @property
    def settled(self) -> bool:
        return self.state in _SETTLED

    def is_about(self, upload: UploadRef) -> bool:
        if self.upload_version is not None and upload.version_id is not None:
            return self.upload_version == upload.version_id
        return self.upload_etag.strip('"') == upload.etag.strip('"')

    def lease_left(self, now: datetime) -> timedelta:
        if self.state != "processing" or self.lease_until is None:
            return timedelta(0)
        return max(self.lease_until - now, timedelta(0))

    def to_json(self) -> bytes:
        document: dict[str, Any] = {"state": self.state, "filename": self.filename}
        for name in (
            "upload_etag",
            "upload_version",
            "worker",
            "main_key",
            "thumbnail_key",
            "avif_key",
            "thumbnail_avif_key",
            "reason",
            "message",
            "main_version_id",
            "thumbnail_version_id",
            "avif_version_id",
            "thumbnail_avif_version_id",
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
            if reason is not None and reason not in _REASONS:
                raise ValueError(f"unknown reason {reason!r}")
            return cls(
                state=state,
                filename=str(document["filename"]),
                upload_etag=str(document.get("upload_etag", "")),
                upload_version=document.get("upload_version"),
                worker=str(document.get("worker", "")),
                lease_until=_moment(document.get("lease_until")),
                main_key=document.get("main_key"),
                thumbnail_key=document.get("thumbnail_key"),
                reason=reason,
                message=document.get("message"),
                completed_at=_moment(document.get("completed_at")),
                avif_key=document.get("avif_key"),
                thumbnail_avif_key=document.get("thumbnail_avif_key"),
                main_version_id=document.get("main_version_id"),
                thumbnail_version_id=document.get("thumbnail_version_id"),
                avif_version_id=document.get("avif_version_id"),
                thumbnail_avif_version_id=document.get("thumbnail_avif_version_id"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedStatusRecord(
                f"{key!r} is not an upload status the worker wrote ({exc}); delete it to let "
                "the upload be processed again",
                key=key,
            ) from exc


#: Every reason a record may carry: the image rejections and the worker's refusals.
_REASONS: Final = frozenset(get_args(RefusalReason))


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class StoredStatus:
    record: StatusRecord
    etag: str
    version_id: str | None


@dataclass(frozen=True, slots=True)
class WrittenStatus:
    """A status write S3 accepted: its ETag is what a later conditional write matches."""

    etag: str
    version_id: str | None


def read_status(
    client: SyncS3Client, session_id: str, *, known_present: bool = False
) -> StoredStatus | None:
    """The status object of ``session_id``, ``None`` when there is none yet.

    Unless ``known_present``, a ``ListObjectsV2`` of the key comes first: a role that may
    only list some prefixes gets 403, not 404, from a GET of a missing key.
    """
    key = status_key(session_id)
    if not known_present and not client.key_exists(key):
        return None
    with client.operation("read_status", key) as record:
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
) -> WrittenStatus | None:
    """Write the status object; ``None`` if a condition failed (another writer got there
    first)."""
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
    return WrittenStatus(str(response.get("ETag", "")), response.get("VersionId"))


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of :func:`claim`: exactly one of the four is set."""

    held: WrittenStatus | None = None  # claimed: ours until the lease ends
    settled: StatusRecord | None = None  # this upload was finished before
    busy_for: timedelta | None = None  # another worker holds a live lease on it
    closed: StatusRecord | None = None  # the session belongs to another upload


def claim(
    client: SyncS3Client,
    session_id: str,
    filename: str,
    *,
    upload: UploadRef,
    worker: str,
    lease: timedelta,
) -> Claim:
    """Take ``upload`` for ``lease``. The common case costs one request: the status object
    is created only if there is none (``If-None-Match: *``). Only when that fails is the
    record read: this upload settled before, held by a live lease, or another upload's
    (the session is closed to this one); an expired lease or a claim given back is taken
    over only if nobody changed it meanwhile (``If-Match``). Two workers racing for one
    upload: exactly one wins."""
    for _ in range(3):  # a lost race re-reads what the winner wrote
        now = datetime.now(UTC)
        mine = StatusRecord(
            "processing",
            filename,
            upload_etag=upload.etag,
            upload_version=upload.version_id,
            worker=worker,
            lease_until=now + lease,
        )
        written = write_status(client, session_id, mine, if_none_match=True)
        if written is not None:
            return Claim(held=written)
        current = read_status(client, session_id, known_present=True)
        if current is None:
            continue  # deleted since the failed write: try to create it again
        record = current.record
        if not record.is_about(upload):
            return Claim(closed=record)
        if record.settled:
            return Claim(settled=record)
        if record.lease_left(now):
            return Claim(busy_for=record.lease_left(now))
        # A worker died holding it, or gave it back after a transient failure.
        written = write_status(client, session_id, mine, if_match=current.etag)
        if written is not None:
            return Claim(held=written)
    return Claim(busy_for=lease)


def release(
    client: SyncS3Client, session_id: str, held: WrittenStatus, record: StatusRecord
) -> None:
    """Give a claim back after a transient failure, so that a redelivery can claim at once:
    the record says ``pending`` again (deleting the claim's version would make an older
    record of the session current again)."""
    pending = dataclasses.replace(record, state="pending", worker="", lease_until=None)
    write_status(client, session_id, pending, if_match=held.etag)


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
        # Records written before version ids were recorded: a CDN URL looks them up.
        url=client.image_url(record.main_key, record.main_version_id),
        thumbnail_url=_url(client, record.thumbnail_key, record.thumbnail_version_id),
        completed_at=record.completed_at,
        avif_key=record.avif_key,
        thumbnail_avif_key=record.thumbnail_avif_key,
        avif_url=_url(client, record.avif_key, record.avif_version_id),
        thumbnail_avif_url=_url(
            client, record.thumbnail_avif_key, record.thumbnail_avif_version_id
        ),
        main_version_id=record.main_version_id,
        thumbnail_version_id=record.thumbnail_version_id,
    )


def _url(client: SyncS3Client, key: str | None, version_id: str | None) -> str | None:
    return client.image_url(key, version_id) if key else None
