"""Top-level key prefixes of the data bucket; the SDK's path builder produces exactly these."""

from __future__ import annotations

CLOTHING = "clothing/"
BODY = "body/"
TRYON = "tryon/"
AVATARS = "avatars/"
TEMP = "temp/"

ALL_PREFIXES: tuple[str, ...] = (CLOTHING, BODY, TRYON, AVATARS, TEMP)
# temp/ holds uploads awaiting validation; it expires in a day and is never worth a replica.
REPLICATED_PREFIXES: tuple[str, ...] = (CLOTHING, BODY, TRYON, AVATARS)
