"""Storing an image's renditions all-or-nothing.

Renditions are written main first, thumbnail second; if the second write fails, the
version written by the first is deleted again (by its ``VersionId``), so neither is left
and a previous version of the main key, if any, is current again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from wearit_storage.client import StoredObject, SyncS3Client
from wearit_storage.imaging import Renditions
from wearit_storage.observability import logger

JPEG: Final = "image/jpeg"


@dataclass(frozen=True, slots=True)
class StoredImage:
    main: StoredObject
    thumbnail: StoredObject | None
    url: str  # presigned GET URL of the main rendition


def store_renditions(
    client: SyncS3Client, renditions: Renditions, main_key: str, thumbnail_key: str | None
) -> StoredImage:
    """Write the main rendition, then the thumbnail (if a key is given); roll back on failure."""
    main = client.put_object(renditions.main, main_key, JPEG)
    thumbnail = None
    if thumbnail_key is not None:
        try:
            thumbnail = client.put_object(renditions.thumbnail, thumbnail_key, JPEG)
        except BaseException:
            _roll_back(client, main)
            raise
    return StoredImage(main, thumbnail, client.generate_presigned_url(main_key))


def _roll_back(client: SyncS3Client, written: StoredObject) -> None:
    try:
        client.delete_version(written.key, written.version_id)
    except Exception:
        # The write's own failure is what the caller must see; this one is logged (and was
        # reported to the metrics hook by delete_version).
        logger.exception(
            "rollback failed: %s (version %s) is left behind", written.key, written.version_id
        )
