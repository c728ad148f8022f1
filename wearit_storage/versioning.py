"""Version-level operations on one key: undo an overwrite or a delete, purge a key."""

from __future__ import annotations

from typing import Any

from wearit_storage.erasure import list_versions
from wearit_storage.errors import ObjectNotFound
from wearit_storage.observability import OperationRecord
from wearit_storage.paths import validate_key
from wearit_storage.sync_client import SyncS3Client


def key_versions(client: SyncS3Client, s3_key: str) -> list[dict[str, Any]]:
    """Versions and delete markers of exactly ``s3_key``, newest first.

    S3 lists the versions of a key newest first; ``Prefix`` also matches longer keys
    (``a.jpg`` is a prefix of ``a.jpg.tmp``), hence the exact-key filter.
    """
    entries = [
        entry
        for entry in list_versions(client.boto_client, client.bucket_name, s3_key)
        if entry["Key"] == s3_key
    ]
    # Stable sort keeps S3's newest-first order between equal timestamps.
    return sorted(entries, key=lambda entry: entry["LastModified"], reverse=True)


def restore_previous_version(client: SyncS3Client, s3_key: str) -> str:
    """Undo the last overwrite or delete of ``s3_key``; returns the now-current version id.

    - latest is a delete marker: remove that marker (the previous version is current
      again, no data is copied);
    - otherwise: copy the most recent non-current version on top (a new version, so the
      overwritten content stays restorable too).
    """
    validate_key(s3_key)
    conn_client, bucket = client.boto_client, client.bucket_name
    with client.operation("restore_previous_version", s3_key) as record:
        entries = key_versions(client, s3_key)
        latest = next((entry for entry in entries if entry.get("IsLatest")), None)
        if latest is None:
            raise ObjectNotFound(
                f"{s3_key!r} has no versions in bucket {bucket!r}: nothing to restore",
                key=s3_key,
            )
        if latest["IsDeleteMarker"]:
            return _remove_latest_delete_markers(client, s3_key, entries, record)
        previous = next(
            (e for e in entries if not e["IsDeleteMarker"] and not e.get("IsLatest")), None
        )
        if previous is None:
            raise ObjectNotFound(
                f"{s3_key!r} has no previous version to restore (versioning enabled?)",
                key=s3_key,
            )
        response = conn_client.copy_object(
            Bucket=bucket,
            Key=s3_key,
            CopySource={"Bucket": bucket, "Key": s3_key, "VersionId": previous["VersionId"]},
            MetadataDirective="COPY",
        )
        record.bytes = int(previous.get("Size", 0))
        return str(response.get("VersionId") or previous["VersionId"])


def _remove_latest_delete_markers(
    client: SyncS3Client, s3_key: str, entries: list[dict[str, Any]], record: OperationRecord
) -> str:
    """Remove delete markers until a real version is current again.

    A key deleted twice has two markers on top. Timestamps have one-second resolution on
    some stores, so each round trusts only ``IsLatest`` from a fresh listing.
    """
    for _ in range(sum(1 for entry in entries if entry["IsDeleteMarker"])):
        latest = next((entry for entry in entries if entry.get("IsLatest")), None)
        if latest is None or not latest["IsDeleteMarker"]:
            break
        client.boto_client.delete_object(
            Bucket=client.bucket_name, Key=s3_key, VersionId=latest["VersionId"]
        )
        entries = key_versions(client, s3_key)
    current = next((entry for entry in entries if entry.get("IsLatest")), None)
    if current is None or current["IsDeleteMarker"]:
        raise ObjectNotFound(f"{s3_key!r} only has delete markers: nothing to restore", key=s3_key)
    record.bytes = int(current.get("Size", 0))
    return str(current["VersionId"])


def purge_key(client: SyncS3Client, s3_key: str) -> int:
    """Delete every version and delete marker of exactly ``s3_key``; returns how many."""
    validate_key(s3_key)
    with client.operation("purge", s3_key):
        version_ids = [str(entry["VersionId"]) for entry in key_versions(client, s3_key)]
    client.delete_versions(s3_key, version_ids)
    return len(version_ids)
