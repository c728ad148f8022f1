"""Storing an image's renditions all-or-nothing, even when responses are lost.

Every write of one upload carries the same ``wearit-upload-id`` object tag. The main JPEG is
written first, then the thumbnail's JPEG, then their AVIFs (where the category stores AVIF,
beside each JPEG: :func:`~wearit_storage.paths.avif_key`). If anything fails, the upload is
undone on every key it may have written, whatever the SDK was told: a write whose response
was lost (S3 stored it, the SDK saw a reset) is found by its tag, and so is an earlier
attempt that a retry superseded. Tags, not metadata: a role can read a version's tags
(``s3:GetObjectVersionTagging``) without being able to read the photo.

How an upload is undone depends on what the writer may read; no application role may
delete versions of user data (only the eraser does):

- **superseded** (the default: the API, the try-on workers): on each key whose current
  version is the upload's, the newest version it did not write is copied back on top, or
  a delete marker hides the key when there is none. The renditions stored before, if
  any, are current again.
- **hidden** (``writer`` given: the upload worker, whose renditions are also tagged
  ``wearit-writer``): it reads no photo, so it cannot copy one back: if the upload is
  current on any key, delete markers hide every rendition of the pair (never a new main
  beside an old thumbnail). The renditions stored before, if any, stay below in the
  keys' history. This is the end state only of an
  upload that fails for good (a retry writes on top of the marker), which was replacing
  them.

Either way nothing is deleted for good: the upload's versions stay below as noncurrent
versions until the lifecycle (or an erasure) removes them. The worker deleted its own
versions before; S3 cannot confine that: ``s3:ExistingObjectTag`` is not evaluated for
deletes or overwrites (S3 User Guide, "Tagging and access control policies"), and a role
that may tag its writes may tag any current version (``PutObjectTagging``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Final, TypeVar

from wearit_storage.errors import StorageError
from wearit_storage.imaging import Renditions
from wearit_storage.observability import logger
from wearit_storage.paths import avif_key
from wearit_storage.renditions import MEDIA_TYPES
from wearit_storage.s3.client import StoredObject, SyncS3Client
from wearit_storage.s3.listings import key_versions
from wearit_storage.s3.versions import (
    KeyVersion,
    copy_version_on_top,
    current_entry,
    hide_key,
    to_key_version,
)

#: Object tag (``wearit-upload-id``) shared by the renditions of one upload.
UPLOAD_ID_TAG: Final = "wearit-upload-id"
#: Object tag naming who wrote the version (the upload worker: its role writes none without).
WRITER_TAG: Final = "wearit-writer"
#: The upload worker's writer tag: its role's conditions name this value.
UPLOAD_WORKER_WRITER: Final = "upload-worker"
#: Versions older than the upload's start by more than this cannot be its own: S3's clock
#: and ours may disagree, but not by minutes.
_CLOCK_SKEW: Final = timedelta(minutes=5)
#: An undo runs when the storage is already failing, and is several requests per key
#: (listing, tags, the copy): six tries, at most about 3.4 s of backoff in all.
_CLEANUP_ATTEMPTS: Final = 6
_CLEANUP_BACKOFF_S: Final = 0.2
_CLEANUP_MAX_BACKOFF_S: Final = 1.0

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoredImage:
    """What an upload stored: the JPEGs always, the AVIFs beside them where the category's
    policy stores AVIF (``None`` otherwise), and a presigned GET URL of each main image
    (pick one for a client with :func:`~wearit_storage.renditions.preferred_format`)."""

    main: StoredObject
    thumbnail: StoredObject | None
    # Bearer URLs: kept out of the repr, so logging a result never logs a credential.
    # The main JPEG's GET URL: a signed CDN URL of its version, or presigned S3.
    url: str = field(repr=False)
    main_avif: StoredObject | None = None
    thumbnail_avif: StoredObject | None = None
    avif_url: str | None = field(default=None, repr=False)  # ... of the main AVIF


def store_renditions(
    client: SyncS3Client,
    renditions: Renditions,
    main_key: str,
    thumbnail_key: str | None,
    *,
    writer: str | None = None,
) -> StoredImage:
    """Write every rendition (main, then the thumbnail if a key is given; each JPEG, then
    each AVIF the renditions hold), all-or-nothing; ``writer``: tag them with it, and undo
    a failure by hiding them, without reading any version (see the module)."""
    writes: list[tuple[bytes, str, str]] = [(renditions.main, main_key, MEDIA_TYPES["jpeg"])]
    if thumbnail_key is not None:
        writes.append((renditions.require_thumbnail(), thumbnail_key, MEDIA_TYPES["jpeg"]))
    if renditions.main_avif is not None:
        writes.append((renditions.main_avif, avif_key(main_key), MEDIA_TYPES["avif"]))
    if renditions.thumbnail_avif is not None and thumbnail_key is not None:
        writes.append((renditions.thumbnail_avif, avif_key(thumbnail_key), MEDIA_TYPES["avif"]))
    upload_id = uuid.uuid4().hex
    tags = {UPLOAD_ID_TAG: upload_id} | ({WRITER_TAG: writer} if writer else {})
    started = datetime.now(UTC)
    # Attempted, not only acknowledged: a PUT whose answer was lost may have landed. The
    # keys after the failed one were never sent, so their undo would be requests for nothing.
    attempted: list[str] = []
    stored: dict[str, StoredObject] = {}
    try:
        for body, key, content_type in writes:
            attempted.append(key)
            stored[key] = client.put_object(body, key, content_type, tags=tags)
    except BaseException:
        since = started - _CLOCK_SKEW
        if writer is None:
            undo_upload(client, upload_id, attempted, since=since)
        else:
            hide_upload(client, upload_id, attempted, family=[key for _, key, _ in writes])
        raise
    main_avif = stored.get(avif_key(main_key))
    return StoredImage(
        main=stored[main_key],
        thumbnail=None if thumbnail_key is None else stored[thumbnail_key],
        url=client.image_url(main_key, stored[main_key].version_id),
        main_avif=main_avif,
        thumbnail_avif=None if thumbnail_key is None else stored.get(avif_key(thumbnail_key)),
        avif_url=(
            None if main_avif is None else client.image_url(main_avif.key, main_avif.version_id)
        ),
    )


def undo_upload(client: SyncS3Client, upload_id: str, keys: list[str], *, since: datetime) -> None:
    """Supersede ``upload_id`` on ``keys`` (see the module; retried: it runs when the
    storage is already failing). A failure here is logged; the caller's error stands."""
    _retried(upload_id, [(key, partial(_supersede, client, key, upload_id, since)) for key in keys])


