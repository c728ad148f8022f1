"""Presigned GET / PUT / POST.

Signing is local CPU work (no request), so these functions are synchronous even on the
async client. They never log the URL: its query string is a bearer credential.

- GET: expiry validated to 1 s .. 7 days; ``body/`` and ``exports/`` keys default to a short
  expiry; ``temp/`` and ``exports/`` objects are served as downloads, never inline.
- PUT: into ``temp/`` only; ``Content-Type`` and ``Content-Length`` are signed headers, so
  the uploader must send exactly that type and that many bytes.
- POST: the policy fixes the exact key, bounds the size with ``content-length-range`` and
  requires a ``Content-Type`` starting with ``image/``, which the returned fields always
  carry (the file name's type unless given), so a client that sends exactly the returned
  fields plus the file satisfies every condition; ``pinned`` fields (a direct upload's
  destination, ``x-amz-meta-wearit-*``) are fixed by exact-match conditions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from wearit_storage.categories import Category
from wearit_storage.errors import InvalidStorageKey, InvalidStorageRequest
from wearit_storage.observability import logger
from wearit_storage.paths import parse_key
from wearit_storage.settings import MAX_PRESIGN_EXPIRY_S, StorageSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as BotoS3Client

_SHORT_LIVED_CATEGORIES = frozenset({Category.BODY, Category.EXPORTS})

#: The type of an upload named with each image extension (``paths.IMAGE_EXTENSIONS``).
CONTENT_TYPE_BY_EXTENSION: Final = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "avif": "image/avif",
    "heic": "image/heic",
    "heif": "image/heif",
}
IMAGE_CONTENT_TYPES: Final = frozenset(CONTENT_TYPE_BY_EXTENSION.values())


@dataclass(frozen=True, slots=True)
class PresignedPost:
    """What a browser or mobile app needs for a multipart/form-data POST upload."""

    url: str
    fields: dict[str, str]
    key: str
    expires_in: int
    max_bytes: int


def validate_expiry(expires_in: int) -> int:
    if isinstance(expires_in, bool) or not isinstance(expires_in, int):
        raise InvalidStorageRequest(
            f"expires_in must be an int number of seconds, got {expires_in!r}"
        )
    if not 1 <= expires_in <= MAX_PRESIGN_EXPIRY_S:
        raise InvalidStorageRequest(
            f"expires_in={expires_in} is out of range: use 1..{MAX_PRESIGN_EXPIRY_S} seconds "
            "(SigV4 URLs cannot outlive 7 days)"
        )
    return expires_in


def validate_image_content_type(content_type: str) -> str:
    if content_type not in IMAGE_CONTENT_TYPES:
        raise InvalidStorageRequest(
            f"content type {content_type!r} is not accepted for uploads: use one of "
            f"{', '.join(sorted(IMAGE_CONTENT_TYPES))}"
        )
    return content_type


def post_content_type(key: str, content_type: str | None) -> str:
    """The ``Content-Type`` field of a POST to ``key``: ``content_type`` when given, else
    the type its file name says. The policy requires one starting with ``image/`` and a
    browser's ``FormData`` adds none by itself, so the returned fields always carry it."""
    if content_type is not None:
        return validate_image_content_type(content_type)
    extension = key.rsplit(".", 1)[-1].lower()
    if extension not in CONTENT_TYPE_BY_EXTENSION:
        raise InvalidStorageRequest(
            f"cannot tell the image type of {key!r} from its name: pass content_type (one of "
            f"{', '.join(sorted(IMAGE_CONTENT_TYPES))}) or name the file with an image extension"
        )
    return CONTENT_TYPE_BY_EXTENSION[extension]


