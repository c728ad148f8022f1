"""Helpers of the fault-injection tests: inspecting buckets directly (``admin``) and
arranging users; fixtures live in conftest.py."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any, Final

from tests.sdk.helpers import all_versions
from wearit_storage.categories import USER_CATEGORIES
from wearit_storage.paths import user_prefix

#: The object tag tying the renditions of one upload together.
UPLOAD_ID: Final = "wearit-upload-id"

#: (key, version id, is delete marker) -> the version's bytes (b"" for a delete marker).
Snapshot = dict[tuple[str, str, bool], bytes]


def read(admin: Any, bucket: str, key: str, version_id: str | None = None) -> bytes:
    extra = {"VersionId": version_id} if version_id else {}
    data: bytes = admin.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
    return data


def current_versions(admin: Any, bucket: str, prefix: str) -> dict[str, str]:
    """Key -> version id of the current version, for every key under ``prefix`` whose
    current entry is a version (not a delete marker)."""
    found: dict[str, str] = {}
    for page in admin.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        found |= {v["Key"]: str(v["VersionId"]) for v in page.get("Versions", []) if v["IsLatest"]}
    return found


def current(admin: Any, bucket: str, key: str) -> str | None:
    """The version id of ``key``'s current version; None if absent or hidden by a marker."""
    return current_versions(admin, bucket, key).get(key)


def upload_id(admin: Any, bucket: str, key: str, version_id: str) -> str | None:
    """The ``wearit-upload-id`` a version was written with (None: not tagged)."""
    tags = admin.get_object_tagging(Bucket=bucket, Key=key, VersionId=version_id)["TagSet"]
    value = {tag["Key"]: tag["Value"] for tag in tags}.get(UPLOAD_ID)
    return None if value is None else str(value)


def snapshot(admin: Any, bucket: str, prefixes: Iterable[str]) -> Snapshot:
    """Every version and delete marker under ``prefixes``, with its bytes."""
    return {
        (key, version_id, marker): b"" if marker else read(admin, bucket, key, version_id)
        for prefix in prefixes
        for key, version_id, marker in all_versions(admin, bucket, prefix)
    }


def user_prefixes(user_id: str) -> list[str]:
    return [user_prefix(category, user_id) for category in USER_CATEGORIES]


def leftovers(admin: Any, bucket: str, user_id: str) -> list[str]:
    """What remains of a user in ``bucket``: versions, delete markers, unfinished uploads."""
    found: list[str] = []
    for prefix in user_prefixes(user_id):
        found += [
            f"{key}@{version_id}" for key, version_id, _ in all_versions(admin, bucket, prefix)
        ]
        uploads = admin.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
        found += [f"upload {u['Key']}" for u in uploads.get("Uploads", [])]
    return found


def put_versions(admin: Any, bucket: str, key: str, bodies: Iterable[bytes]) -> None:
    for body in bodies:
        admin.put_object(Bucket=bucket, Key=key, Body=io.BytesIO(body))
