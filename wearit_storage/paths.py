"""Object keys: built and parsed here only, validated before any request is made.

Layout (one folder per item, so deleting an item is deleting a prefix)::

    clothing/{user_id}/{clothing_id}/{filename}
    body/{user_id}/{body_id}/{filename}
    tryon/{user_id}/{tryon_id}/{filename}
    avatars/{user_id}/{filename}
    temp/{session_id}/{filename}
    exports/{user_id}/{export_id}.zip
    erasures/{user_id}/request.json (and status.json)
    sessions/{user_id}/{session_id}.json

Rendition names, one scheme whichever path writes them: the main rendition is
``{stem}.jpg`` and its thumbnail ``{stem}_thumb.jpg`` beside it; where the category stores
AVIF too, each JPEG has its AVIF beside it under the same name ending in ``.avif``
(``{stem}.avif``, ``{stem}_thumb.avif``). The ``upload_*`` methods take the stem from the
caller's file name; ``promote_temp_upload`` uses ``image`` (avatars: ``avatar``).

Why the rules are this strict: ids and file names become key segments, so ``/``, ``..``,
NUL, unicode look-alikes or an empty segment could escape the ``category/{id}/`` prefix
that IAM policies, erasure and usage accounting rely on.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from wearit_storage.categories import ITEM_CATEGORIES, USER_CATEGORIES, Category
from wearit_storage.errors import InvalidStorageKey

IMAGE_EXTENSIONS: Final = frozenset({"jpg", "jpeg", "png", "webp", "avif", "heic", "heif"})
# temp/ also holds raw uploads awaiting validation, named ``{file_id}.tmp`` or ``.bin``.
TEMP_EXTENSIONS: Final = IMAGE_EXTENSIONS | {"tmp", "bin"}
# exports/ holds nothing but the ZIP archives of GDPR exports.
EXPORT_EXTENSION: Final = "zip"
EXPORT_EXTENSIONS: Final = frozenset({EXPORT_EXTENSION})

THUMBNAIL_SUFFIX: Final = "_thumb"
MAIN_RENDITION_NAME: Final = "image.jpg"
THUMBNAIL_RENDITION_NAME: Final = f"image{THUMBNAIL_SUFFIX}.jpg"
AVATAR_RENDITION_NAME: Final = "avatar.jpg"
RENDITION_EXTENSION: Final = "jpg"
#: The AVIF beside a JPEG rendition (categories whose policy stores AVIF).
AVIF_RENDITION_EXTENSION: Final = "avif"
#: Every extension renditions are stored with: the renditions of one upload are its main
#: image and thumbnail in each of these (see :func:`rendition_family`).
RENDITION_EXTENSIONS: Final = (RENDITION_EXTENSION, AVIF_RENDITION_EXTENSION)
#: The outcome of a direct upload, written by the upload worker beside the upload
#: (``temp/{session_id}/status.json``, see :mod:`wearit_storage.uploads.status`). ``json``
#: is no upload extension, so no presigned upload can ever target this name.
STATUS_FILENAME: Final = "status.json"

#: An erasure request, the tombstone the upload worker checks before it writes anything of
#: a user, and the eraser's record of its progress beside it (``erasures/{user_id}/``).
ERASURE_REQUEST_FILENAME: Final = "request.json"
ERASURE_STATUS_FILENAME: Final = "status.json"
_ERASURE_FILENAMES: Final = frozenset({ERASURE_REQUEST_FILENAME, ERASURE_STATUS_FILENAME})
SESSION_EXTENSION: Final = "json"

# re.ASCII matters: without it \w and friends would accept unicode letters and digits.
_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,128}", re.ASCII)
_FILENAME_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", re.ASCII)
_ID_RULE: Final = "1-128 characters of A-Z, a-z, 0-9, '_' or '-'"
_FILENAME_RULE: Final = (
    "a single segment of 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-', starting "
    "with a letter or digit, without '..', ending with one of the extensions "
)


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_id(value: str, *, field: str = "id") -> str:
    """Return ``value`` if it is a valid id segment, else raise :class:`InvalidStorageKey`."""
    if not isinstance(value, str) or _ID_PATTERN.fullmatch(value) is None:
        raise InvalidStorageKey(f"invalid {field} {_describe(value)}: expected {_ID_RULE}")
    return value


def validate_filename(value: str, *, allowed_extensions: frozenset[str] = IMAGE_EXTENSIONS) -> str:
    """Return ``value`` if it is a safe file name with an allowed extension."""
    rule = _FILENAME_RULE + ", ".join(sorted(allowed_extensions))
    if (
        not isinstance(value, str)
        or _FILENAME_PATTERN.fullmatch(value) is None
        or ".." in value
        or "." not in value
        or value.rsplit(".", 1)[1].lower() not in allowed_extensions
    ):
        raise InvalidStorageKey(f"invalid filename {_describe(value)}: expected {rule}")
    return value


def new_upload_session_id() -> str:
    """An unguessable id for ``temp/{session_id}/`` (128 random bits).

    The session id is all that ties a direct upload to its uploader: mint it on the server,
    remember which user it belongs to, and promote only that user's sessions.
    """
    return uuid.uuid4().hex


#: The endings of a pinned upload's key (its extension, lowercased when presigned): the
#: bucket announces only these to the upload worker, so the worker's own ``status.json``
#: writes are never announced, and no announcement is wasted on them.
PINNED_UPLOAD_SUFFIXES: Final = tuple(f".{extension}" for extension in sorted(IMAGE_EXTENSIONS))


def pinned_upload_filename(filename: str) -> str:
    """``photo.JPG`` -> ``photo.jpg``: the name a pinned upload is presigned under, whose
    ending is one the bucket announces (:data:`PINNED_UPLOAD_SUFFIXES`)."""
    validate_filename(filename)
    stem, extension = filename.rsplit(".", 1)
    return f"{stem}.{extension.lower()}"


def thumbnail_name(filename: str) -> str:
    """``photo.png`` -> ``photo_thumb.jpg`` (thumbnails are always JPEG)."""
    validate_filename(filename, allowed_extensions=TEMP_EXTENSIONS)
    stem = filename.rsplit(".", 1)[0]
    if stem.endswith(THUMBNAIL_SUFFIX):
        # photo_thumb.jpg as a main image would be overwritten by photo.jpg's thumbnail.
        raise InvalidStorageKey(
            f"invalid filename {_describe(filename)}: names ending in '{THUMBNAIL_SUFFIX}' "
            "are reserved for thumbnails; rename the upload"
        )
    return validate_filename(f"{stem}{THUMBNAIL_SUFFIX}.jpg")


def user_prefix(category: Category, user_id: str) -> str:
    """``clothing/{user_id}/`` etc.; the trailing slash keeps ``u1`` away from ``u10``."""
    return f"{category.value}/{validate_id(user_id, field='user_id')}/"


def item_prefix(category: Category, user_id: str, item_id: str) -> str:
    if category not in ITEM_CATEGORIES:
        raise InvalidStorageKey(f"category {category.value!r} has no item folders")
    return f"{user_prefix(category, user_id)}{validate_id(item_id, field='item_id')}/"


@dataclass(frozen=True, slots=True)
class StorageKey:
    """A parsed, valid object key."""

    category: Category
    owner_id: str
    item_id: str | None
    filename: str

    def __str__(self) -> str:
        if self.item_id is None:
            return f"{self.category.value}/{self.owner_id}/{self.filename}"
        return f"{self.category.value}/{self.owner_id}/{self.item_id}/{self.filename}"

    @property
    def prefix(self) -> str:
        """The ``category/{owner_id}/`` prefix this key lives under."""
        return f"{self.category.value}/{self.owner_id}/"


_LAYOUTS: Final = (
    "clothing/{user_id}/{clothing_id}/{filename}, body/{user_id}/{body_id}/{filename}, "
    "tryon/{user_id}/{tryon_id}/{filename}, avatars/{user_id}/{filename}, "
    "temp/{session_id}/{filename}, exports/{user_id}/{export_id}.zip, "
    "erasures/{user_id}/request.json, sessions/{user_id}/{session_id}.json"
)


def parse_key(key: str) -> StorageKey:
    """Parse a raw key into its parts; raise :class:`InvalidStorageKey` unless it matches
    one of the six layouts with valid segments."""
    if not isinstance(key, str):
        raise InvalidStorageKey(f"invalid key {_describe(key)}: expected a str")
    parts = key.split("/")
    try:
        category = Category(parts[0])
    except ValueError:
        raise InvalidStorageKey(
            f"invalid key {_describe(key)}: unknown category {_describe(parts[0])}; "
            f"expected one of {_LAYOUTS}",
            key=key,
        ) from None
    expected_parts = 4 if category in ITEM_CATEGORIES else 3
    if len(parts) != expected_parts:
        raise InvalidStorageKey(
            f"invalid key {_describe(key)}: {category.value}/ keys have {expected_parts} "
            f"segments; expected one of {_LAYOUTS}",
            key=key,
        )
    owner_field = "session_id" if category is Category.TEMP else "user_id"
    extensions = _extensions(category)
    try:
        owner_id = validate_id(parts[1], field=owner_field)
        item_id = validate_id(parts[2], field="item_id") if expected_parts == 4 else None
        if category is Category.TEMP and parts[-1] == STATUS_FILENAME:
            filename = STATUS_FILENAME
        elif category is Category.ERASURES:
            filename = _erasure_filename(parts[-1])
        elif category is Category.SESSIONS:
            filename = _session_filename(parts[-1])
        else:
            filename = validate_filename(parts[-1], allowed_extensions=extensions)
    except InvalidStorageKey as exc:
        raise InvalidStorageKey(f"invalid key {_describe(key)}: {exc}", key=key) from None
    return StorageKey(category, owner_id, item_id, filename)


def _erasure_filename(filename: str) -> str:
    if filename not in _ERASURE_FILENAMES:
        raise InvalidStorageKey(
            f"invalid filename {_describe(filename)}: erasures/ holds only "
            + " and ".join(sorted(_ERASURE_FILENAMES))
        )
    return filename


def _session_filename(filename: str) -> str:
    session, dot, extension = filename.rpartition(".")
    if dot != "." or extension != SESSION_EXTENSION:
        raise InvalidStorageKey(
            f"invalid filename {_describe(filename)}: sessions/ holds {{session_id}}.json"
        )
    validate_id(session, field="session_id")
    return filename


def _extensions(category: Category) -> frozenset[str]:
    if category is Category.TEMP:
        return TEMP_EXTENSIONS
    if category is Category.EXPORTS:
        return EXPORT_EXTENSIONS
    return IMAGE_EXTENSIONS


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if :func:`parse_key` accepts it."""
    parse_key(key)
    return key


