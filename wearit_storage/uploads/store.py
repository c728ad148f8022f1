"""Storing an image's renditions all-or-nothing, even when responses are lost.

Every write of one upload carries the same ``wearit-upload-id`` in its object metadata.
The main JPEG is written first, then the thumbnail's JPEG, then their AVIFs (where the
category stores AVIF, beside each JPEG: :func:`~wearit_storage.paths.avif_key`). If
anything fails, every version carrying that id is deleted from every one of those keys,
whatever the SDK was told: a write whose response was lost (S3 stored it, the SDK saw a
reset) is found by its id, and so is an earlier attempt that a retry superseded. The
renditions stored before, if any, are current again.
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
from wearit_storage.paths import avif_key
from wearit_storage.renditions import MEDIA_TYPES
from wearit_storage.s3.client import StoredObject, SyncS3Client
from wearit_storage.s3.listings import key_versions

#: Object metadata (``x-amz-meta-wearit-upload-id``) shared by the renditions of one upload.
UPLOAD_ID_METADATA: Final = "wearit-upload-id"
#: Versions older than the upload's start by more than this cannot be its own: S3's clock
#: and ours may disagree, but not by minutes.
_CLOCK_SKEW: Final = timedelta(minutes=5)
_CLEANUP_ATTEMPTS: Final = 4
_CLEANUP_BACKOFF_S: Final = 0.2


@dataclass(frozen=True, slots=True)
class StoredImage:
    """What an upload stored: the JPEGs always, the AVIFs beside them where the category's
    policy stores AVIF (``None`` otherwise), and a presigned GET URL of each main image
    (pick one for a client with :func:`~wearit_storage.renditions.preferred_format`)."""

    main: StoredObject
    thumbnail: StoredObject | None
    url: str  # presigned GET URL of the main JPEG
    main_avif: StoredObject | None = None
    thumbnail_avif: StoredObject | None = None
    avif_url: str | None = None  # presigned GET URL of the main AVIF


def store_renditions(
    client: SyncS3Client, renditions: Renditions, main_key: str, thumbnail_key: str | None
) -> StoredImage:
    """Write every rendition (main, then the thumbnail if a key is given; each JPEG, then
    each AVIF the renditions hold), all-or-nothing."""
    writes: list[tuple[bytes, str, str]] = [(renditions.main, main_key, MEDIA_TYPES["jpeg"])]
    if thumbnail_key is not None:
        writes.append((renditions.require_thumbnail(), thumbnail_key, MEDIA_TYPES["jpeg"]))
    if renditions.main_avif is not None:
        writes.append((renditions.main_avif, avif_key(main_key), MEDIA_TYPES["avif"]))
    if renditions.thumbnail_avif is not None and thumbnail_key is not None:
        writes.append((renditions.thumbnail_avif, avif_key(thumbnail_key), MEDIA_TYPES["avif"]))
    upload_id = uuid.uuid4().hex
    metadata = {UPLOAD_ID_METADATA: upload_id}
    started = datetime.now(UTC)
    try:
        stored = {
            key: client.put_object(body, key, content_type, metadata=metadata)
            for body, key, content_type in writes
        }
    except BaseException:
        written = [key for _, key, _ in writes]
        remove_upload(client, upload_id, written, since=started - _CLOCK_SKEW)
        raise
    main_avif = stored.get(avif_key(main_key))
    return StoredImage(
        main=stored[main_key],
        thumbnail=None if thumbnail_key is None else stored[thumbnail_key],
        url=client.generate_presigned_url(main_key),
        main_avif=main_avif,
        thumbnail_avif=None if thumbnail_key is None else stored.get(avif_key(thumbnail_key)),
        avif_url=None if main_avif is None else client.generate_presigned_url(main_avif.key),
    )


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
