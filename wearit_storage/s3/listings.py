"""Paginated listings of versions and unfinished uploads, shared by erasure, restore and usage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as BotoS3Client
    from mypy_boto3_s3.type_defs import MultipartUploadTypeDef


def list_versions(boto_client: BotoS3Client, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    """Yield raw ``Versions`` and ``DeleteMarkers`` entries (with ``IsDeleteMarker``)."""
    paginator = boto_client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            yield {**version, "IsDeleteMarker": False}
        for marker in page.get("DeleteMarkers", []):
            yield {**marker, "IsDeleteMarker": True}


def key_versions(boto_client: BotoS3Client, bucket: str, key: str) -> list[dict[str, Any]]:
    """Versions and delete markers of exactly ``key``, newest first.

    S3 lists the versions of a key newest first; ``Prefix`` also matches longer keys
    (``a.jpg`` is a prefix of ``a.jpg.tmp``), hence the exact-key filter.
    """
    entries = [entry for entry in list_versions(boto_client, bucket, key) if entry["Key"] == key]
    # Timestamps can tie (moto lists them to the second) and boto3 returns versions and
    # delete markers as two lists: among equal timestamps the current entry (``IsLatest``)
    # is the newest; the stable sort keeps S3's newest-first order among the rest.
    return sorted(
        entries,
        key=lambda entry: (entry["LastModified"], bool(entry.get("IsLatest"))),
        reverse=True,
    )


def list_uploads(
    boto_client: BotoS3Client, bucket: str, prefix: str
) -> Iterator[MultipartUploadTypeDef]:
    """Yield the unfinished multipart uploads under ``prefix``."""
    paginator = boto_client.get_paginator("list_multipart_uploads")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Uploads", [])