def hide_upload(
    client: SyncS3Client, upload_id: str, attempted: list[str], *, family: list[str]
) -> None:
    """If ``upload_id`` is current on any key it ``attempted``, hide every key of its
    ``family`` (all the renditions it was writing) that shows a version: a reader then sees
    none of the pair rather than a new main beside an old thumbnail. Retried, logged,
    never raised, like :func:`undo_upload`."""
    landed = _retried(
        upload_id, [(",".join(attempted), partial(_landed, client, upload_id, attempted))]
    )
    if landed == [True]:
        _retried(upload_id, [(key, partial(_hide_if_shown, client, key)) for key in family])


def _landed(client: SyncS3Client, upload_id: str, keys: list[str]) -> bool:
    """Whether ``upload_id`` is the current version of any of ``keys``."""
    for key in keys:
        with client.operation("rollback_lookup", key):
            if _current_of_upload(client, key, upload_id):
                return True
    return False


def _retried(upload_id: str, steps: list[tuple[str, Callable[[], T]]]) -> list[T] | None:
    """Run ``steps`` (key, step) in order, retried; their results, or ``None`` if they did
    not all run. A retry resumes at the step that failed: with four renditions an undo is
    many requests, and redoing the keys already undone would only meet more faults."""
    remaining = list(steps)
    results: list[T] = []
    for attempt in range(1, _CLEANUP_ATTEMPTS + 1):
        try:
            while remaining:
                results.append(remaining[0][1]())
                remaining.pop(0)
            return results
        except StorageError:
            if attempt == _CLEANUP_ATTEMPTS:
                # The write's own failure is what the caller must see; this one is logged
                # here and was reported to the metrics hook by the failed operation.
                logger.exception(
                    "rollback of upload %s failed: %s may show it",
                    upload_id,
                    ", ".join(key for key, _ in remaining),
                )
                return None
            time.sleep(min(_CLEANUP_MAX_BACKOFF_S, _CLEANUP_BACKOFF_S * 2 ** (attempt - 1)))
    return None