def build_key(category: Category, owner_id: str, item_id: str | None, filename: str) -> StorageKey:
    """Build a key from parts, validating each one."""
    extensions = _extensions(category)
    owner_field = "session_id" if category is Category.TEMP else "user_id"
    validate_id(owner_id, field=owner_field)
    if category in ITEM_CATEGORIES:
        if item_id is None:
            raise InvalidStorageKey(f"{category.value}/ keys need an item id")
        validate_id(item_id, field="item_id")
    elif item_id is not None:
        raise InvalidStorageKey(f"{category.value}/ keys have no item id")
    validate_filename(filename, allowed_extensions=extensions)
    return StorageKey(category, owner_id, item_id, filename)


class StoragePathBuilder:
    """The key builder of the design document (``docs/design-document.fr.rst``); every method
    validates its inputs."""

    @staticmethod
    def clothing_path(user_id: str, clothing_id: str, filename: str) -> str:
        return str(_build_named(Category.CLOTHING, user_id, clothing_id, filename, "clothing_id"))

    @staticmethod
    def body_path(user_id: str, body_id: str, filename: str) -> str:
        return str(_build_named(Category.BODY, user_id, body_id, filename, "body_id"))

    @staticmethod
    def tryon_path(user_id: str, tryon_id: str, filename: str) -> str:
        return str(_build_named(Category.TRYON, user_id, tryon_id, filename, "tryon_id"))

    @staticmethod
    def avatar_path(user_id: str, filename: str) -> str:
        return str(build_key(Category.AVATARS, user_id, None, filename))

    @staticmethod
    def temp_path(session_id: str, filename: str) -> str:
        return str(build_key(Category.TEMP, session_id, None, filename))