class Presigner:
    """Signs requests for one bucket; expiries and size limits come from the settings."""

    def __init__(self, boto_client: BotoS3Client, settings: StorageSettings) -> None:
        self._client = boto_client
        self._bucket = settings.bucket_name
        self._settings = settings

    def default_get_expiry(self, key: str) -> int:
        # Body photos and export archives (a copy of everything a user owns) are the most
        # sensitive objects: their links die quickly (WEARIT_BODY_GET_EXPIRY_SECONDS).
        if parse_key(key).category in _SHORT_LIVED_CATEGORIES:
            return self._settings.body_get_expiry_s
        return self._settings.get_expiry_s

    def get_expiry(self, key: str, expires_in: int | None = None) -> int:
        """``expires_in`` validated, or the category's default (a CDN URL's too)."""
        return validate_expiry(self.default_get_expiry(key) if expires_in is None else expires_in)

    def get_url(self, key: str, expires_in: int | None = None) -> str:
        """Presigned GET; ``expires_in=None`` picks the per-category default.

        ``temp/`` holds unvalidated uploads whose ``Content-Type`` the uploader chose (any
        ``image/*``, SVG included): served as an opaque download, never rendered inline.
        """
        parsed = parse_key(key)
        expiry = self.get_expiry(key, expires_in)
        params = {"Bucket": self._bucket, "Key": key}
        if parsed.category is Category.TEMP:
            params |= {
                "ResponseContentDisposition": "attachment",
                "ResponseContentType": "application/octet-stream",
            }
        elif parsed.category is Category.EXPORTS:
            # A browser saves the archive under a name the user recognises.
            params |= {
                "ResponseContentDisposition": (
                    f'attachment; filename="wearit-export-{parsed.filename}"'
                ),
                "ResponseContentType": "application/zip",
            }
        url: str = self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expiry
        )
        logger.debug("presigned GET key=%s expires_in=%d", key, expiry)
        return url

    def put_url(
        self, key: str, content_type: str, content_length: int, expires_in: int | None = None
    ) -> str:
        """Presigned PUT of exactly ``content_length`` bytes of ``content_type`` into
        ``temp/``: both are signed headers, so S3 refuses any other length or type. Only
        ``temp/`` keys: everything else is written through the image pipeline, never with
        bytes an uploader chose (EXIF and GPS included)."""
        self._require_temp(key, "PUT")
        validate_image_content_type(content_type)
        limit = self._settings.max_upload_bytes
        if (
            isinstance(content_length, bool)
            or not isinstance(content_length, int)
            or not 1 <= content_length <= limit
        ):
            raise InvalidStorageRequest(
                f"content_length must be 1..{limit} bytes (WEARIT_MAX_UPLOAD_BYTES), got "
                f"{content_length!r}: presign the upload's exact size"
            )
        expiry = validate_expiry(
            self._settings.upload_expiry_s if expires_in is None else expires_in
        )
        url: str = self._client.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ContentType": content_type,
                "ContentLength": content_length,
            },
            ExpiresIn=expiry,
        )
        logger.info(
            "presigned PUT key=%s content_type=%s bytes=%d expires_in=%d",
            key,
            content_type,
            content_length,
            expiry,
        )
        return url

    def _require_temp(self, key: str, method: str) -> None:
        if parse_key(key).category is not Category.TEMP:
            raise InvalidStorageKey(
                f"presigned {method} only targets temp/{{session_id}}/{{file}} keys, got "
                f"{key!r}: images reach their category through the image pipeline",
                key=key,
            )

    def post(
        self,
        key: str,
        *,
        content_type: str | None = None,
        max_bytes: int | None = None,
        expires_in: int | None = None,
        pinned: Mapping[str, str] | None = None,
    ) -> PresignedPost:
        """Presigned POST policy for an upload into ``temp/``.

        ``content_type`` (default: the file name's type, see :func:`post_content_type`) is
        a returned form field; the policy accepts any ``image/*`` type a client puts there
        instead, because the server-side validation of the promotion decides what the
        bytes really are. ``pinned`` form fields (an upload's destination)
        each get an exact-match condition: a client that edits one gets a 403 from S3.
        """
        self._require_temp(key, "POST")
        limit = self._settings.max_upload_bytes if max_bytes is None else max_bytes
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidStorageRequest(f"max_bytes must be a positive int, got {limit!r}")
        expiry = validate_expiry(
            self._settings.upload_expiry_s if expires_in is None else expires_in
        )
        fields: dict[str, str] = {"Content-Type": post_content_type(key, content_type)}
        conditions: list[Any] = [
            ["content-length-range", 1, limit],
            ["starts-with", "$Content-Type", "image/"],
        ]
        if pinned:
            fields |= pinned
            conditions += [{name: value} for name, value in pinned.items()]
        # botocore adds {"bucket": ...} and the exact {"key": key} condition itself.
        response = self._client.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=expiry,
        )
        logger.info(
            "presigned POST key=%s max_bytes=%d expires_in=%d pinned=%s",
            key,
            limit,
            expiry,
            bool(pinned),
        )
        return PresignedPost(
            url=response["url"],
            fields={str(k): str(v) for k, v in response["fields"].items()},
            key=key,
            expires_in=expiry,
            max_bytes=limit,
        )
