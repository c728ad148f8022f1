"""Which user each direct-upload session belongs to: ``sessions/{user_id}/{session_id}.json``.

A session's objects (``temp/{session}/``: the raw upload, its status record) are keyed by
session alone, so nothing but this record ties them to a user. The API writes it when it
presigns with a destination, before the POST can happen; an erasure lists the user's
records, erases the sessions they name, then the records. The record holds the session id
and when it was bound: no more than what its key says. The lifecycle expires it once no
upload of the session can still land (a presign's longest expiry, plus temp/'s life).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Final

from wearit_storage.categories import Category
from wearit_storage.paths import (
    session_binding_key,
    session_of_binding,
    user_prefix,
    validate_id,
)
from wearit_storage.s3.client import SyncS3Client

_JSON: Final = "application/json"


def bind_session(client: SyncS3Client, user_id: str, session_id: str) -> None:
    """Record that ``session_id`` is ``user_id``'s (one PUT)."""
    key = session_binding_key(user_id, session_id)
    body = json.dumps(
        {"session_id": session_id, "bound_at": datetime.now(UTC).isoformat()}
    ).encode()
    client.put_object(body, key, _JSON, operation="bind_session")


def sessions_of(client: SyncS3Client, user_id: str) -> list[str]:
    """The session ids bound to ``user_id`` (one listing page per thousand sessions)."""
    validate_id(user_id, field="user_id")
    prefix = user_prefix(Category.SESSIONS, user_id)
    sessions: list[str] = []
    with client.operation("list_sessions", prefix):
        paginator = client.boto_client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=client.bucket_name, Prefix=prefix):
            sessions += [session_of_binding(entry["Key"]) for entry in page.get("Contents", [])]
    return sessions
