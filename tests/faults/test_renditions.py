"""Renditions stay all-or-nothing when S3 stores a write but its response is lost.

An upload writes ``photo.jpg``, ``photo_thumb.jpg``, then their AVIFs ``photo.avif`` and
``photo_thumb.avif``, all tagged with one ``wearit-upload-id``. In each scenario the proxy
lets moto store writes and then resets the connection, so the SDK never learns their version
ids; afterwards no current version may be the failed upload's, and nothing stored before
is lost. Neither writer may delete versions; they undo differently:

- the API (``upload_clothing_image``) supersedes the failed upload: the previous version
  copied back on top (the pair stored before is current again), a delete marker where
  there was none; the failed versions stay below, noncurrent, for the lifecycle;
- the upload worker (``writer="upload-worker"``) reads no photo, so it cannot copy one
  back: once the failed upload is current on a key, it hides the whole pair behind delete
  markers; a pair stored before stays below, in the keys' history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.faults.helpers import UPLOAD_ID, current, snapshot, upload_id
from tests.faults.proxy import FaultKind, FaultProxy, Rule
from tests.sdk.helpers import make_jpeg
from wearit_storage import StorageError, SyncStorageRepository
from wearit_storage.uploads.store import UPLOAD_WORKER_WRITER, store_renditions

USER, ITEM, FILENAME = "u", "i", "photo.jpg"
FOLDER = f"clothing/{USER}/{ITEM}/"
MAIN = f"{FOLDER}photo.jpg"
THUMB = f"{FOLDER}photo_thumb.jpg"
THUMB_AVIF = f"{FOLDER}photo_thumb.avif"
RENDITIONS = (MAIN, THUMB, f"{FOLDER}photo.avif", THUMB_AVIF)

# Factories: a rule counts its matches, so every test needs fresh ones.
SCENARIOS: dict[str, Callable[[], list[Rule]]] = {
    # (A) S3 stores the main image on every attempt; every response is lost.
    "main-response-always-lost": lambda: [
        Rule(FaultKind.RESET_AFTER, operation="PutObject", key=MAIN)
    ],
    # (B) The first main write is stored but its response lost, the retry succeeds, then
    # the thumbnail is refused on every attempt.
    "main-lost-once-then-thumbnail-503": lambda: [
        Rule(FaultKind.RESET_AFTER, operation="PutObject", key=MAIN, nth=1),
        Rule(FaultKind.SLOWDOWN, operation="PutObject", key=THUMB),
    ],
    # (C) S3 stores the thumbnail on every attempt; every response is lost.
    "thumbnail-response-always-lost": lambda: [
        Rule(FaultKind.RESET_AFTER, operation="PutObject", key=THUMB)
    ],
    # (D) The last write, the thumbnail's AVIF, is stored on every attempt; every response
    # is lost: three renditions stored and acknowledged must go too.
    "last-avif-response-always-lost": lambda: [
        Rule(FaultKind.RESET_AFTER, operation="PutObject", key=THUMB_AVIF)
    ],
}


def _upload(repo: SyncStorageRepository, color: str, writer: str | None = None) -> str:
    if writer is None:
        return repo.upload_clothing_image(USER, ITEM, make_jpeg(color=color), FILENAME)
    renditions = repo.render(make_jpeg(color=color), "clothing")
    return store_renditions(repo.s3_client, renditions, MAIN, THUMB, writer=writer).main.key


def _current_pair(admin: Any, bucket: str) -> dict[str, str | None]:
    return {key: current(admin, bucket, key) for key in RENDITIONS}


@pytest.mark.parametrize("writer", [None, UPLOAD_WORKER_WRITER], ids=["api", "upload-worker"])
@pytest.mark.parametrize("previous", [False, True], ids=["fresh", "over-a-previous-pair"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_failed_upload_is_undone_on_both_keys(
    scenario: str,
    previous: bool,
    writer: str | None,
    repo: SyncStorageRepository,
    proxy: FaultProxy,
    admin: Any,
    bucket: str,
) -> None:
    if previous:
        _upload(repo, "green")  # healthy: the pair that must survive
    kept = _current_pair(admin, bucket)
    kept_bytes = {key: _bytes_of(admin, bucket, key) for key in RENDITIONS}
    before = snapshot(admin, bucket, [FOLDER])
    first_record = len(proxy.records)
    rules = SCENARIOS[scenario]()
    proxy.script(*rules)

    with pytest.raises(StorageError):
        _upload(repo, "red", writer)
    proxy.clear()

    # Not vacuous: every rule fired, and S3 stored the writes whose responses were lost.
    assert all(rule.matched for rule in rules)
    lost = proxy.matching(operation="PutObject", fault=FaultKind.RESET_AFTER)
    assert lost
    assert all(record.upstream_status == 200 for record in lost)
    failed_ids = {
        record.tags.get(UPLOAD_ID)
        for record in proxy.records[first_record:]
        if record.operation == "PutObject"
    } - {None}
    assert failed_ids

    after = snapshot(admin, bucket, [FOLDER])
    assert all(kept.values()) is previous
    for key, version in _current_pair(admin, bucket).items():
        if version is not None:
            assert upload_id(admin, bucket, key, version) not in failed_ids
    assert all(after.get(entry) == data for entry, data in before.items())  # nothing lost
    if writer is not None:
        # The worker hides: what it added is the failed upload's noncurrent versions and
        # delete markers. A write of it landed (above), so no key of the pair shows
        # anything: never a new main beside an old thumbnail.
        for key, version_id, is_marker in set(after) - set(before):
            assert is_marker or upload_id(admin, bucket, key, version_id) in failed_ids
        assert {key: _bytes_of(admin, bucket, key) for key in RENDITIONS} == dict.fromkeys(
            RENDITIONS
        )
    else:
        # What was current is current again, the same bytes (or the keys are absent again).
        assert {key: _bytes_of(admin, bucket, key) for key in RENDITIONS} == kept_bytes
        # The API supersedes: what it added is the failed upload's noncurrent versions, the
        # copies of the previous pair and delete markers, nothing else.
        for key, version_id, is_marker in set(after) - set(before):
            if not is_marker:
                tagged = upload_id(admin, bucket, key, version_id)
                assert (
                    tagged in failed_ids or after[(key, version_id, is_marker)] == (kept_bytes[key])
                ), (key, version_id)


def test_both_renditions_of_an_upload_carry_one_upload_id(
    repo: SyncStorageRepository, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    tags: list[set[str | None]] = []
    for color in ("green", "red"):
        _upload(repo, color)
        pair = _current_pair(admin, bucket)
        tags.append({upload_id(admin, bucket, key, str(version)) for key, version in pair.items()})
    assert all(len(tag) == 1 and None not in tag for tag in tags)
    assert tags[0] != tags[1]
    # What the proxy saw is what S3 stored: the id travels in the x-amz-tagging header.
    sent = {r.tags.get(UPLOAD_ID) for r in proxy.matching(operation="PutObject")}
    assert sent == tags[0] | tags[1]


def _bytes_of(admin: Any, bucket: str, key: str) -> bytes | None:
    version = current(admin, bucket, key)
    if version is None:
        return None
    body: bytes = admin.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()
    return body
