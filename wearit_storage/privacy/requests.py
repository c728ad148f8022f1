"""Erasure requests: the API asks, the eraser does (:mod:`.eraser`).

``request_user_erasure`` writes ``erasures/{user_id}/request.json``, which holds nothing but
the id and when it was asked. The bucket announces it on the erasure queue (that starts the
eraser), and it stays as the user's tombstone: the upload worker, and the repository's own
uploads, refuse anything of that user while it exists; the lifecycle removes it once no
late upload can land any more. The eraser writes its progress beside it, in
``erasures/{user_id}/status.json``, which ``erasure_status`` reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

from botocore.exceptions import ClientError

from wearit_storage.errors import ObjectNotFound, StorageError, UserErased
from wearit_storage.paths import erasure_status_key, tombstone_key, validate_id
from wearit_storage.s3.client import SyncS3Client
from wearit_storage.s3.transport import CHECKSUM_ALGORITHM, error_code

ErasureState = Literal["requested", "done", "failed"]
#: What the eraser records: ``erasing`` between its passes (reported as ``requested``).
RecordedState = Literal["erasing", "done", "failed"]
_JSON: Final = "application/json"
_PRECONDITION: Final = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


@dataclass(frozen=True, slots=True)
class ErasureCounts:
    """What the eraser deleted for a user, both buckets and both passes together."""

    versions_deleted: int = 0
    delete_markers_deleted: int = 0
    multipart_uploads_aborted: int = 0

    def __add__(self, other: ErasureCounts) -> ErasureCounts:
        return ErasureCounts(
            self.versions_deleted + other.versions_deleted,
            self.delete_markers_deleted + other.delete_markers_deleted,
            self.multipart_uploads_aborted + other.multipart_uploads_aborted,
        )


@dataclass(frozen=True, slots=True)
class ErasureStatus:
    """``requested`` (asked, not finished: the eraser runs two passes, the second once no
    late write can land), ``done`` (nothing of the user in either bucket; ``counts``) or
    ``failed`` (``message``; the eraser retries, then its dead-letter queue alarms)."""

    user_id: str
    state: ErasureState
    requested_at: datetime | None = None
    completed_at: datetime | None = None
    counts: ErasureCounts = ErasureCounts()
    #: When the second pass runs, while ``requested``.
    second_pass_after: datetime | None = None
    message: str | None = None
    #: The CDN's invalidation of the user's paths (its latest), with a distribution.
    cdn_invalidation_id: str | None = None


@dataclass(frozen=True, slots=True)
class EraserRecord:
    """The JSON document of ``erasures/{user_id}/status.json``, written by the eraser."""

    state: RecordedState
    counts: ErasureCounts
    second_pass_after: datetime | None = None
    completed_at: datetime | None = None
    message: str | None = None
    cdn_invalidation_id: str | None = None

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "state": self.state,
            "versions_deleted": self.counts.versions_deleted,
            "delete_markers_deleted": self.counts.delete_markers_deleted,
            "multipart_uploads_aborted": self.counts.multipart_uploads_aborted,
        }
        if self.second_pass_after is not None:
            document["second_pass_after"] = self.second_pass_after.isoformat()
        if self.completed_at is not None:
            document["completed_at"] = self.completed_at.isoformat()
        if self.message:
            document["message"] = self.message
        if self.cdn_invalidation_id:
            document["cdn_invalidation_id"] = self.cdn_invalidation_id
        return json.dumps(document, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes, *, key: str) -> EraserRecord:
        try:
            document = json.loads(data)
            if document["state"] not in get_args(RecordedState):
                raise ValueError(f"unknown state {document['state']!r}")
            return cls(
                state=document["state"],
                counts=ErasureCounts(
                    int(document.get("versions_deleted", 0)),
                    int(document.get("delete_markers_deleted", 0)),
                    int(document.get("multipart_uploads_aborted", 0)),
                ),
                second_pass_after=_moment(document.get("second_pass_after")),
                completed_at=_moment(document.get("completed_at")),
                message=document.get("message"),
                cdn_invalidation_id=document.get("cdn_invalidation_id"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(
                f"{key!r} is not an erasure status the eraser wrote ({exc})", key=key
            ) from exc


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def request_user_erasure(client: SyncS3Client, user_id: str) -> ErasureStatus:
    """Record that ``user_id`` asked to be erased, and return at once (one PUT). Asking
    again while a request stands changes nothing (``If-None-Match: *``)."""
    key = tombstone_key(user_id)
    now = datetime.now(UTC)
    body = json.dumps({"user_id": user_id, "requested_at": now.isoformat()}).encode()
    with client.operation("request_erasure", key, len(body)):
        try:
            client.boto_client.put_object(
                Bucket=client.bucket_name,
                Key=key,
                Body=body,
                ContentType=_JSON,
                ChecksumAlgorithm=CHECKSUM_ALGORITHM,
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if error_code(exc) not in _PRECONDITION:
                raise
            return erasure_status(client, user_id)  # asked before: that request stands
    return ErasureStatus(user_id, "requested", requested_at=now)


def erasure_status(client: SyncS3Client, user_id: str) -> ErasureStatus:
    """Where the user's erasure stands (``ObjectNotFound`` if none was requested): one
    ``ListObjectsV2``, plus a GET per record found."""
    validate_id(user_id, field="user_id")
    request, status = tombstone_key(user_id), erasure_status_key(user_id)
    with client.operation("erasure_status", request):
        listed = client.boto_client.list_objects_v2(
            Bucket=client.bucket_name, Prefix=request.rsplit("/", 1)[0] + "/"
        )
        present = {entry["Key"] for entry in listed.get("Contents", [])}
        if request not in present:
            raise ObjectNotFound(
                f"no erasure was requested for user {user_id}: request_user_erasure first",
                key=request,
            )
        asked = json.loads(_read(client, request))
        requested_at = _moment(asked.get("requested_at"))
        if status not in present:
            return ErasureStatus(user_id, "requested", requested_at=requested_at)
        record = EraserRecord.from_json(_read(client, status), key=status)
    state: ErasureState = "requested" if record.state == "erasing" else record.state
    return ErasureStatus(
        user_id,
        state,
        requested_at=requested_at,
        completed_at=record.completed_at,
        counts=record.counts,
        second_pass_after=record.second_pass_after,
        message=record.message,
        cdn_invalidation_id=record.cdn_invalidation_id,
    )


def write_eraser_record(client: SyncS3Client, user_id: str, record: EraserRecord) -> None:
    key = erasure_status_key(user_id)
    body = record.to_json()
    client.put_object(body, key, _JSON, operation="write_erasure_status")


def read_eraser_record(client: SyncS3Client, user_id: str) -> EraserRecord | None:
    key = erasure_status_key(user_id)
    with client.operation("read_erasure_status", key):
        if not client.key_exists(key):
            return None
        return EraserRecord.from_json(_read(client, key), key=key)


def refuse_if_erased(client: SyncS3Client, user_id: str) -> None:
    """``UserErased`` if the user asked for erasure: nothing of theirs is written any more
    (one ``ListObjectsV2``)."""
    if client.key_exists(tombstone_key(user_id)):
        raise UserErased(
            f"user {user_id} asked for erasure: nothing of theirs is stored any more",
            key=tombstone_key(user_id),
        )


def _read(client: SyncS3Client, key: str) -> bytes:
    response = client.boto_client.get_object(Bucket=client.bucket_name, Key=key)
    body: bytes = response["Body"].read()
    return body
