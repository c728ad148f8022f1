"""Top-level key prefixes of the data bucket, derived from the SDK's categories.

``wearit_storage.categories`` is the one list of categories: a category added there reaches
the IAM policies, replication rules and lifecycle rules built from these tuples. The tuples
keep the enum's order, which is the order of the policy resources and replication rules in
the templates.
"""

from __future__ import annotations

from typing import Final

from wearit_storage.categories import ERASED_CATEGORIES, REPLICATED_CATEGORIES, Category
from wearit_storage.delivery.served import SERVED_CATEGORIES
from wearit_storage.paths import (
    ERASURE_REQUEST_FILENAME,
    ERASURE_STATUS_FILENAME,
    PROMOTABLE_CATEGORIES,
    STATUS_FILENAME,
)

CLOTHING: Final = Category.CLOTHING.prefix
BODY: Final = Category.BODY.prefix
TRYON: Final = Category.TRYON.prefix
TEMP: Final = Category.TEMP.prefix
EXPORTS: Final = Category.EXPORTS.prefix
ERASURES: Final = Category.ERASURES.prefix
SESSIONS: Final = Category.SESSIONS.prefix

ALL_PREFIXES: Final[tuple[str, ...]] = tuple(category.prefix for category in Category)
# What the API reads and writes objects in: everything but the erasure requests and the
# session bindings, which it only writes (each its own statement).
APPLICATION_PREFIXES: Final[tuple[str, ...]] = tuple(
    category.prefix
    for category in Category
    if category not in (Category.ERASURES, Category.SESSIONS)
)
# What an erasure deletes for a user (and the temp/ sessions bound to them).
ERASED_PREFIXES: Final[tuple[str, ...]] = tuple(category.prefix for category in ERASED_CATEGORIES)
# A user's data is replicated; temp/ holds uploads awaiting validation, expires in a day and
# is never worth a replica; exports/ holds copies of that data, short-lived and rebuildable.
REPLICATED_PREFIXES: Final[tuple[str, ...]] = tuple(
    category.prefix for category in REPLICATED_CATEGORIES
)
# Where the upload worker may write renditions: the categories a temp upload is promoted
# into (wearit_storage.paths), in the enum's order.
PROMOTED_PREFIXES: Final[tuple[str, ...]] = tuple(
    category.prefix for category in Category if category in PROMOTABLE_CATEGORIES
)
# The one kind of object the upload worker writes under temp/: each session's outcome.
STATUS_OBJECTS: Final = f"{TEMP}*/{STATUS_FILENAME}"
# The one kind of object the eraser writes: each user's erasure progress.
ERASURE_STATUS_OBJECTS: Final = f"{ERASURES}*/{ERASURE_STATUS_FILENAME}"
# The one kind the API writes there: each user's request (the tombstone). Also what the
# workers list to see whether a user asked (one key: the listing names no other user).
ERASURE_REQUEST_OBJECTS: Final = f"{ERASURES}*/{ERASURE_REQUEST_FILENAME}"
# What CloudFront may read (both buckets): the categories the CDN serves, never body/.
CDN_PREFIXES: Final[tuple[str, ...]] = tuple(
    category.prefix for category in Category if category in SERVED_CATEGORIES
)