def _current_of_upload(client: SyncS3Client, key: str, upload_id: str) -> list[KeyVersion]:
    """The versions of ``key``, newest first, if its current one is ``upload_id``'s; else
    none (the upload's write never became current, or another came after it)."""
    entries = _entries(client, key)
    current = current_entry(entries)
    if current is None or current.is_delete_marker:
        return []
    if _upload_id_of(client, key, current.version_id) != upload_id:
        return []
    return entries


def _supersede(client: SyncS3Client, key: str, upload_id: str, since: datetime) -> None:
    """If the current version of ``key`` is the upload's, make the newest version it did
    not write current again (a copy on top), or hide the key if there is none."""
    with client.operation("rollback_lookup", key):
        entries = _current_of_upload(client, key, upload_id)
        if not entries:
            return
        previous = _newest_not_of(client, key, entries, upload_id, since)
    if previous is None:
        hide_key(client, key)
    else:
        copy_version_on_top(client, key, previous)


def _hide_if_shown(client: SyncS3Client, key: str) -> None:
    with client.operation("rollback_lookup", key):
        current = current_entry(_entries(client, key))
    if current is not None and not current.is_delete_marker:
        hide_key(client, key)


def _entries(client: SyncS3Client, key: str) -> list[KeyVersion]:
    """The versions and delete markers of ``key``, newest first (inside the caller's
    ``rollback_lookup`` operation: ``list_key_versions`` would log one of its own)."""
    return [to_key_version(e) for e in key_versions(client.boto_client, client.bucket_name, key)]


def _newest_not_of(
    client: SyncS3Client, key: str, entries: list[KeyVersion], upload_id: str, since: datetime
) -> KeyVersion | None:
    for entry in entries:
        if entry.is_delete_marker:
            return None  # the key was deleted before the upload: hide it again
        if entry.last_modified < since or _upload_id_of(client, key, entry.version_id) != upload_id:
            return entry
    return None


def newest_version_of_upload(client: SyncS3Client, key: str, upload_id: str) -> str | None:
    """The newest version of ``key`` that ``upload_id`` wrote (a restore's copy of it
    included), however old; ``None`` if it wrote none there."""
    with client.operation("upload_lookup", key):
        return next(_upload_versions(client, key, upload_id, since=None), None)


def upload_id_of(client: SyncS3Client, key: str, version_id: str) -> str | None:
    """The upload that wrote this version of ``key`` (``None``: not stored as a rendition,
    e.g. by ``upload_file``)."""
    with client.operation("tags", key):
        return _upload_id_of(client, key, version_id)


def _upload_versions(
    client: SyncS3Client, key: str, upload_id: str, since: datetime | None
) -> Iterator[str]:
    for entry in key_versions(client.boto_client, client.bucket_name, key):
        if since is not None and entry["LastModified"] < since:
            return  # newest first: everything further down predates the upload
        if entry["IsDeleteMarker"]:
            continue
        version_id = str(entry.get("VersionId") or "null")
        if _upload_id_of(client, key, version_id) == upload_id:
            yield version_id


def _upload_id_of(client: SyncS3Client, key: str, version_id: str) -> str | None:
    tags = tags_of(client, key, version_id)
    return tags.get(UPLOAD_ID_TAG)


def tags_of(client: SyncS3Client, key: str, version_id: str) -> Mapping[str, str]:
    """The tags of one version (``GetObjectTagging``: the tags only, never the bytes)."""
    response = client.boto_client.get_object_tagging(
        Bucket=client.bucket_name, Key=key, VersionId=version_id
    )
    return {tag["Key"]: tag["Value"] for tag in response.get("TagSet", [])}
