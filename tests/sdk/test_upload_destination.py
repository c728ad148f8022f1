"""The destination an API pins into a presigned POST: form fields, exact-match policy
conditions, and the object metadata the worker reads back.

moto does not enforce POST policies, so what S3 would enforce is asserted on the decoded
policy document: every pinned field has an exact-match condition, and no condition lets
the uploader pick a value (S3 also refuses any form field the policy does not name).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from wearit_local.http_upload import post_presigned
from wearit_storage import InvalidStorageKey, SyncStorageRepository
from wearit_storage.uploads.destination import UploadDestination


def _conditions(fields: dict[str, str]) -> list[Any]:
    conditions: list[Any] = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    return conditions


def test_pinned_fields_are_form_fields_with_exact_match_conditions(
    repo: SyncStorageRepository,
) -> None:
    destination = UploadDestination("clothing", "user-1", "item-9")
    post = repo.presign_upload("sess-1", "photo.jpg", "image/jpeg", destination=destination)
    pinned = {
        "x-amz-meta-wearit-category": "clothing",
        "x-amz-meta-wearit-user-id": "user-1",
        "x-amz-meta-wearit-item-id": "item-9",
    }
    assert {name: post.fields[name] for name in pinned} == pinned
    conditions = _conditions(post.fields)
    for name, value in pinned.items():
        assert {name: value} in conditions
    # No starts-with (or any list condition) names a metadata field: nothing is open.
    open_ones = [c for c in conditions if isinstance(c, list) and "meta" in json.dumps(c)]
    assert open_ones == []


def test_avatars_pin_no_item_field_at_all(repo: SyncStorageRepository) -> None:
    post = repo.presign_upload(
        "sess-2", "me.png", destination=UploadDestination("avatar", "user-1")
    )
    metadata_fields = sorted(name for name in post.fields if name.startswith("x-amz-meta-"))
    assert metadata_fields == ["x-amz-meta-wearit-category", "x-amz-meta-wearit-user-id"]
    assert {"x-amz-meta-wearit-category": "avatars"} in _conditions(post.fields)
    assert not any("item-id" in json.dumps(c) for c in _conditions(post.fields))


def test_without_a_destination_nothing_is_pinned(repo: SyncStorageRepository) -> None:
    post = repo.presign_upload("sess-3", "photo.jpg")
    assert not any(name.startswith("x-amz-meta-") for name in post.fields)
    assert "meta" not in json.dumps(_conditions(post.fields))


@pytest.mark.parametrize(
    ("category", "user_id", "item_id", "message"),
    [
        ("tryon", "u1", "i1", "cannot promote"),
        ("temp", "u1", "i1", "cannot promote"),
        ("clothing", "u1/../u2", "i1", "user_id"),
        ("clothing", "u1", None, "needs an item_id"),
        ("avatars", "u1", "i1", "avatars have no item id"),
        ("body", "u1", "i 1", "item_id"),
    ],
)
def test_a_bad_destination_fails_at_presign_time(
    category: str, user_id: str, item_id: str | None, message: str
) -> None:
    with pytest.raises(InvalidStorageKey, match=message):
        UploadDestination(category, user_id, item_id)


def test_the_posted_fields_become_the_metadata_the_worker_reads(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    destination = UploadDestination("body", "user-7", "body-1")
    post = repo.presign_upload("sess-4", "me.jpg", destination=destination)
    assert post_presigned(post, jpeg, "image/jpeg") in (200, 201, 204)
    head = repo.s3_client.head_object("temp/sess-4/me.jpg")
    assert head.metadata == destination.metadata()
    assert UploadDestination.from_metadata(head.metadata, key=head.key) == destination
    assert admin.head_object(Bucket=bucket, Key=head.key)["Metadata"] == {
        "wearit-category": "body",
        "wearit-user-id": "user-7",
        "wearit-item-id": "body-1",
    }


def test_metadata_without_a_destination_reads_as_none_and_a_bad_one_is_refused() -> None:
    assert UploadDestination.from_metadata({}, key="temp/s/a.jpg") is None
    with pytest.raises(InvalidStorageKey, match="invalid pinned destination"):
        UploadDestination.from_metadata(
            {"wearit-category": "clothing", "wearit-user-id": "u/1", "wearit-item-id": "i"},
            key="temp/s/a.jpg",
        )