def session_prefix(session_id: str) -> str:
    """``temp/{session_id}/``: the upload and its status object."""
    return f"{Category.TEMP.prefix}{validate_id(session_id, field='session_id')}/"


def status_key(session_id: str) -> str:
    """``temp/{session_id}/status.json``: where the outcome of that upload is recorded."""
    return f"{session_prefix(session_id)}{STATUS_FILENAME}"


def _build_named(
    category: Category, user_id: str, item_id: str, filename: str, item_field: str
) -> StorageKey:
    # Validate the item id under its public name so the message says "clothing_id".
    validate_id(item_id, field=item_field)
    return build_key(category, user_id, item_id, filename)


def rendition_key(key: str) -> str:
    """The key a rendition of an upload named ``key`` is stored at: renditions are JPEGs,
    so the extension says so (``clothing/u/i/photo.png`` -> ``clothing/u/i/photo.jpg``).

    ``photo.png`` and ``photo.jpg`` in one folder are thus the same image, and two distinct
    rendition keys never share a thumbnail.
    """
    validate_key(key)
    stem = key.rsplit(".", 1)[0]
    return validate_key(f"{stem}.{RENDITION_EXTENSION}")


def require_rendition_key(key: str) -> str:
    """``key`` if it names a JPEG rendition (``.jpg``), else :class:`InvalidStorageKey`."""
    validate_key(key)
    if rendition_key(key) != key:
        raise InvalidStorageKey(
            f"invalid key {_describe(key)}: renditions are stored as JPEG, so the key must end "
            f"in '.{RENDITION_EXTENSION}' (use {_describe(rendition_key(key))})",
            key=key,
        )
    return key


