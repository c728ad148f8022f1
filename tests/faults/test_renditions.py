"""Renditions stay all-or-nothing when S3 stores a write but its response is lost.

``upload_clothing_image`` writes ``photo.jpg``, ``photo_thumb.jpg``, then their AVIFs
``photo.avif`` and ``photo_thumb.avif``, all tagged with one ``wearit-upload-id``. In each
scenario the proxy lets moto store writes and then resets the connection, so the SDK never
learns their version ids; afterwards nothing the failed upload wrote may remain, and the
renditions stored before it must be current again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.faults.helpers import UPLOAD_ID, current, snapshot, upload_id
from tests.faults.proxy import FaultKind, FaultProxy, Rule
from tests.sdk.helpers import make_jpeg
from wearit_storage import StorageError, SyncStorageRepository

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


def _upload(repo: SyncStorageRepository, color: str) -> str:
    return repo.upload_clothing_image(USER, ITEM, make_jpeg(color=color), FILENAME)


def _current_pair(admin: Any, bucket: str) -> dict[str, str | None]:
    return {key: current(admin, bucket, key) for key in RENDITIONS}


@pytest.mark.parametrize("previous", [False, True], ids=["fresh", "over-a-previous-pair"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_failed_upload_leaves_nothing_behind(
    scenario: str,
    previous: bool,
    repo: SyncStorageRepository,
    proxy: FaultProxy,
    admin: Any,
    bucket: str,
) -> None:
    if previous:
        _upload(repo, "green")  # healthy: the pair that must survive
    kept = _current_pair(admin, bucket)
    before = snapshot(admin, bucket, [FOLDER])
    first_record = len(proxy.records)
    rules = SCENARIOS[scenario]()
    proxy.script(*rules)

    with pytest.raises(StorageError):
        _upload(repo, "red")
    proxy.clear()

    # Not vacuous: every rule fired, and S3 stored the writes whose responses were lost.
    assert all(rule.matched for rule in rules)
    lost = proxy.matching(operation="PutObject", fault=FaultKind.RESET_AFTER)
    assert lost
    assert all(record.upstream_status == 200 for record in lost)
    failed_ids = {
        record.metadata.get(UPLOAD_ID)
        for record in proxy.records[first_record:]
        if record.operation == "PutObject"
    } - {None}

    after = snapshot(admin, bucket, [FOLDER])
    # No version or delete marker added, none of the previous pair removed, same bytes.
    assert sorted(after) == sorted(before)
    assert after == before
    for key, version_id, is_marker in after:
        if not is_marker:
            assert upload_id(admin, bucket, key, version_id) not in failed_ids
    assert _current_pair(admin, bucket) == kept
    assert all(kept.values()) is previous


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
    # What the proxy saw is what S3 stored: the id travels as x-amz-meta-wearit-upload-id.
    sent = {r.metadata.get(UPLOAD_ID) for r in proxy.matching(operation="PutObject")}
    assert sent == tags[0] | tags[1]
