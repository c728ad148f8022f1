"""SyncStorageRepository against moto: renditions, temp uploads, versions, usage."""

from __future__ import annotations

import dataclasses
import io
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from tests.sdk.helpers import all_versions, make_jpeg
from wearit_storage import (
    ImageLimits,
    ImageRejected,
    InvalidStorageKey,
    InvalidStorageRequest,
    ObjectNotFound,
    OperationMetric,
    StorageError,
    StorageSettings,
    SyncS3Client,
    SyncStorageRepository,
)
from wearit_storage.categories import USER_CATEGORIES, Category
from wearit_storage.imaging.checks import human_bytes
from wearit_storage.renditions import DEFAULT_POLICIES, RenditionPolicy
from wearit_storage.uploads.store import UPLOAD_WORKER_WRITER, store_renditions


def _image(admin: Any, bucket: str, key: str) -> Image.Image:
    data = admin.get_object(Bucket=bucket, Key=key)["Body"].read()
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_clothing_upload_stores_main_and_thumbnail(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    url = repo.upload_clothing_image("u1", "c1", jpeg, "photo.jpg")
    assert "/clothing/u1/c1/photo.jpg?" in url
    keys = sorted(k for k, _, _ in all_versions(admin, bucket))
    assert keys == [
        "clothing/u1/c1/photo.avif",
        "clothing/u1/c1/photo.jpg",
        "clothing/u1/c1/photo_thumb.avif",
        "clothing/u1/c1/photo_thumb.jpg",
    ]
    for extension, fmt, content_type in (
        ("jpg", "JPEG", "image/jpeg"),
        ("avif", "AVIF", "image/avif"),
    ):
        main = _image(admin, bucket, f"clothing/u1/c1/photo.{extension}")
        thumb = _image(admin, bucket, f"clothing/u1/c1/photo_thumb.{extension}")
        assert (main.format, thumb.format) == (fmt, fmt)
        assert main.size == (800, 600)
        assert thumb.size == (200, 200)
        head = admin.head_object(Bucket=bucket, Key=f"clothing/u1/c1/photo_thumb.{extension}")
        assert head["ContentType"] == content_type


def test_a_png_upload_is_stored_under_the_jpeg_name_of_its_content(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    url = repo.upload_avatar("u1", jpeg, "me.png")
    assert "/avatars/u1/me.jpg?" in url
    assert {k for k, _, _ in all_versions(admin, bucket)} == {
        "avatars/u1/me.jpg",
        "avatars/u1/me_thumb.jpg",
        "avatars/u1/me.avif",
        "avatars/u1/me_thumb.avif",
    }
    assert admin.head_object(Bucket=bucket, Key="avatars/u1/me.jpg")["ContentType"] == "image/jpeg"


def test_distinct_main_keys_never_share_a_thumbnail(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    # photo.png and photo.webp are the same image as photo.jpg: each upload replaces the
    # pair as a whole; another name gets its own thumbnail.
    repo.upload_clothing_image("u1", "c1", make_jpeg(color="red"), "photo.png")
    repo.upload_clothing_image("u1", "c1", make_jpeg(color="green"), "photo.webp")
    repo.upload_clothing_image("u1", "c1", make_jpeg(color="blue"), "other.jpeg")
    current = {
        v["Key"]: v["VersionId"]
        for v in admin.list_object_versions(Bucket=bucket, Prefix="clothing/u1/c1/")["Versions"]
        if v["IsLatest"]
    }
    assert sorted(current) == [
        "clothing/u1/c1/other.avif",
        "clothing/u1/c1/other.jpg",
        "clothing/u1/c1/other_thumb.avif",
        "clothing/u1/c1/other_thumb.jpg",
        "clothing/u1/c1/photo.avif",
        "clothing/u1/c1/photo.jpg",
        "clothing/u1/c1/photo_thumb.avif",
        "clothing/u1/c1/photo_thumb.jpg",
    ]
    pairs = {
        key: admin.get_object_tagging(Bucket=bucket, Key=key, VersionId=version)["TagSet"]
        for key, version in current.items()
    }
    assert pairs["clothing/u1/c1/photo.jpg"] == pairs["clothing/u1/c1/photo_thumb.jpg"]
    assert pairs["clothing/u1/c1/other.jpg"] == pairs["clothing/u1/c1/other_thumb.jpg"]
    assert pairs["clothing/u1/c1/photo.jpg"] != pairs["clothing/u1/c1/other.jpg"]
    with pytest.raises(InvalidStorageKey, match=r"must end in '\.jpg'"):
        repo.upload_optimized_image(make_jpeg(), "tryon/u1/t1/out.png")


def test_body_and_tryon_store_one_rendition(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    body_url = repo.upload_body_image("u1", "b1", jpeg, "front.jpg")
    repo.upload_tryon_result("u1", "t1", jpeg, "result.jpg")
    assert {k for k, _, _ in all_versions(admin, bucket)} == {
        "body/u1/b1/front.jpg",
        "tryon/u1/t1/result.jpg",
    }
    assert "X-Amz-Expires=300" in body_url  # body photos: short-lived link


def test_invalid_images_are_rejected_before_any_write(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    with pytest.raises(ImageRejected):
        repo.upload_clothing_image("u1", "c1", b"not an image", "photo.jpg")
    with pytest.raises(InvalidStorageKey):
        repo.upload_clothing_image("u1", "../c1", make_jpeg(), "photo.jpg")
    assert all_versions(admin, bucket) == []


def _fail_puts_of(repo: SyncStorageRepository, key_suffix: str) -> None:
    def fail(params: dict[str, Any], **kwargs: Any) -> None:
        if params["Key"].endswith(key_suffix):
            raise ClientError({"Error": {"Code": "InternalError", "Message": "x"}}, "PutObject")

    repo.s3_client.boto_client.meta.events.register("provide-client-params.s3.PutObject", fail)


def test_failed_thumbnail_write_leaves_neither_rendition_current(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    _fail_puts_of(repo, "_thumb.jpg")
    with pytest.raises(StorageError):
        repo.upload_clothing_image("u1", "c1", jpeg, "photo.jpg")
    # The API deletes no version: the half-written main is hidden under a delete marker,
    # noncurrent until the lifecycle (or an erasure) removes it; no key shows anything.
    assert admin.list_objects_v2(Bucket=bucket, Prefix="clothing/").get("KeyCount") == 0
    assert sorted((k, marker) for k, _, marker in all_versions(admin, bucket)) == [
        ("clothing/u1/c1/photo.jpg", False),
        ("clothing/u1/c1/photo.jpg", True),
    ]


def test_a_worker_written_failed_pair_is_hidden_without_a_version_deleted(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    """The upload worker, which may delete no version of user data and read no photo,
    hides the main it wrote: no key shows anything, its version stays noncurrent."""
    _fail_puts_of(repo, "_thumb.jpg")
    renditions = repo.render(jpeg, "clothing")
    with pytest.raises(StorageError):
        store_renditions(
            repo.s3_client,
            renditions,
            "clothing/u1/c1/photo.jpg",
            "clothing/u1/c1/photo_thumb.jpg",
            writer=UPLOAD_WORKER_WRITER,
        )
    assert admin.list_objects_v2(Bucket=bucket, Prefix="clothing/").get("KeyCount") == 0
    assert sorted((k, marker) for k, _, marker in all_versions(admin, bucket)) == [
        ("clothing/u1/c1/photo.jpg", False),
        ("clothing/u1/c1/photo.jpg", True),
    ]


def test_failed_thumbnail_write_keeps_the_previous_pair_current(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    repo.upload_clothing_image("u1", "c1", make_jpeg(color="red"), "photo.jpg")
    before = admin.get_object(Bucket=bucket, Key="clothing/u1/c1/photo.jpg")["Body"].read()
    _fail_puts_of(repo, "_thumb.jpg")
    with pytest.raises(StorageError):
        repo.upload_clothing_image("u1", "c1", make_jpeg(color="green"), "photo.jpg")
    after = admin.get_object(Bucket=bucket, Key="clothing/u1/c1/photo.jpg")["Body"].read()
    assert after == before
    # Superseded, not deleted: the previous version copied back on top of the failed one.
    versions = all_versions(admin, bucket, "clothing/u1/c1/photo.jpg")
    assert [marker for _, _, marker in versions] == [False, False, False]


def test_a_rollback_goes_through_the_instrumented_client(
    settings: StorageSettings, admin: Any, bucket: str, jpeg: bytes
) -> None:
    metrics: list[OperationMetric] = []
    with SyncStorageRepository.from_settings(settings, metrics_hook=metrics.append) as repository:
        _fail_puts_of(repository, "_thumb.jpg")
        with pytest.raises(StorageError):
            repository.upload_clothing_image("u1", "c1", jpeg, "photo.jpg")
    assert [(m.operation, m.key, m.outcome) for m in metrics] == [
        ("exists", "erasures/u1/request.json", "ok"),
        ("upload", "clothing/u1/c1/photo.jpg", "ok"),
        ("upload", "clothing/u1/c1/photo_thumb.jpg", "error"),
        ("rollback_lookup", "clothing/u1/c1/photo.jpg", "ok"),
        ("delete", "clothing/u1/c1/photo.jpg", "ok"),
        # The failed PUT may have landed (a lost answer): looked at too. The AVIFs, after
        # it, were never sent: no request for them.
        ("rollback_lookup", "clothing/u1/c1/photo_thumb.jpg", "ok"),
    ]
    assert admin.list_objects_v2(Bucket=bucket, Prefix="clothing/").get("KeyCount") == 0


def _with_upload_limit(settings: StorageSettings, limit: int) -> SyncStorageRepository:
    client = SyncS3Client.from_settings(dataclasses.replace(settings, max_upload_bytes=limit))
    return SyncStorageRepository(client)


def test_upload_temp_limits_and_types(
    repo: SyncStorageRepository, settings: StorageSettings, admin: Any, bucket: str, jpeg: bytes
) -> None:
    stored = repo.upload_temp("sess-1", jpeg, "raw.tmp")
    assert stored.key == "temp/sess-1/raw.tmp"
    head = admin.head_object(Bucket=bucket, Key=stored.key)
    assert head["ContentType"] == "application/octet-stream"
    repo.upload_temp("sess-1", jpeg, "raw.jpg", "image/jpeg")
    with pytest.raises(InvalidStorageRequest, match="text/html"):
        repo.upload_temp("sess-1", jpeg, "raw.jpg", "text/html")
    with (
        _with_upload_limit(settings, 10) as small,
        pytest.raises(InvalidStorageRequest, match="exceeds the limit of 10 bytes"),
    ):
        small.upload_temp("sess-1", jpeg, "raw.jpg")


def test_promote_temp_upload_renders_and_removes_temp(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    repo.upload_temp("sess-1", jpeg, "upload.jpg", "image/jpeg")
    repo.upload_temp("sess-1", jpeg, "upload.jpg", "image/jpeg")  # two versions
    stored = repo.promote_temp_upload(
        "sess-1", "upload.jpg", user_id="u1", category="clothing", item_id="c9"
    )
    assert stored.main.key == "clothing/u1/c9/image.jpg"
    assert stored.thumbnail is not None
    assert stored.thumbnail.key == "clothing/u1/c9/image_thumb.jpg"
    assert "/clothing/u1/c9/image.jpg?" in stored.url
    assert all_versions(admin, bucket, "temp/") == []
    assert _image(admin, bucket, "clothing/u1/c9/image_thumb.jpg").size == (200, 200)


def test_promote_avatar_and_body_names(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    repo.upload_temp("s", jpeg, "a.jpg")
    avatar = repo.promote_temp_upload("s", "a.jpg", user_id="u1", category="avatar")
    assert (avatar.main.key, avatar.thumbnail and avatar.thumbnail.key) == (
        "avatars/u1/avatar.jpg",
        "avatars/u1/avatar_thumb.jpg",
    )
    repo.upload_temp("s", jpeg, "b.jpg")
    body = repo.promote_temp_upload("s", "b.jpg", user_id="u1", category="body", item_id="b1")
    assert body.main.key == "body/u1/b1/image.jpg"
    assert body.thumbnail is None


def test_promote_rejected_image_deletes_temp_anyway(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    repo.upload_temp("sess-1", b"GIF89a not accepted", "upload.jpg")
    with pytest.raises(ImageRejected):
        repo.promote_temp_upload(
            "sess-1", "upload.jpg", user_id="u1", category="clothing", item_id="c1"
        )
    assert all_versions(admin, bucket) == []


def test_promote_keeps_temp_when_the_final_write_fails(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    repo.upload_temp("sess-1", jpeg, "upload.jpg")
    _fail_puts_of(repo, "thumb.jpg")
    with pytest.raises(StorageError):
        repo.promote_temp_upload(
            "sess-1", "upload.jpg", user_id="u1", category="clothing", item_id="c1"
        )
    # The temp upload is kept for the retry; the failed pair shows nothing (the main's
    # version superseded by a delete marker).
    assert [k for k, _, _ in all_versions(admin, bucket, "temp/")] == ["temp/sess-1/upload.jpg"]
    assert admin.list_objects_v2(Bucket=bucket, Prefix="clothing/").get("KeyCount") == 0


def test_promote_argument_checks(repo: SyncStorageRepository) -> None:
    with pytest.raises(InvalidStorageKey, match="tryon"):
        repo.promote_temp_upload("s", "a.jpg", user_id="u1", category="tryon", item_id="t")
    with pytest.raises(InvalidStorageKey, match="item_id"):
        repo.promote_temp_upload("s", "a.jpg", user_id="u1", category="clothing")
    with pytest.raises(InvalidStorageKey, match="item_id=None"):
        repo.promote_temp_upload("s", "a.jpg", user_id="u1", category="avatars", item_id="x")
    with pytest.raises(ObjectNotFound, match=re.escape("temp/s/a.jpg")):
        repo.promote_temp_upload("s", "a.jpg", user_id="u1", category="avatars")


def test_promote_only_purges_the_exact_temp_key(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    repo.upload_temp("s", jpeg, "a.jpg")
    repo.upload_temp("s", jpeg, "a.jpg.tmp")  # "a.jpg" is a prefix of this key
    repo.promote_temp_upload("s", "a.jpg", user_id="u1", category="avatars")
    assert [k for k, _, _ in all_versions(admin, bucket, "temp/")] == ["temp/s/a.jpg.tmp"]


def test_restore_previous_version_undoes_an_overwrite(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    key = "tryon/u1/t1/r.jpg"
    repo.s3_client.put_object(b"first", key)
    repo.s3_client.put_object(b"second", key)
    repo.restore_previous_version(key)
    assert repo.s3_client.download_file(key) == b"first"
    assert len(all_versions(admin, bucket, key)) == 3  # the overwrite stays restorable
    assert admin.head_object(Bucket=bucket, Key=key)["ContentType"] == "image/jpeg"


def test_restore_previous_version_undoes_a_delete(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    key = "tryon/u1/t1/r.jpg"
    first = repo.s3_client.put_object(b"first", key)
    repo.s3_client.delete_file(key)
    repo.s3_client.delete_file(key)  # deleted twice: markers on top
    markers = [v for v in all_versions(admin, bucket, key) if v[2]]
    assert markers

    restored = repo.restore_previous_version(key)

    assert repo.s3_client.download_file(key) == b"first"
    # A new version copied on top (replicates), not markers deleted by id (never replicates).
    assert restored != first.version_id
    assert admin.head_object(Bucket=bucket, Key=key)["VersionId"] == restored
    assert [v for v in all_versions(admin, bucket, key) if v[2]] == markers


def test_restore_without_history_is_object_not_found(repo: SyncStorageRepository) -> None:
    with pytest.raises(ObjectNotFound):
        repo.restore_previous_version("tryon/u1/t1/none.jpg")
    repo.s3_client.put_object(b"only", "tryon/u1/t1/one.jpg")
    with pytest.raises(ObjectNotFound, match="no earlier version"):
        repo.restore_previous_version("tryon/u1/t1/one.jpg")


def test_user_storage_usage(repo: SyncStorageRepository) -> None:
    client = repo.s3_client
    client.put_object(b"a" * 10, "clothing/u1/c1/a.jpg")
    client.put_object(b"a" * 20, "clothing/u1/c1/a.jpg")  # 10 bytes become noncurrent
    client.put_object(b"b" * 5, "clothing/u1/c2/b.jpg")
    client.put_object(b"c" * 7, "body/u1/b1/c.jpg")
    client.put_object(b"d" * 3, "avatars/u1/d.jpg")
    client.delete_file("avatars/u1/d.jpg")
    client.put_object(b"x" * 99, "clothing/u10/c1/a.jpg")  # another user
    usage = repo.user_storage_usage("u1")
    clothing = usage.categories["clothing"]
    assert (clothing.objects, clothing.bytes) == (2, 25)
    assert (clothing.noncurrent_versions, clothing.noncurrent_bytes) == (1, 10)
    assert (usage.categories["body"].objects, usage.categories["body"].bytes) == (1, 7)
    assert usage.categories["avatars"].objects == 0
    assert usage.categories["avatars"].noncurrent_bytes == 3
    assert usage.categories["tryon"].objects == 0
    assert (usage.objects, usage.bytes, usage.noncurrent_bytes) == (3, 32, 13)


def test_from_settings_connects_primary_and_replica(settings: StorageSettings) -> None:
    with SyncStorageRepository.from_settings(settings) as repository:
        assert repository.s3_client.bucket_name == settings.bucket_name
        assert repository.replica_client is not None
        assert repository.replica_client.bucket_name == settings.replica_bucket_name
        assert repository.replica_client.boto_client.meta.region_name == "eu-central-1"
        assert repository.max_upload_bytes == settings.max_upload_bytes


def test_promote_refuses_oversized_temp_objects_without_reading_them(
    settings: StorageSettings, admin: Any, bucket: str, jpeg: bytes
) -> None:
    # A presigned PUT cannot bound the size, so the object may exceed the POST limit.
    admin.put_object(Bucket=bucket, Key="temp/s/big.jpg", Body=jpeg)
    with (
        _with_upload_limit(settings, len(jpeg) - 1) as small,
        pytest.raises(ImageRejected, match="over the limit"),
    ):
        small.promote_temp_upload("s", "big.jpg", user_id="u1", category="avatars")
    assert all_versions(admin, bucket) == []


def test_download_with_a_size_limit(repo: SyncStorageRepository) -> None:
    repo.s3_client.put_object(b"12345", "tryon/u1/t1/r.jpg")
    assert repo.s3_client.download_file("tryon/u1/t1/r.jpg", max_bytes=5) == b"12345"
    with pytest.raises(InvalidStorageRequest, match="over the limit of 4"):
        repo.s3_client.download_file("tryon/u1/t1/r.jpg", max_bytes=4)


def test_seed_upload_optimized_image(repo: SyncStorageRepository, admin: Any, bucket: str) -> None:
    url = repo.upload_optimized_image(make_jpeg((2000, 1000)), "clothing/u1/c1/out.jpg")
    assert "/clothing/u1/c1/out.jpg?" in url
    assert _image(admin, bucket, "clothing/u1/c1/out.jpg").size == (800, 400)
    # The key's category decides the policy: try-on results keep the model's resolution.
    repo.upload_optimized_image(make_jpeg((3000, 1500)), "tryon/u1/t1/out.jpg")
    assert _image(admin, bucket, "tryon/u1/t1/out.jpg").size == (2048, 1024)
    with pytest.raises(InvalidStorageKey):
        repo.upload_optimized_image(make_jpeg(), "tryon/u1/out.jpg")


def test_store_methods_return_what_was_stored(
    repo: SyncStorageRepository, admin: Any, bucket: str, jpeg: bytes
) -> None:
    stored = repo.store_clothing_image("u1", "c1", jpeg, "photo.png")
    assert stored.main.key == "clothing/u1/c1/photo.jpg"
    assert stored.thumbnail is not None
    assert stored.thumbnail.key == "clothing/u1/c1/photo_thumb.jpg"
    current = admin.head_object(Bucket=bucket, Key=stored.main.key)["VersionId"]
    assert stored.main.version_id == current
    assert "/clothing/u1/c1/photo.jpg?" in stored.url
    body = repo.store_body_image("u1", "b1", jpeg, "front.jpg")
    assert (body.main.key, body.thumbnail) == ("body/u1/b1/front.jpg", None)


def test_read_methods_take_the_path_builders_arguments(
    repo: SyncStorageRepository, jpeg: bytes
) -> None:
    repo.upload_clothing_image("u1", "c1", jpeg, "photo.jpg")
    repo.upload_body_image("u1", "b1", jpeg, "front.heic")
    repo.upload_tryon_result("u1", "t1", jpeg, "result.jpg")
    repo.upload_avatar("u1", jpeg, "me.png")
    for data in (
        repo.download_clothing_image("u1", "c1", "photo.jpg"),
        repo.download_body_image("u1", "b1", "front.heic"),  # the name it was uploaded under
        repo.download_tryon_result("u1", "t1", "result.jpg"),
        repo.download_avatar("u1", "me.jpg"),
    ):
        assert Image.open(io.BytesIO(data)).format == "JPEG"
    with pytest.raises(ObjectNotFound):
        repo.download_body_image("u1", "b2", "front.jpg")


def test_the_upload_limit_applies_to_every_upload_path(
    settings: StorageSettings, admin: Any, bucket: str
) -> None:
    photo = make_jpeg((3000, 2000))
    with _with_upload_limit(settings, len(photo) - 1) as small:
        # The repository renders within WEARIT_MAX_UPLOAD_BYTES, not the default limit.
        with pytest.raises(
            ImageRejected, match=f"over the {human_bytes(len(photo) - 1)} limit"
        ) as info:
            small.upload_clothing_image("u1", "c1", photo, "photo.jpg")
        assert (info.value.reason, info.value.http_status) == ("too_large", 413)
        with pytest.raises(InvalidStorageRequest) as too_large:
            small.upload_temp("s1", photo, "photo.jpg", "image/jpeg")
        assert too_large.value.http_status == 413
    assert all_versions(admin, bucket) == []


def test_image_limits_cannot_bring_a_second_byte_limit(settings: StorageSettings) -> None:
    client = SyncS3Client.from_settings(settings)
    with pytest.raises(ValueError, match="WEARIT_MAX_UPLOAD_BYTES"):
        SyncStorageRepository(client, image_limits=ImageLimits(max_bytes=25 * 1024**2))
    # Pixels and formats are the limits' own; the byte limit stays the setting's.
    repository = SyncStorageRepository(client, image_limits=ImageLimits(max_pixels=1000))
    with pytest.raises(ImageRejected) as info, repository:
        repository.render(make_jpeg((100, 100)))
    assert info.value.reason == "too_many_pixels"


def test_health_is_truthy_when_both_buckets_answer(repo: SyncStorageRepository) -> None:
    report = repo.health()
    assert report
    assert set(report.buckets.values()) == {"ok"}
    assert len(report.buckets) == 2  # primary and replica


def test_health_never_raises_and_says_why(settings: StorageSettings) -> None:
    missing = dataclasses.replace(settings, bucket_name="no-such-bucket-here")
    with SyncStorageRepository.from_settings(missing) as repository:
        report = repository.health()
    assert not report
    assert report.buckets["no-such-bucket-here"] == "configuration_error"
    assert "no-such-bucket-here: configuration_error" in report.reason
    assert report.buckets[str(settings.replica_bucket_name)] == "ok"


@pytest.mark.parametrize(
    ("category", "source", "expected"),
    [
        ("clothing", (3000, 4000), ((600, 800), True)),
        ("avatars", (3000, 4000), ((600, 800), True)),
        ("body", (3000, 4000), ((1536, 2048), False)),
        ("tryon", (768, 1024), ((768, 1024), False)),  # never upscaled, never shrunk
    ],
)
def test_each_category_follows_its_rendition_policy(
    repo: SyncStorageRepository,
    admin: Any,
    bucket: str,
    category: str,
    source: tuple[int, int],
    expected: tuple[tuple[int, int], bool],
) -> None:
    data = make_jpeg(source)
    if category == "avatars":
        stored = repo.store_avatar("u1", data, "p.jpg")
    else:
        store = {
            "clothing": repo.store_clothing_image,
            "body": repo.store_body_image,
            "tryon": repo.store_tryon_result,
        }[category]
        stored = store("u1", "i1", data, "p.jpg")
    assert (_image(admin, bucket, stored.main.key).size, stored.thumbnail is not None) == expected
    quality = DEFAULT_POLICIES[Category(category)].main_quality
    assert quality == (85 if category in ("clothing", "avatars") else 90)


def test_promotion_follows_the_same_table(
    repo: SyncStorageRepository, admin: Any, bucket: str
) -> None:
    repo.upload_temp("sess-b", make_jpeg((3000, 4000)), "up.jpg")
    stored = repo.promote_temp_upload(
        "sess-b", "up.jpg", user_id="u1", category="body", item_id="b1"
    )
    assert (stored.main.key, stored.thumbnail) == ("body/u1/b1/image.jpg", None)
    assert _image(admin, bucket, "body/u1/b1/image.jpg").size == (1536, 2048)


def test_an_application_overrides_a_policy(client: SyncS3Client, admin: Any, bucket: str) -> None:
    custom = RenditionPolicy((1024, 1024), 92, (100, 100), 70)
    repository = SyncStorageRepository(client, policies={"body": custom})
    stored = repository.store_body_image("u1", "b1", make_jpeg((3000, 4000)), "p.jpg")
    assert _image(admin, bucket, stored.main.key).size == (768, 1024)
    assert stored.thumbnail is not None
    assert _image(admin, bucket, stored.thumbnail.key).size == (100, 100)
    assert repository.policies[Category.CLOTHING] == DEFAULT_POLICIES[Category.CLOTHING]
    with pytest.raises(ValueError, match="holds no renditions"):
        SyncStorageRepository(client, policies={"temp": custom})
    with pytest.raises(ValueError, match=r"main_quality must be 1\.\.95"):
        RenditionPolicy((10, 10), 0)


def test_every_category_of_user_data_has_a_policy() -> None:
    assert set(DEFAULT_POLICIES) == set(USER_CATEGORIES)