def thumbnail_key(main_key: str) -> str:
    """``clothing/u/i/photo.jpg`` -> ``clothing/u/i/photo_thumb.jpg``."""
    folder, _, filename = require_rendition_key(main_key).rpartition("/")
    return f"{folder}/{thumbnail_name(filename)}"


def avif_key(jpeg_key: str) -> str:
    """The AVIF beside a JPEG rendition: ``clothing/u/i/photo.jpg`` ->
    ``clothing/u/i/photo.avif`` (and ``photo_thumb.jpg`` -> ``photo_thumb.avif``)."""
    stem = require_rendition_key(jpeg_key).rsplit(".", 1)[0]
    return validate_key(f"{stem}.{AVIF_RENDITION_EXTENSION}")


def rendition_family(key: str) -> tuple[str, ...]:
    """Every key a rendition of the upload stored at ``key`` can lie at, ``key`` first:
    for ``clothing/u/i/photo.jpg`` or ``clothing/u/i/photo_thumb.jpg``, the main image and
    the thumbnail of stem ``photo`` in every rendition extension. Which of them one upload
    really wrote is in their tags (``wearit-upload-id``), not in the names. A key that
    names no rendition (``temp/``, ``exports/``, another extension) is its own family."""
    parsed = parse_key(key)
    stem, _, extension = parsed.filename.rpartition(".")
    if parsed.category not in USER_CATEGORIES or extension not in RENDITION_EXTENSIONS:
        return (key,)
    folder = key.rpartition("/")[0]
    stem = stem.removesuffix(THUMBNAIL_SUFFIX)
    names = [
        f"{folder}/{stem}{suffix}.{ext}"
        for ext in RENDITION_EXTENSIONS
        for suffix in ("", THUMBNAIL_SUFFIX)
    ]
    return (key, *(validate_key(name) for name in names if name != key))


