"""Per-user storage accounting (bytes and object counts per category)."""

from __future__ import annotations

from dataclasses import dataclass, field

from wearit_storage.categories import USER_CATEGORIES
from wearit_storage.paths import user_prefix
from wearit_storage.s3.client import SyncS3Client
from wearit_storage.s3.listings import list_versions


@dataclass(slots=True)
class CategoryUsage:
    objects: int = 0  # current versions (what the user sees)
    bytes: int = 0
    noncurrent_versions: int = 0  # kept by versioning until the lifecycle expires them
    noncurrent_bytes: int = 0


@dataclass(slots=True)
class StorageUsage:
    user_id: str
    categories: dict[str, CategoryUsage] = field(default_factory=dict)

    @property
    def objects(self) -> int:
        return sum(c.objects for c in self.categories.values())

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.categories.values())

    @property
    def noncurrent_bytes(self) -> int:
        return sum(c.noncurrent_bytes for c in self.categories.values())


def user_storage_usage(client: SyncS3Client, user_id: str) -> StorageUsage:
    """One ``ListObjectVersions`` pass per category: current and non-current bytes."""
    usage = StorageUsage(user_id)
    prefixes = {category: user_prefix(category, user_id) for category in USER_CATEGORIES}
    with client.operation("usage", f"*/{user_id}/") as record:
        for category, prefix in prefixes.items():
            counts = usage.categories.setdefault(category.value, CategoryUsage())
            for entry in list_versions(client.boto_client, client.bucket_name, prefix):
                if entry["IsDeleteMarker"]:
                    continue
                size = int(entry.get("Size", 0))
                if entry.get("IsLatest"):
                    counts.objects += 1
                    counts.bytes += size
                else:
                    counts.noncurrent_versions += 1
                    counts.noncurrent_bytes += size
        record.bytes = usage.bytes
    return usage
