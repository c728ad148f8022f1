"""S3 event notifications, as SQS delivers them to the upload worker.

The shape (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html):
``{"Records": [{"eventName": "ObjectCreated:Post", "eventTime": ..., "s3": {"bucket":
{"name": ...}, "object": {"key": ..., "size": ..., "eTag": ..., "versionId": ...}}}]}``
(``versionId`` in a versioned bucket only). Object keys are
URL-encoded as in an HTML form (a space is ``+``), hence ``unquote_plus``. When a
notification is configured, S3 first sends one ``{"Event": "s3:TestEvent", ...}`` message,
which carries no record and is acknowledged and dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import unquote_plus

from wearit_storage.errors import MalformedUploadEvent

TEST_EVENT: Final = "s3:TestEvent"
CREATED_PREFIX: Final = "ObjectCreated:"


@dataclass(frozen=True, slots=True)
class ObjectCreated:
    """One object created in the bucket (an upload, or anything else written there)."""

    bucket: str
    key: str
    size: int
    event_name: str
    event_time: datetime
    version_id: str | None = None
    etag: str | None = None  # without quotes, as S3 sends it


def is_test_event(body: str) -> bool:
    """Whether a message is S3's ``s3:TestEvent`` (sent once, when a notification is set)."""
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("Event") == TEST_EVENT


def parse_message(body: str) -> list[ObjectCreated]:
    """The ``ObjectCreated`` records of one message body (none for a test event; other
    event kinds are skipped); :class:`MalformedUploadEvent` if it is not an S3 event."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise MalformedUploadEvent(f"queue message is not JSON ({exc}): {body[:80]!r}") from exc
    if not isinstance(document, dict):
        raise MalformedUploadEvent(f"queue message is not an S3 event: {body[:80]!r}")
    if document.get("Event") == TEST_EVENT:
        return []
    records = document.get("Records")
    if not isinstance(records, list):
        raise MalformedUploadEvent(
            f"queue message has no Records list: {body[:80]!r}; only S3 event notifications "
            "belong on the upload queue"
        )
    return [
        _record(record)
        for record in records
        if isinstance(record, dict) and str(record.get("eventName", "")).startswith(CREATED_PREFIX)
    ]


def _record(record: dict[str, Any]) -> ObjectCreated:
    try:
        s3 = record["s3"]
        obj = s3["object"]
        return ObjectCreated(
            bucket=str(s3["bucket"]["name"]),
            key=unquote_plus(str(obj["key"])),
            size=int(obj.get("size", 0)),
            event_name=str(record["eventName"]),
            event_time=datetime.fromisoformat(str(record["eventTime"]).replace("Z", "+00:00")),
            version_id=obj.get("versionId"),
            etag=obj.get("eTag"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedUploadEvent(
            f"S3 event record lacks {exc} or has a wrong type: {json.dumps(record)[:120]}"
        ) from exc
