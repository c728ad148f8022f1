"""Keys are safe by construction: validated ids, single-segment file names, six layouts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wearit_storage import InvalidStorageKey, StoragePathBuilder, new_upload_session_id, parse_key
from wearit_storage.categories import Category
from wearit_storage.paths import (
    avif_key,
    build_key,
    export_key,
    item_prefix,
    new_export_id,
    rendition_family,
    thumbnail_name,
    user_prefix,
    validate_key,
)


def test_builder_keeps_the_seed_layout() -> None:
    assert StoragePathBuilder.clothing_path("u1", "c1", "a.jpg") == "clothing/u1/c1/a.jpg"
    assert StoragePathBuilder.body_path("u1", "b1", "a.png") == "body/u1/b1/a.png"
    assert StoragePathBuilder.tryon_path("u1", "t1", "a.webp") == "tryon/u1/t1/a.webp"
    assert StoragePathBuilder.avatar_path("u1", "avatar.jpg") == "avatars/u1/avatar.jpg"
    assert StoragePathBuilder.temp_path("s-1", "f_1.tmp") == "temp/s-1/f_1.tmp"
    # instance calls, as the seed's repository does through self.path_builder
    assert StoragePathBuilder().clothing_path("U_9", "x-Y", "IMG_0001.HEIC").endswith(".HEIC")


BAD_IDS = [
    "",
    "a/b",
    "..",
    ".",
    "a.b",
    "a b",
    "a\x00b",
    "é",
    "\uff551",  # fullwidth letter u
    "١٢",  # Arabic-Indic digits: \w and \d would accept them without re.ASCII
    "a\n",
    "x" * 129,
    "%2e%2e",
]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_bad_ids_are_rejected_with_the_field_name(bad: str) -> None:
    with pytest.raises(InvalidStorageKey, match=r"invalid clothing_id .*A-Z, a-z, 0-9"):
        StoragePathBuilder.clothing_path("u1", bad, "a.jpg")
    with pytest.raises(InvalidStorageKey, match="invalid user_id"):
        StoragePathBuilder.avatar_path(bad, "a.jpg")
    with pytest.raises(InvalidStorageKey, match="invalid session_id"):
        StoragePathBuilder.temp_path(bad, "a.tmp")


BAD_FILENAMES = [
    "",
    "a",
    "..jpg",
    "a..jpg",
    "../a.jpg",
    "a/b.jpg",
    ".jpg",
    "-a.jpg",
    "a.jpg\x00.png",
    "a.exe",
    "a.jpg.exe",
    "\uff41.jpg",  # fullwidth letter a
    "a .jpg",
    "a.jpg/",
    "x" * 125 + ".jpg",
    "a.tmp",  # temp-only extension
]


@pytest.mark.parametrize("bad", BAD_FILENAMES)
def test_bad_filenames_are_rejected_saying_what_is_allowed(bad: str) -> None:
    with pytest.raises(InvalidStorageKey, match=r"invalid filename .*heic, heif, jpeg, jpg"):
        StoragePathBuilder.body_path("u1", "b1", bad)


def test_temp_accepts_tmp_and_bin_but_categories_do_not() -> None:
    assert StoragePathBuilder.temp_path("s1", "upload.bin") == "temp/s1/upload.bin"
    with pytest.raises(InvalidStorageKey):
        StoragePathBuilder.clothing_path("u1", "c1", "upload.bin")


def test_longest_valid_segments() -> None:
    long_id = "a" * 128
    name = "b" * 124 + ".jpg"
    assert StoragePathBuilder.clothing_path(long_id, long_id, name).count("/") == 3


@pytest.mark.parametrize(
    ("key", "category", "owner", "item", "filename"),
    [
        ("clothing/u1/c1/a.jpg", Category.CLOTHING, "u1", "c1", "a.jpg"),
        ("body/u1/b1/a.png", Category.BODY, "u1", "b1", "a.png"),
        ("tryon/u1/t1/a.webp", Category.TRYON, "u1", "t1", "a.webp"),
        ("avatars/u1/avatar.jpg", Category.AVATARS, "u1", None, "avatar.jpg"),
        ("temp/s1/f.tmp", Category.TEMP, "s1", None, "f.tmp"),
        ("exports/u1/e-1.zip", Category.EXPORTS, "u1", None, "e-1.zip"),
    ],
)
def test_parse_key_accepts_the_six_layouts(
    key: str, category: Category, owner: str, item: str | None, filename: str
) -> None:
    parsed = parse_key(key)
    assert (parsed.category, parsed.owner_id, parsed.item_id, parsed.filename) == (
        category,
        owner,
        item,
        filename,
    )
    assert str(parsed) == key
    assert parsed.prefix == f"{category.value}/{owner}/"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "clothing/u1/a.jpg",  # missing item folder
        "avatars/u1/x/a.jpg",  # extra folder
        "other/u1/a.jpg",
        "/clothing/u1/c1/a.jpg",
        "clothing//c1/a.jpg",
        "clothing/u1/c1/../a.jpg",
        "clothing/u1/c1/a.jpg/",
        "temp/s1/a.exe",
        "clothing/u1/c1/a.tmp",
        "exports/u1/e1.jpg",  # exports/ holds archives only
        "exports/u1/x/e1.zip",
        "clothing/u1/c1/a.zip",
    ],
)
def test_parse_key_rejects_everything_else(key: str) -> None:
    with pytest.raises(InvalidStorageKey, match="invalid key"):
        validate_key(key)


def test_prefixes_end_with_a_slash_so_u1_never_matches_u10() -> None:
    assert user_prefix(Category.BODY, "u1") == "body/u1/"
    assert not "body/u10/b/a.jpg".startswith(user_prefix(Category.BODY, "u1"))
    assert item_prefix(Category.CLOTHING, "u1", "c1") == "clothing/u1/c1/"
    with pytest.raises(InvalidStorageKey):
        item_prefix(Category.AVATARS, "u1", "c1")


def test_thumbnail_names_are_reserved() -> None:
    with pytest.raises(InvalidStorageKey, match="reserved for thumbnails"):
        thumbnail_name("photo_thumb.jpg")


def test_thumbnail_name_is_derived_from_the_stem() -> None:
    assert thumbnail_name("photo.png") == "photo_thumb.jpg"
    assert thumbnail_name("IMG_1.HEIC") == "IMG_1_thumb.jpg"


def test_build_key_checks_the_item_folder() -> None:
    with pytest.raises(InvalidStorageKey):
        build_key(Category.CLOTHING, "u1", None, "a.jpg")
    with pytest.raises(InvalidStorageKey):
        build_key(Category.AVATARS, "u1", "c1", "a.jpg")


# -- property: no accepted input escapes its own prefix; rejected ones raise one error ----

_ascii_and_tricks = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("abcXYZ019_-./\\\x00 %\u00e9\u0661\uff55\u202e\n")),
        st.characters(),
    ),
    max_size=140,
)
_plausible_id = st.from_regex(r"\A[A-Za-z0-9_-]{1,130}\Z")
_plausible_name = st.from_regex(r"\A[A-Za-z0-9._/-]{1,20}\.(jpg|png|heic|tmp|exe)\Z")
ids = st.one_of(_plausible_id, _ascii_and_tricks)
names = st.one_of(_plausible_name, _ascii_and_tricks)

BUILDERS = {
    "clothing": (StoragePathBuilder.clothing_path, True),
    "body": (StoragePathBuilder.body_path, True),
    "tryon": (StoragePathBuilder.tryon_path, True),
}


@given(category=st.sampled_from(sorted(BUILDERS)), user_id=ids, item_id=ids, filename=names)
def test_item_keys_never_escape_their_prefix(
    category: str, user_id: str, item_id: str, filename: str
) -> None:
    build, _ = BUILDERS[category]
    try:
        key = build(user_id, item_id, filename)
    except InvalidStorageKey:
        return
    assert key == f"{category}/{user_id}/{item_id}/{filename}"
    assert key.startswith(f"{category}/{user_id}/{item_id}/")
    assert key.count("/") == 3
    assert ".." not in key
    assert key.isascii()
    assert parse_key(key).prefix == f"{category}/{user_id}/"


@given(owner=ids, filename=names, temp=st.booleans())
def test_flat_keys_never_escape_their_prefix(owner: str, filename: str, temp: bool) -> None:
    category = "temp" if temp else "avatars"
    build = StoragePathBuilder.temp_path if temp else StoragePathBuilder.avatar_path
    try:
        key = build(owner, filename)
    except InvalidStorageKey:
        return
    assert key == f"{category}/{owner}/{filename}"
    assert key.count("/") == 2
    assert ".." not in key
    assert key.isascii()
    assert parse_key(key).prefix == f"{category}/{owner}/"


@given(key=st.one_of(_ascii_and_tricks, st.from_regex(r"\A[a-z]{3,8}/[\w./-]{1,20}\Z")))
def test_parse_key_only_raises_invalid_storage_key(key: str) -> None:
    try:
        parsed = parse_key(key)
    except InvalidStorageKey:
        return
    assert str(parsed) == key
    assert key.startswith(parsed.prefix)


def test_upload_session_ids_are_valid_unguessable_and_unique() -> None:
    ids = {new_upload_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    for session_id in ids:
        assert len(session_id) == 32
        assert StoragePathBuilder.temp_path(session_id, "up.jpg") == f"temp/{session_id}/up.jpg"


def test_export_keys_are_built_from_validated_ids_and_never_repeat() -> None:
    first, second = new_export_id(), new_export_id()
    assert first != second
    earlier = new_export_id(datetime(2026, 1, 1, 23, 59, 59, tzinfo=UTC))
    assert earlier.startswith("20260101T235959Z-")
    assert earlier < new_export_id(datetime(2026, 1, 2, tzinfo=UTC))  # sorted by time
    key = export_key("u1", first)
    assert key == f"exports/u1/{first}.zip"
    assert parse_key(key).category is Category.EXPORTS
    with pytest.raises(InvalidStorageKey, match="user_id"):
        export_key("../u1", first)
    with pytest.raises(InvalidStorageKey, match="export_id"):
        export_key("u1", "a/b")


def test_each_jpeg_rendition_has_its_avif_beside_it() -> None:
    assert avif_key("clothing/u/i/photo.jpg") == "clothing/u/i/photo.avif"
    assert avif_key("clothing/u/i/photo_thumb.jpg") == "clothing/u/i/photo_thumb.avif"
    assert avif_key("avatars/u/avatar.jpg") == "avatars/u/avatar.avif"
    with pytest.raises(InvalidStorageKey, match="renditions are stored as JPEG"):
        avif_key("clothing/u/i/photo.png")


@pytest.mark.parametrize(
    ("key", "family"),
    [
        (
            "clothing/u1/c1/photo.jpg",
            (
                "clothing/u1/c1/photo.jpg",
                "clothing/u1/c1/photo_thumb.jpg",
                "clothing/u1/c1/photo.avif",
                "clothing/u1/c1/photo_thumb.avif",
            ),
        ),
        (
            "clothing/u1/c1/photo_thumb.avif",
            (
                "clothing/u1/c1/photo_thumb.avif",
                "clothing/u1/c1/photo.jpg",
                "clothing/u1/c1/photo_thumb.jpg",
                "clothing/u1/c1/photo.avif",
            ),
        ),
        (
            "avatars/u1/avatar.jpg",
            (
                "avatars/u1/avatar.jpg",
                "avatars/u1/avatar_thumb.jpg",
                "avatars/u1/avatar.avif",
                "avatars/u1/avatar_thumb.avif",
            ),
        ),
        ("clothing/u1/c1/photo.png", ("clothing/u1/c1/photo.png",)),  # no rendition's name
        ("temp/s1/photo.jpg", ("temp/s1/photo.jpg",)),
        ("exports/u1/20261201T000000Z-abc.zip", ("exports/u1/20261201T000000Z-abc.zip",)),
    ],
)
def test_the_rendition_family_of_a_key(key: str, family: tuple[str, ...]) -> None:
    assert rendition_family(key) == family
