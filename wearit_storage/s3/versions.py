"""Version-level operations on one key: list its versions, undo an overwrite or a delete,
purge a key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


def list_key_versions(client: SyncS3Client, s3_key: str) -> list[KeyVersion]:
    """Every version and delete marker of exactly ``s3_key``, newest first (empty if none)."""
    validate_key(s3_key)
    with client.operation("list_versions", s3_key):
        entries = key_versions(client.boto_client, client.bucket_name, s3_key)
    return [
        KeyVersion(
            version_id=str(entry["VersionId"]),
            last_modified=entry["LastModified"],
            size=int(entry.get("Size", 0)),
            is_latest=bool(entry.get("IsLatest")),
            is_delete_marker=bool(entry["IsDeleteMarker"]),
        )
        for entry in entries
    ]


def restore_previous_version(client: SyncS3Client, s3_key: str) -> str:
    """Undo the last overwrite or delete of ``s3_key``; returns the now-current version id.

    The version to bring back is the newest real version below the current one (below the
    delete markers, after a delete). It is always *copied* on top as a new version rather
    than uncovered by deleting markers: S3 never replicates the deletion of a specific
    version, so removing a delete marker would restore the primary and leave the replica
    deleted. A copy replicates like any write, and every older state stays restorable.
    """
    validate_key(s3_key)
    bucket = client.bucket_name
    with client.operation("restore_previous_version", s3_key) as record:
        entries = key_versions(client.boto_client, bucket, s3_key)
        latest = next((entry for entry in entries if entry.get("IsLatest")), None)
        if latest is None:
            raise ObjectNotFound(
                f"{s3_key!r} has no versions in bucket {bucket!r}: nothing to restore",
                key=s3_key,
            )
        source = next((e for e in entries if not e["IsDeleteMarker"] and e is not latest), None)
        if source is None:
            raise ObjectNotFound(
                f"{s3_key!r} has no earlier version to restore (was versioning enabled "
                "before it was written?)",
                key=s3_key,
            )
        response = client.boto_client.copy_object(
            Bucket=bucket,
            Key=s3_key,
            CopySource={"Bucket": bucket, "Key": s3_key, "VersionId": source["VersionId"]},
            MetadataDirective="COPY",
        )
        record.bytes = int(source.get("Size", 0))
        return str(response.get("VersionId") or source["VersionId"])


def purge_key(client: SyncS3Client, s3_key: str) -> int:
    """Delete every version and delete marker of exactly ``s3_key``; returns how many."""
    validate_key(s3_key)
    with client.operation("purge", s3_key):
        entries = key_versions(client.boto_client, client.bucket_name, s3_key)
    for entry in entries:
        client.delete_version(s3_key, str(entry["VersionId"]))
    return len(entries)