#: Categories a temp upload may be promoted into, and which of them get a thumbnail.
PROMOTABLE_CATEGORIES: Final = frozenset({Category.CLOTHING, Category.BODY, Category.AVATARS})


def promotable_category(category: Category | str) -> Category:
    """The category a temp upload is promoted into (``"avatar"`` is accepted for avatars)."""
    value = "avatars" if category == "avatar" else category
    try:
        target = Category(value)
    except ValueError:
        target = None
    if target is None or target not in PROMOTABLE_CATEGORIES:
        raise InvalidStorageKey(
            f"cannot promote a temp upload into {category!r}: use one of "
            f"{', '.join(sorted(c.value for c in PROMOTABLE_CATEGORIES))}"
        )
    return target


def promotion_keys(
    category: Category, user_id: str, item_id: str | None, *, with_thumbnail: bool
) -> tuple[str, str | None]:
    """The main and thumbnail keys (``None``: no thumbnail) a promoted upload is stored at."""
    if category is Category.AVATARS:
        if item_id is not None:
            raise InvalidStorageKey("avatars have no item id: pass item_id=None")
        main = str(build_key(category, user_id, None, AVATAR_RENDITION_NAME))
    elif item_id is None:
        raise InvalidStorageKey(f"promoting into {category.value}/ needs an item_id")
    else:
        main = str(build_key(category, user_id, item_id, MAIN_RENDITION_NAME))
    return main, (thumbnail_key(main) if with_thumbnail else None)


def new_export_id(now: datetime | None = None) -> str:
    """``20261201T070000Z-<12 hex>``: sorts by creation time in a listing, and 48 random
    bits keep two exports of one user in the same second apart (a retry never reuses the
    key of the export it retries)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}"


def export_key(user_id: str, export_id: str) -> str:
    """``exports/{user_id}/{export_id}.zip``, both ids validated."""
    validate_id(export_id, field="export_id")
    return str(build_key(Category.EXPORTS, user_id, None, f"{export_id}.{EXPORT_EXTENSION}"))


def tombstone_key(user_id: str) -> str:
    """``erasures/{user_id}/request.json``: the erasure request of a user, and the tombstone
    that refuses their later uploads."""
    return f"{user_prefix(Category.ERASURES, user_id)}{ERASURE_REQUEST_FILENAME}"


def erasure_status_key(user_id: str) -> str:
    """``erasures/{user_id}/status.json``: how the user's erasure is going."""
    return f"{user_prefix(Category.ERASURES, user_id)}{ERASURE_STATUS_FILENAME}"


def session_binding_key(user_id: str, session_id: str) -> str:
    """``sessions/{user_id}/{session_id}.json``: the record that this upload session is the
    user's (what an erasure finds their pending uploads by)."""
    validate_id(session_id, field="session_id")
    return f"{user_prefix(Category.SESSIONS, user_id)}{session_id}.{SESSION_EXTENSION}"


def session_of_binding(key: str) -> str:
    """The session id a binding key names."""
    parsed = parse_key(key)
    if parsed.category is not Category.SESSIONS:
        raise InvalidStorageKey(f"{key!r} is no session binding", key=key)
    return parsed.filename.rsplit(".", 1)[0]


def key_category(key: str) -> Category | None:
    """The category a key lies in (its first segment), ``None`` outside every category."""
    try:
        return Category(key.split("/", 1)[0])
    except ValueError:
        return None
