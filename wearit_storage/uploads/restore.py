"""Undoing the last overwrite or delete of an image: every rendition of it together.

The renditions of one upload share one ``wearit-upload-id`` (:mod:`.store`). Restoring a key
brings back the version below its current one
(:func:`~wearit_storage.s3.versions.version_to_restore`), and with it every other key the
same upload may have written (:func:`~wearit_storage.paths.rendition_family`: the thumbnail,
the other rendition formats):

- a key the restored upload wrote gets that upload's version back;
- a key the restored upload did not write, but whose current version the undone upload
  wrote, is hidden under a delete marker: it would be half of the upload being undone;
- any other key is left as it is (a key that is not a rendition has no family).

Everything is read before anything is written. The writes are copies and delete markers,
never deletions of versions: S3 does not replicate those, so the replica would disagree.
If one write fails, the ones made are undone the same way (the version that was current
copied on top again, or a delete marker put back) and the error is raised: the keys are as
they were, and every state stays in their history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

from wearit_storage.errors import StorageError
from wearit_storage.observability import logger
from wearit_storage.paths import rendition_family
from wearit_storage.s3.client import SyncS3Client
from wearit_storage.s3.versions import (
    KeyVersion,
    copy_version_on_top,
    current_entry,
    hide_key,
    list_key_versions,
    version_to_restore,
)
from wearit_storage.uploads.store import newest_version_of_upload, upload_id_of

_UNDO_ATTEMPTS: Final = 4
_UNDO_BACKOFF_S: Final = 0.2


@dataclass(frozen=True, slots=True)
class RestoredRenditions:
    """What a restore changed: the key asked for and the other renditions of its upload."""

    key: str
    version_id: str  # the key's current version now
    #: Other keys of the restored upload brought back with it: key -> new current version.
    restored: dict[str, str]
    #: Keys that held only the undone upload's rendition, now under a delete marker.
    hidden: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Change:
    key: str
    bring_back: KeyVersion | None  # None: hide the key
    current: KeyVersion  # what is current before the change (to undo it)


def restore_renditions(client: SyncS3Client, key: str) -> RestoredRenditions:
    """Undo the last overwrite or delete of ``key`` and of the other renditions of the
    upload it brings back, all-or-nothing (``ObjectNotFound`` when there is nothing to
    restore)."""
    current, source = version_to_restore(client, key)
    changes = [_Change(key, source, current)]
    restored_upload = upload_id_of(client, key, source.version_id)
    if restored_upload is not None:
        undone_upload = (
            None if current.is_delete_marker else upload_id_of(client, key, current.version_id)
        )
        for sibling in rendition_family(key)[1:]:
            change = _sibling_change(client, sibling, restored_upload, undone_upload)
            if change is not None:
                changes.append(change)
    made: list[tuple[_Change, str | None]] = []
    try:
        for change in changes:
            made.append((change, _apply(client, change)))
    except BaseException:
        _undo(client, [change for change, _ in made])
        raise
    version_id = str(made[0][1])
    logger.info(
        "restored key=%s version=%s with %d other rendition(s) of its upload",
        key,
        version_id,
        len(made) - 1,
    )
    return RestoredRenditions(
        key,
        version_id,
        restored={c.key: str(v) for c, v in made[1:] if c.bring_back is not None},
        hidden=tuple(c.key for c, _ in made[1:] if c.bring_back is None),
    )


def _sibling_change(
    client: SyncS3Client, sibling: str, restored_upload: str, undone_upload: str | None
) -> _Change | None:
    versions = list_key_versions(client, sibling)
    current = current_entry(versions)
    if current is None:
        return None  # never written: nothing to bring back, nothing to hide
    current_upload = (
        None if current.is_delete_marker else upload_id_of(client, sibling, current.version_id)
    )
    if current_upload == restored_upload:
        return None  # already the restored upload's
    wanted = newest_version_of_upload(client, sibling, restored_upload)
    if wanted is not None:
        by_id = {version.version_id: version for version in versions}
        return _Change(sibling, by_id[wanted], current)
    if undone_upload is not None and current_upload == undone_upload:
        return _Change(sibling, None, current)
    return None


def _apply(client: SyncS3Client, change: _Change) -> str | None:
    if change.bring_back is None:
        return hide_key(client, change.key)
    return copy_version_on_top(client, change.key, change.bring_back)


def _undo(client: SyncS3Client, made: list[_Change]) -> None:
    """Make current again what was current before each change (retried: it runs when the
    storage is already failing). A failure here is logged; the caller's error stands."""
    pending = list(reversed(made))
    for attempt in range(1, _UNDO_ATTEMPTS + 1):
        try:
            while pending:
                change = pending[0]
                if change.current.is_delete_marker:
                    hide_key(client, change.key)
                else:
                    copy_version_on_top(client, change.key, change.current)
                pending.pop(0)
            return
        except StorageError:
            if attempt == _UNDO_ATTEMPTS:
                # The restore's own failure is what the caller must see; this one is logged
                # here and was reported to the metrics hook by the failed operation.
                logger.exception(
                    "undoing a failed restore failed: %s may hold the restored version",
                    ", ".join(change.key for change in pending),
                )
                return
            time.sleep(_UNDO_BACKOFF_S * 2 ** (attempt - 1))
