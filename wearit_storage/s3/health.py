"""A cheap reachability check of the buckets, for readiness probes: never raises."""

from __future__ import annotations

from dataclasses import dataclass, field

from wearit_storage.categories import USER_CATEGORIES
from wearit_storage.errors import StorageError
from wearit_storage.s3.client import SyncS3Client


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Truthy when every bucket answered; ``reason`` says which did not, and why."""

    ok: bool
    reason: str
    buckets: dict[str, str] = field(default_factory=dict)  # bucket -> "ok" or error code

    def __bool__(self) -> bool:
        return self.ok


def check_health(primary: SyncS3Client, replica: SyncS3Client | None = None) -> HealthReport:
    """One ``ListObjectsV2`` of at most one key per bucket, under a prefix the API role may
    list (``HeadBucket`` needs an unconditional ``s3:ListBucket`` the role does not have)."""
    results: dict[str, str] = {}
    problems: list[str] = []
    prefix = USER_CATEGORIES[0].prefix
    for client in (primary, replica):
        if client is None:
            continue
        name = _bucket_of(client)
        try:
            with client.operation("health", prefix):
                client.boto_client.list_objects_v2(
                    Bucket=client.bucket_name, Prefix=prefix, MaxKeys=1
                )
        except StorageError as error:
            results[name] = error.code
            problems.append(f"{name}: {error.code}")
            continue
        results[name] = "ok"
    if problems:
        return HealthReport(False, "unreachable or refused: " + "; ".join(problems), results)
    return HealthReport(True, "all buckets answered", results)


def _bucket_of(client: SyncS3Client) -> str:
    try:
        return client.bucket_name
    except StorageError:
        return "(not connected)"
