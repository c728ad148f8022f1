"""Which categories the CDN serves: the one list the SDK signs for and the CDK grants.

Body photos are not among them, on purpose: they are the most sensitive images we hold,
read by the try-on workers through S3 and shown rarely (a presigned S3 link that lives 5
minutes, ``WEARIT_BODY_GET_EXPIRY_SECONDS``). Served through the CDN they would sit in
edge caches of many countries for as long as the cache keeps them, beyond the reach of
erasure until an invalidation lands. Keeping them off the CDN entirely (the bucket
policies do not let CloudFront read ``body/``) is simpler to prove than "cached nowhere".
``temp/`` (unvalidated uploads) and ``exports/`` (archives, a download link of their own)
are not images the app shows.
"""

from __future__ import annotations

from typing import Final

from wearit_storage.categories import Category

#: In the enum's order, which is the order of the policy resources in the templates.
SERVED_CATEGORIES: Final = (Category.CLOTHING, Category.TRYON, Category.AVATARS)
