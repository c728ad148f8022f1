"""CloudFront signed URLs (canned policy) and signed cookies (custom policy).

URLs are made with botocore's :class:`~botocore.signers.CloudFrontSigner` and RSA-SHA1
signatures from ``cryptography`` (what CloudFront verifies with the key group's public
keys). Each URL names one object version (``?versionId=``, the one query string of the
CDN's cache key) and expires at a window boundary: the next multiple of
``WEARIT_CDN_URL_WINDOW_SECONDS`` after the requested expiry. So within one window the same
version always gets the same URL, the phone's image cache and the CDN hit, and signing
is cached by (key, version, expiry) in a bounded LRU: a page of 100 images signs each
image once per window.

Cookies: CloudFront accepts one statement per custom policy, and a statement names one
resource (``*`` also matches ``/``, so ``/*/{user}/*`` would reach other users' items
whose id is the user's). So :meth:`CloudFrontUrls.signed_cookies` returns one set of the
three cookies per served category, each with a ``Path`` and a policy for exactly
``https://{domain}/{category}/{user}/*``; a browser sends each set only under its path.
"""

from __future__ import annotations

import base64
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from wearit_storage.delivery.served import SERVED_CATEGORIES
from wearit_storage.paths import user_prefix

#: Signed URLs kept per process: (key, version, expiry) -> URL, least recently used out.
SIGNING_CACHE_ENTRIES: Final = 16_384
POLICY_COOKIE: Final = "CloudFront-Policy"
SIGNATURE_COOKIE: Final = "CloudFront-Signature"
KEY_PAIR_COOKIE: Final = "CloudFront-Key-Pair-Id"


def cloudfront_b64(data: bytes) -> str:
    """CloudFront's URL-safe base64: ``+`` -> ``-``, ``=`` -> ``_``, ``/`` -> ``~``."""
    return base64.b64encode(data).decode().translate(str.maketrans("+=/", "-_~"))


@dataclass(frozen=True, slots=True)
class CookieSet:
    """The three cookies for one path; set them with ``Path={path}``, ``Secure``,
    ``HttpOnly`` and the CDN's domain (``wearit_storage.fastapi.set_signed_cookies``)."""

    path: str
    #: Bearer credentials until ``expires_at``: kept out of the repr.
    values: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class SignedCookies:
    """What ``signed_cookies(user_id)`` returns: one :class:`CookieSet` per served category."""

    user_id: str
    domain: str
    expires_at: datetime
    sets: tuple[CookieSet, ...]


class CloudFrontUrls:
    """Signs for one distribution domain with one key; thread-safe."""

    def __init__(
        self,
        domain: str,
        key_pair_id: str,
        private_key: rsa.RSAPrivateKey,
        *,
        window_s: int,
        cache_entries: int = SIGNING_CACHE_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.domain = domain
        self.key_pair_id = key_pair_id
        self.window_s = window_s
        self._private_key = private_key
        self._clock = clock
        self._signer = CloudFrontSigner(key_pair_id, self._rsa_sign)
        self._signed = functools.lru_cache(maxsize=cache_entries)(self._sign_url)

    def __repr__(self) -> str:
        return f"CloudFrontUrls(domain={self.domain!r}, key_pair_id={self.key_pair_id!r})"

    def _rsa_sign(self, message: bytes) -> bytes:
        # CloudFront verifies RSA signatures of SHA-1 digests (PKCS #1 v1.5).
        return self._private_key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303

    def resource_url(self, key: str, version_id: str) -> str:
        """The unsigned URL of one version (what signed cookies let a viewer fetch)."""
        return f"https://{self.domain}/{quote(key)}?versionId={quote(version_id, safe='')}"

    def expiry(self, expires_in: int) -> int:
        """The epoch second the URL expires at: ``expires_in`` from now, rounded up to the
        next window boundary."""
        deadline = int(self._clock()) + expires_in
        return -(-deadline // self.window_s) * self.window_s

    def signed_url(self, key: str, version_id: str, expires_in: int) -> str:
        return self._signed(key, version_id, self.expiry(expires_in))

    @property
    def cached_urls(self) -> int:
        """How many signed URLs the cache holds (at most ``cache_entries``)."""
        return self._signed.cache_info().currsize

    def _sign_url(self, key: str, version_id: str, expires_at: int) -> str:
        url: str = self._signer.generate_presigned_url(
            self.resource_url(key, version_id),
            date_less_than=datetime.fromtimestamp(expires_at, UTC),
        )
        return url

    def signed_cookies(self, user_id: str, expires_in: int) -> SignedCookies:
        """One cookie set per served category, each covering ``{category}/{user_id}/``."""
        expires_at = datetime.fromtimestamp(int(self._clock()) + expires_in, UTC)
        sets = []
        for category in SERVED_CATEGORIES:
            path = f"/{user_prefix(category, user_id)}"
            policy: str = self._signer.build_policy(
                f"https://{self.domain}{path}*", date_less_than=expires_at
            )
            sets.append(
                CookieSet(
                    path=path,
                    values={
                        POLICY_COOKIE: cloudfront_b64(policy.encode()),
                        SIGNATURE_COOKIE: cloudfront_b64(self._rsa_sign(policy.encode())),
                        KEY_PAIR_COOKIE: self.key_pair_id,
                    },
                )
            )
        return SignedCookies(user_id, self.domain, expires_at, tuple(sets))
