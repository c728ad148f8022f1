"""Fixes applied to moto before it serves: defects that matter to a long-running local S3,
and what its S3 events leave out.

moto 5.x ``S3Backend.list_object_versions`` deep-copies every version of the bucket (its
bytes included, whatever the ``Prefix`` or ``MaxKeys``) on each call, and
``BaseModel.__new__`` appends every copy to ``FakeKey.instances_tracked``, a class-level
list only ``/moto-api/reset`` clears: each ``ListObjectVersions`` page kept the bytes of
every version in the bucket for the life of the server. The copy exists only so that the
listing can set ``is_latest`` without touching the stored key, so a view with its own
attribute dict, sharing the stored key's buffer, does the same without copying a byte.
Delete markers too: each is copied with the version it hid (``FakeDeleteMarker.key``).
"""

from __future__ import annotations

from typing import Any

from moto.s3 import notifications
from moto.s3.models import FakeDeleteMarker, FakeKey


class _ListedVersion(FakeKey):
    """A listing's view of a stored version: never closes the buffer it shares."""

    def dispose(self, garbage: bool = False) -> None:
        pass

    def __del__(self) -> None:
        pass


def _listing_view(self: FakeKey, memo: dict[int, Any]) -> FakeKey:
    view = object.__new__(_ListedVersion)  # not BaseModel.__new__: untracked, collectable
    view.__dict__.update(self.__dict__)
    return view


def _marker_view(self: FakeDeleteMarker, memo: dict[int, Any]) -> FakeDeleteMarker:
    view = object.__new__(FakeDeleteMarker)  # untracked; its ``key`` is the stored version
    view.__dict__.update(self.__dict__)
    return view


# moto 5.x's S3 event records name the object's key, size and ETag but not its
# ``versionId``, which S3 sends for every object created in a versioned bucket (and the
# upload worker pins its claim, download and delete to). Added here, as S3 writes it.
_original_s3_event = notifications._get_s3_event


def _s3_event_with_version(
    event_name: str, bucket: Any, key: Any, notification_id: str
) -> dict[str, list[dict[str, Any]]]:
    event = _original_s3_event(event_name, bucket, key, notification_id)
    if bucket.is_versioned and getattr(key, "version_id", "null") != "null":
        for record in event["Records"]:
            record["s3"]["object"]["versionId"] = key.version_id
    return event


def apply() -> None:
    """Idempotent; process-wide (also affects an in-process ``mock_aws``)."""
    FakeKey.__deepcopy__ = _listing_view  # type: ignore[attr-defined]
    FakeDeleteMarker.__deepcopy__ = _marker_view  # type: ignore[attr-defined]
    notifications._get_s3_event = _s3_event_with_version
