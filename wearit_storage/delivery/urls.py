"""The one seam every stored-image URL is made through: :class:`ImageUrls`.

A connected S3 client holds one (``client.image_urls``); ``upload_*``, ``StoredImage.url``,
``UploadStatus.url`` / ``thumbnail_url`` and ``presigned_url`` all ask it. With the CDN
configured (``WEARIT_CDN_DOMAIN`` and its key), a key of a served category gets a signed
CloudFront URL of one version; every other key (body photos, ``temp/``, ``exports/``), and
every key without the CDN, gets a presigned S3 GET as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from wearit_storage.delivery.keys import load_private_key
from wearit_storage.delivery.served import SERVED_CATEGORIES
from wearit_storage.delivery.signing import CloudFrontUrls, SignedCookies
from wearit_storage.errors import InvalidStorageRequest, StorageConfigurationError
from wearit_storage.paths import key_category, validate_key
from wearit_storage.settings import StorageSettings

if TYPE_CHECKING:
    import boto3


class GetPresigner(Protocol):
    """What the seam needs of S3 presigning (``wearit_storage.s3.presign.Presigner``)."""

    def get_url(self, key: str, expires_in: int | None = None) -> str: ...

    def get_expiry(self, key: str, expires_in: int | None = None) -> int: ...


class ImageUrls:
    """Signed CloudFront URLs for the served categories when ``cdn`` is set, presigned S3
    GETs otherwise. Local CPU work only: it never makes a request."""

    def __init__(self, presigner: GetPresigner, cdn: CloudFrontUrls | None = None) -> None:
        self._presigner = presigner
        self.cdn = cdn

    @classmethod
    def from_settings(
        cls, settings: StorageSettings, presigner: GetPresigner, session: boto3.session.Session
    ) -> ImageUrls:
        """With the CDN when the settings name one (its private key is read now, once)."""
        if not settings.has_cdn:
            return cls(presigner)
        assert settings.cdn_domain is not None
        assert settings.cdn_key_pair_id is not None
        cdn = CloudFrontUrls(
            settings.cdn_domain,
            settings.cdn_key_pair_id,
            load_private_key(settings, session),
            window_s=settings.cdn_url_window_s,
        )
        return cls(presigner, cdn)

    def served_by_cdn(self, key: str) -> bool:
        """Whether ``key``'s URL is a CloudFront one (so it needs the key's version id)."""
        return self.cdn is not None and key_category(key) in SERVED_CATEGORIES

    def url(self, key: str, version_id: str | None = None, expires_in: int | None = None) -> str:
        """The URL of ``key`` (of ``version_id``, which a CDN URL requires).

        ``expires_in=None`` is the category's default (3600 s; 300 s for ``body/``); a CDN
        URL lives up to one ``WEARIT_CDN_URL_WINDOW_SECONDS`` longer (see ``signing``).
        """
        if not self.served_by_cdn(key):
            return self._presigner.get_url(key, expires_in)
        assert self.cdn is not None
        validate_key(key)
        if not version_id:
            raise InvalidStorageRequest(
                f"{key!r} is served by the CDN, whose URLs name one version: pass version_id "
                "(StoredImage.main.version_id, UploadStatus.main_version_id), or call "
                "image_url(key), which looks the current version up",
                key=key,
            )
        return self.cdn.signed_url(key, version_id, self._presigner.get_expiry(key, expires_in))

    def signed_cookies(self, user_id: str, expires_in: int) -> SignedCookies:
        if self.cdn is None:
            raise StorageConfigurationError(
                "signed cookies need the CDN: set WEARIT_CDN_DOMAIN, WEARIT_CDN_KEY_PAIR_ID and "
                "the private key's source"
            )
        return self.cdn.signed_cookies(user_id, expires_in)
