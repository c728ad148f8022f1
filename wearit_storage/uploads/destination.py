"""Where a direct upload goes, pinned by the API when it presigns the POST.

The API knows which user, category and item an upload belongs to; the browser must not be
able to change that. :class:`UploadDestination` becomes ``x-amz-meta-wearit-*`` form fields
with exact-match conditions in the signed POST policy, so S3 refuses a POST whose fields
were edited, and stores them as the object's metadata, which the upload worker reads back
with ``HeadObject``. Avatars have no item: their POST carries no item-id field at all, and
S3 refuses any form field the policy does not name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from wearit_storage.categories import Category
from wearit_storage.errors import InvalidStorageKey
from wearit_storage.paths import promotable_category, promotion_keys, validate_id

#: Object metadata names (S3 stores ``x-amz-meta-{name}``; boto3 returns ``{name}``).
CATEGORY_METADATA: Final = "wearit-category"
USER_ID_METADATA: Final = "wearit-user-id"
ITEM_ID_METADATA: Final = "wearit-item-id"
_META_PREFIX: Final = "x-amz-meta-"


@dataclass(frozen=True, slots=True)
class UploadDestination:
    """The category, user and item (none for avatars) a direct upload is promoted into."""

    category: Category
    user_id: str
    item_id: str | None = None

    def __init__(self, category: Category | str, user_id: str, item_id: str | None = None) -> None:
        target = promotable_category(category)
        validate_id(user_id, field="user_id")
        if item_id is not None:
            validate_id(item_id, field="item_id")
        # Fails now, at presign time, rather than in the worker after the upload.
        promotion_keys(target, user_id, item_id, with_thumbnail=False)
        object.__setattr__(self, "category", target)
        object.__setattr__(self, "user_id", user_id)
        object.__setattr__(self, "item_id", item_id)

    def metadata(self) -> dict[str, str]:
        """The object metadata the upload carries (boto3's ``Metadata`` shape)."""
        metadata = {CATEGORY_METADATA: self.category.value, USER_ID_METADATA: self.user_id}
        if self.item_id is not None:
            metadata[ITEM_ID_METADATA] = self.item_id
        return metadata

    def form_fields(self) -> dict[str, str]:
        """The POST form fields, each of which the policy pins with an exact match."""
        return {f"{_META_PREFIX}{name}": value for name, value in self.metadata().items()}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], *, key: str) -> UploadDestination | None:
        """The destination pinned on an uploaded object; ``None`` when it carries none (a
        POST presigned without a destination: the API promotes it itself)."""
        lowered = {name.lower(): value for name, value in metadata.items()}
        if CATEGORY_METADATA not in lowered and USER_ID_METADATA not in lowered:
            return None
        try:
            return cls(
                lowered.get(CATEGORY_METADATA, ""),
                lowered.get(USER_ID_METADATA, ""),
                lowered.get(ITEM_ID_METADATA),
            )
        except InvalidStorageKey as exc:
            raise InvalidStorageKey(
                f"{key!r} carries an invalid pinned destination: {exc}", key=key
            ) from exc
