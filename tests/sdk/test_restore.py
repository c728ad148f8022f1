"""Restoring a key brings back every rendition of the same upload, all-or-nothing."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sdk.helpers import all_versions, make_jpeg
from wearit_storage import StorageError, SyncStorageRepository
from wearit_storage.cli import main
from wearit_storage.paths import rendition_family
from wearit_storage.uploads.store import UPLOAD_ID_TAG

MAIN = "avatars/u1/avatar.jpg"
THUMB = "avatars/u1/avatar_thumb.jpg"


def _body(admin: Any, bucket: str, key: str) -> bytes:
    body: bytes = admin.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _two_uploads(repo: SyncStorageRepository, admin: Any, bucket: str) -> dict[str, bytes]:
    """A photo, then a plain image over it (the issue's case); the first pair's bytes."""
    repo.upload_avatar("u1", make_jpeg((900, 700), "red"), "avatar.jpg")
    first = {key: _body(admin, bucket, key) for key in (MAIN, THUMB)}
    repo.upload_avatar("u1", make_jpeg((900, 700), "blue"), "avatar.png")  # same keys
    assert {key: _body(admin, bucket, key) for key in (MAIN, THUMB)} != first
    return first


@pytest.mark.parametrize("asked", [MAIN, THUMB])
def test_restoring_either_rendition_brings_back_the_whole_previous_upload(
    repo: SyncStorageRepository, admin: Any, bucket: str, asked: str
) -> None:
    first = _two_uploads(repo, admin, bucket)
    restored = repo.restore_renditions(asked)
    assert {key: _body(admin, bucket, key) for key in (MAIN, THUMB)} == first
    other = THUMB if asked == MAIN else MAIN
    # Every other rendition of the upload: the other JPEG and both AVIFs beside them.
    others = list(rendition_family(asked)[1:])
    assert (restored.key, list(restored.restored), restored.hidden) == (asked, others, ())
    current = admin.head_object(Bucket=bucket, Key=other)["VersionId"]
    assert restored.restored[other] == current
    # Both carry the restored upload's id again, so a second restore undoes this one whole.
    ids = {_upload_id(admin, bucket, k) for k in first}
    assert len(ids) == 1
    repo.restore_previous_version(MAIN)
    assert {key: _body(admin, bucket, key) for key in (MAIN, THUMB)} != first


def test_a_deleted_pair_comes_back_whole(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    repo.upload_avatar("u1", make_jpeg(color="red"), "avatar.jpg")
    pair = {key: _body(admin, bucket, key) for key in (MAIN, THUMB)}
    assert repo.s3_client.delete_file(MAIN)
    assert repo.s3_client.delete_file(THUMB)
    repo.restore_previous_version(MAIN)
    assert {key: _body(admin, bucket, key) for key in (MAIN, THUMB)} == pair


def test_a_rendition_only_the_undone_upload_wrote_is_hidden(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    key, thumb = "clothing/u1/c1/photo.jpg", "clothing/u1/c1/photo_thumb.jpg"
    repo.store_image(make_jpeg(color="red"), key)  # main only
    main_only = _body(admin, bucket, key)
    repo.store_image(make_jpeg(color="blue"), key, thumbnail_key=thumb)
    restored = repo.restore_renditions(key)
    assert _body(admin, bucket, key) == main_only
    # Clothing stores AVIFs too: the main-only upload wrote photo.avif, restored with
    # photo.jpg; both thumbnails are the undone upload's alone.
    assert restored.hidden == (thumb, "clothing/u1/c1/photo_thumb.avif")
    with pytest.raises(ClientError):
        admin.head_object(Bucket=bucket, Key=thumb)  # a delete marker: still restorable
    assert [marker for _, _, marker in all_versions(admin, bucket, thumb)] == [False, True]


def test_another_uploads_rendition_is_left_alone(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    """A thumbnail neither upload wrote (written by a third one before them) stays."""
    key, thumb = "clothing/u1/c1/photo.jpg", "clothing/u1/c1/photo_thumb.jpg"
    repo.store_image(make_jpeg(color="green"), key, thumbnail_key=thumb)
    third = _body(admin, bucket, thumb)
    repo.store_image(make_jpeg(color="red"), key)
    repo.store_image(make_jpeg(color="blue"), key)
    restored = repo.restore_renditions(key)
    # The AVIF beside photo.jpg is the same upload's, and comes back with it.
    assert (list(restored.restored), restored.hidden) == (["clothing/u1/c1/photo.avif"], ())
    assert _body(admin, bucket, thumb) == third


def test_every_key_of_the_same_upload_comes_back_not_only_the_thumbnail(
    repo: SyncStorageRepository, admin: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The family is the names of every rendition format: with a second format (as AVIF
    renditions will be), its keys of the same upload are restored too."""
    monkeypatch.setattr("wearit_storage.paths.RENDITION_EXTENSIONS", ("jpg", "jpeg"))
    keys = ["avatars/u1/avatar.jpeg", "avatars/u1/avatar_thumb.jpeg"]
    contents = {}
    for color in ("red", "blue"):
        repo.upload_avatar("u1", make_jpeg(color=color), "avatar.jpg")
        upload_id = _upload_id(admin, bucket, MAIN)
        for key in keys:
            tagging = f"{UPLOAD_ID_TAG}={upload_id}"
            admin.put_object(Bucket=bucket, Key=key, Body=color.encode(), Tagging=tagging)
        contents[color] = {key: _body(admin, bucket, key) for key in (MAIN, THUMB, *keys)}
    restored = repo.restore_renditions(MAIN)
    assert sorted(restored.restored) == sorted([THUMB, *keys])
    assert {key: _body(admin, bucket, key) for key in (MAIN, THUMB, *keys)} == contents["red"]


def _fail_copies_of(repo: SyncStorageRepository, key: str) -> None:
    def fail(params: dict[str, Any], **kwargs: Any) -> None:
        if params["Key"] == key:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "x"}}, "CopyObject")

    repo.s3_client.boto_client.meta.events.register("provide-client-params.s3.CopyObject", fail)


def test_a_failed_restore_leaves_the_pair_as_it_was(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    _two_uploads(repo, admin, bucket)
    before = {key: _body(admin, bucket, key) for key in (MAIN, THUMB)}
    _fail_copies_of(repo, THUMB)  # the main image is restored first, then this fails
    with pytest.raises(StorageError):
        repo.restore_previous_version(MAIN)
    assert {key: _body(admin, bucket, key) for key in (MAIN, THUMB)} == before
    # The main image had been restored, then the version before was copied back on top.
    assert len(all_versions(admin, bucket, MAIN)) == 4
    assert len(all_versions(admin, bucket, THUMB)) == 2


def test_the_cli_restores_what_the_sdk_restores(
    repo: SyncStorageRepository,
    admin: Any,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = repo.s3_client.settings
    for name, value in {
        "AWS_REGION_NAME": settings.region,
        "AWS_BUCKET_NAME": settings.bucket_name,
        "AWS_ENDPOINT_URL": str(settings.endpoint_url),
    }.items():
        monkeypatch.setenv(name, value)
    first = _two_uploads(repo, admin, bucket)
    assert main(["restore", MAIN]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"restored {MAIN}: current version is now ")
    assert out[1].startswith(f"restored {THUMB} (same upload): current version is now ")
    assert {key: _body(admin, bucket, key) for key in (MAIN, THUMB)} == first


def _upload_id(admin: Any, bucket: str, key: str) -> str:
    tags = admin.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return str({tag["Key"]: tag["Value"] for tag in tags}[UPLOAD_ID_TAG])
