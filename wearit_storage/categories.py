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
    EXPORTS = "exports"
    # Erasure requests (``erasures/{user}/request.json``, holding nothing but the id) and
    # their progress: the tombstone that keeps a user's late uploads out, long after the
    # erasure itself. Not user data: never erased, exported or replicated.
    ERASURES = "erasures"
    # Which user each direct-upload session belongs to (``sessions/{user}/{session}.json``),
    # recorded when the API presigns with a destination: an erasure finds the user's
    # pending sessions in temp/ by it. Expires with the longest a session can live.
    SESSIONS = "sessions"

    @property
    def prefix(self) -> str:
        """``clothing/``: the key prefix of the whole category."""
        return f"{self.value}/"


#: A user's data: what usage counts, what is replicated, exported and erased (see
#: ``ERASED_CATEGORIES``). ``temp/`` is left out: uploads awaiting validation, keyed by
#: session; so is ``exports/``: GDPR archives built from these categories (never exported
#: into themselves, never replicated, expired by the lifecycle after a few days).
USER_CATEGORIES: Final = (Category.CLOTHING, Category.BODY, Category.TRYON, Category.AVATARS)
#: What S3 replicates to the replica bucket (and erasure deletes there too).
REPLICATED_CATEGORIES: Final = USER_CATEGORIES
#: Everything erasure removes for a user: their data plus the archives exported from it
#: (``exports/{user}/``, a copy of that data, short-lived, never replicated) and the record
#: of their upload sessions (``sessions/{user}/``, once the sessions it names are erased).
ERASED_CATEGORIES: Final = (*USER_CATEGORIES, Category.EXPORTS, Category.SESSIONS)
#: Categories whose keys have an item folder between the owner id and the file name.
ITEM_CATEGORIES: Final = frozenset({Category.CLOTHING, Category.BODY, Category.TRYON})
