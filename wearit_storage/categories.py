"""The top-level prefixes of the data bucket: the one list both the SDK and the CDK read.

The SDK builds keys under these categories; the CDK app derives from the same tuples the
IAM policies, replication rules and lifecycle rules (``cdk/prefixes.py``), so a category
added here reaches the infrastructure too (and changes the template snapshots).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Category(StrEnum):
    """Top-level prefixes; the value is the first key segment."""

    CLOTHING = "clothing"
    BODY = "body"
    TRYON = "tryon"
    AVATARS = "avatars"
    TEMP = "temp"

    @property
    def prefix(self) -> str:
        """``clothing/``: the key prefix of the whole category."""
        return f"{self.value}/"


#: A user's data: what erasure and usage cover, what is replicated, what the API role reads
#: and writes. ``temp/`` is left out: uploads awaiting validation, keyed by session.
USER_CATEGORIES: Final = (Category.CLOTHING, Category.BODY, Category.TRYON, Category.AVATARS)
#: Categories whose keys have an item folder between the owner id and the file name.
ITEM_CATEGORIES: Final = frozenset({Category.CLOTHING, Category.BODY, Category.TRYON})
