"""Storing an image's renditions all-or-nothing, even when responses are lost.

Every write of one upload carries the same ``wearit-upload-id`` in its object metadata.
The main rendition is written first, the thumbnail second. If anything fails, every version
carrying that id is deleted from both keys, whatever the SDK was told: a write whose
response was lost (S3 stored it, the SDK saw a reset) is found by its id, and so is an
earlier attempt that a retry superseded. A previous pair, if any, is current again.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from wearit_storage.errors import StorageError
from wearit_storage.imaging import Renditions
from wearit_storage.observability import logger
from wearit_storage.s3.client import StoredObject, SyncS3Client
from wearit_storage.s3.listings import key_versions

JPEG: Final = "image/jpeg"
#: Object metadata (``x-amz-meta-wearit-upload-id``) shared by the renditions of one upload.
UPLOAD_ID_METADATA: Final = "wearit-upload-id"
#: Versions older than the upload's start by more than this cannot be its own: S3's clock
#: and ours may disagree, but not by minutes.
_CLOCK_SKEW: Final = timedelta(minutes=5)
_CLEANUP_ATTEMPTS: Final = 4
_CLEANUP_BACKOFF_S: Final = 0.2


@dataclass(frozen=True, slots=True)
class StoredImage:
    main: StoredObject
    thumbnail: StoredObject | None
    url: str  # GET URL of the main rendition: signed CDN URL of its version, or presigned S3


def store_renditions(
    client: SyncS3Client, renditions: Renditions, main_key: str, thumbnail_key: str | None
) -> StoredImage:
    """Write the main rendition, then the thumbnail (if a key is given), all-or-nothing."""
    upload_id = uuid.uuid4().hex
    metadata = {UPLOAD_ID_METADATA: upload_id}
    started = datetime.now(UTC)
    try:
        main = client.put_object(renditions.main, main_key, JPEG, metadata=metadata)
        thumbnail = None
        if thumbnail_key is not None:
            thumbnail = client.put_object(
                renditions.require_thumbnail(), thumbnail_key, JPEG, metadata=metadata
            )
    except BaseException:
        written = [main_key] if thumbnail_key is None else [main_key, thumbnail_key]
        remove_upload(client, upload_id, written, since=started - _CLOCK_SKEW)
        raise
    return StoredImage(main, thumbnail, client.image_url(main_key, main.version_id))


def remove_upload(
    client: SyncS3Client, upload_id: str, keys: list[str], *, since: datetime
) -> None:
    """Delete every version of ``keys`` written by ``upload_id`` (retried: it runs when the
    storage is already failing). A failure here is logged; the caller's error stands."""
    for attempt in range(1, _CLEANUP_ATTEMPTS + 1):
        try:
            for key in keys:
                for version_id in _versions_of_upload(client, key, upload_id, since):
                    client.delete_version(key, version_id)
            return
        except StorageError:
            if attempt == _CLEANUP_ATTEMPTS:
                # The write's own failure is what the caller must see; this one is logged
                # here and was reported to the metrics hook by the failed operation.
                logger.exception(
                    "rollback of upload %s failed: versions of %s may be left behind",
                    upload_id,
                    ", ".join(keys),
                )
                return
            time.sleep(_CLEANUP_BACKOFF_S * 2 ** (attempt - 1))


def _versions_of_upload(
    client: SyncS3Client, key: str, upload_id: str, since: datetime
) -> list[str]:
    """Version ids under ``key`` whose metadata names ``upload_id``, newest first (``"null"``
    on an unversioned bucket, which S3 accepts as a version id)."""
    bucket = client.bucket_name
    found: list[str] = []
    with client.operation("rollback_lookup", key):
        for entry in key_versions(client.boto_client, bucket, key):
            if entry["LastModified"] < since:
                break  # newest first: everything further down predates the upload
            if entry["IsDeleteMarker"]:
                continue
            version_id = str(entry.get("VersionId") or "null")
            head = client.boto_client.head_object(Bucket=bucket, Key=key, VersionId=version_id)
            if head.get("Metadata", {}).get(UPLOAD_ID_METADATA) == upload_id:
                found.append(version_id)
    return found
