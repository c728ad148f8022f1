"""Removing a user's images from the CDN's caches (``CreateInvalidation``).

Erasure deletes every version from both buckets; the edge may still hold copies for up to
the cache policy's TTL. :func:`invalidate_user_paths` asks CloudFront to drop every cached
object under the user's served paths (one wildcard path per category, so one invalidation
batch whatever the user owns). Only the eraser role is meant to hold
``cloudfront:CreateInvalidation``; the API and worker roles do not.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from wearit_storage.delivery.served import SERVED_CATEGORIES
from wearit_storage.errors import (
    StorageAccessDenied,
    StorageConfigurationError,
    StorageError,
    StorageUnavailable,
)
from wearit_storage.observability import logger
from wearit_storage.paths import user_prefix
from wearit_storage.settings import StorageSettings

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

_BUSY_CODES: Final = frozenset(
    {"TooManyInvalidationsInProgress", "Throttling", "ServiceUnavailable", "InternalError"}
)


@dataclass(frozen=True, slots=True)
class CdnInvalidation:
    """What CloudFront accepted: its id and status (``InProgress``, later ``Completed``)."""

    distribution_id: str
    invalidation_id: str
    status: str
    paths: tuple[str, ...]


def user_paths(user_id: str) -> tuple[str, ...]:
    """``/clothing/{user}/*``, ``/tryon/{user}/*``, ``/avatars/{user}/*``."""
    return tuple(f"/{user_prefix(category, user_id)}*" for category in SERVED_CATEGORIES)


def invalidate_user_paths(
    cloudfront: CloudFrontClient, distribution_id: str, user_id: str
) -> CdnInvalidation:
    """Request the invalidation of every cached object of ``user_id``; returns once
    CloudFront accepted it (it completes within minutes, on its own)."""
    paths = user_paths(user_id)
    try:
        response = cloudfront.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": list(paths)},
                # Unique per request: CloudFront treats a repeated reference as the same one.
                "CallerReference": f"erase-{user_id}-{uuid.uuid4().hex}",
            },
        )
    except (BotoCoreError, ClientError) as exc:
        raise _translate(exc, distribution_id, user_id) from exc
    invalidation = response["Invalidation"]
    logger.info(
        "cdn invalidation %s of user %s on %s: %s",
        invalidation["Id"],
        user_id,
        distribution_id,
        invalidation["Status"],
    )
    return CdnInvalidation(distribution_id, invalidation["Id"], invalidation["Status"], paths)


def _translate(exc: Exception, distribution_id: str, user_id: str) -> StorageError:
    where = f"invalidating the CDN cache of user {user_id} on distribution {distribution_id}"
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
    if code == "NoSuchDistribution":
        return StorageConfigurationError(
            f"{where} failed: no such distribution; set WEARIT_CDN_DISTRIBUTION_ID to the stack "
            "output CdnDistributionId"
        )
    if code in ("AccessDenied", "AccessDeniedException"):
        return StorageAccessDenied(
            f"{where} was denied: only the eraser role may call cloudfront:CreateInvalidation"
        )
    if code in _BUSY_CODES or not code:
        return StorageUnavailable(f"{where} failed ({code or type(exc).__name__}); retry later")
    return StorageError(f"{where} failed with {code}")


class EdgeInvalidator:
    """Invalidates erased users' paths on one distribution (``WEARIT_CDN_DISTRIBUTION_ID``):
    what the eraser and ``delete_user_files`` call once a user's objects are gone."""

    def __init__(self, cloudfront: CloudFrontClient, distribution_id: str) -> None:
        self.cloudfront = cloudfront
        self.distribution_id = distribution_id

    @classmethod
    def from_settings(
        cls, settings: StorageSettings, session: boto3.session.Session
    ) -> EdgeInvalidator | None:
        """``None`` without a distribution id. CloudFront's endpoint is boto3's own choice
        (``AWS_ENDPOINT_URL_CLOUDFRONT`` / ``AWS_ENDPOINT_URL`` are honoured): the S3
        endpoint setting may name an S3-only endpoint (a VPC endpoint, a compatible store)."""
        if settings.cdn_distribution_id is None:
            return None
        return cls(session.client("cloudfront"), settings.cdn_distribution_id)

    def invalidate(self, user_id: str) -> CdnInvalidation:
        return invalidate_user_paths(self.cloudfront, self.distribution_id, user_id)
