"""Version-level operations on one key: list its versions, find the version an undo brings
back and copy it on top, hide a key, purge a key. Restoring an image's renditions together
composes these (:mod:`wearit_storage.uploads.restore`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wearit_storage.errors import ObjectNotFound
from wearit_storage.paths import validate_key
from wearit_storage.s3.client import SyncS3Client
from wearit_storage.s3.listings import key_versions


@dataclass(frozen=True, slots=True)
class KeyVersion:
    """One entry of a key's history: a stored version or a delete marker."""

    version_id: str
    last_modified: datetime
    size: int  # 0 for a delete marker
    is_latest: bool
    is_delete_marker: bool


def to_key_version(entry: Mapping[str, Any]) -> KeyVersion:
    """One entry of :func:`~wearit_storage.s3.listings.key_versions`, typed."""
    return KeyVersion(
        version_id=str(entry.get("VersionId") or "null"),
        last_modified=entry["LastModified"],
        size=int(entry.get("Size", 0)),
        is_latest=bool(entry.get("IsLatest")),
        is_delete_marker=bool(entry["IsDeleteMarker"]),
    )


def current_entry(versions: Iterable[KeyVersion]) -> KeyVersion | None:
    """The current version or delete marker among a key's ``versions`` (``None``: none)."""
    return next((version for version in versions if version.is_latest), None)


def list_key_versions(client: SyncS3Client, s3_key: str) -> list[KeyVersion]:
    """Every version and delete marker of exactly ``s3_key``, newest first (empty if none)."""
    validate_key(s3_key)
    with client.operation("list_versions", s3_key):
        entries = key_versions(client.boto_client, client.bucket_name, s3_key)
    return [to_key_version(entry) for entry in entries]


def version_to_restore(client: SyncS3Client, s3_key: str) -> tuple[KeyVersion, KeyVersion]:
    """The current entry of ``s3_key`` and the version that undoing its last overwrite or
    delete brings back: the newest real version below the current one (below the delete
    markers, after a delete). ``ObjectNotFound`` when there is none."""
    versions = list_key_versions(client, s3_key)
    current = current_entry(versions)
    if current is None:
        raise ObjectNotFound(
            f"{s3_key!r} has no versions in bucket {client.bucket_name!r}: nothing to restore",
            key=s3_key,
        )
    source = next((v for v in versions if not v.is_delete_marker and v is not current), None)
    if source is None:
        raise ObjectNotFound(
            f"{s3_key!r} has no earlier version to restore (was versioning enabled "
            "before it was written?)",
            key=s3_key,
        )
    return current, source


def copy_version_on_top(client: SyncS3Client, s3_key: str, version: KeyVersion) -> str:
    """Make ``version`` of ``s3_key`` current again; returns the new version's id.

    The version is *copied* on top as a new version (metadata included) rather than
    uncovered by deleting what lies above it: S3 never replicates the deletion of a specific
    version, so removing a delete marker would restore the primary and leave the replica
    deleted. A copy replicates like any write, and every older state stays restorable.
    """
    validate_key(s3_key)
    bucket = client.bucket_name
    with client.operation("restore_previous_version", s3_key, version.size):
        response = client.boto_client.copy_object(
            Bucket=bucket,
            Key=s3_key,
            CopySource={"Bucket": bucket, "Key": s3_key, "VersionId": version.version_id},
            MetadataDirective="COPY",
        )
    return str(response.get("VersionId") or version.version_id)


def hide_key(client: SyncS3Client, s3_key: str) -> str | None:
    """Put a delete marker on ``s3_key`` (every version stays restorable); returns the
    marker's version id. Raises on failure, unlike the seed's ``delete_file``."""
    validate_key(s3_key)
    with client.operation("delete", s3_key):
        response = client.boto_client.delete_object(Bucket=client.bucket_name, Key=s3_key)
    return response.get("VersionId")


def purge_key(client: SyncS3Client, s3_key: str) -> int:
    """Delete every version and delete marker of exactly ``s3_key``; returns how many."""
    validate_key(s3_key)
    with client.operation("purge", s3_key):
        entries = key_versions(client.boto_client, client.bucket_name, s3_key)
    for entry in entries:
        client.delete_version(s3_key, str(entry["VersionId"]))
    return len(entries)
