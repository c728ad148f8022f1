"""The soak's uploads, and the renditions the SDK makes of each, known before any upload.

A render is deterministic (same pixels whatever the load and the thread: the pipeline's
bands run on the render's own thread once the pool is busy), so the SHA-256 of what the
SDK renders from a photo under a category's policy, computed here once, is what every
acknowledged upload of that photo must have left in the bucket: whether the API rendered
it (``upload_*``) or a worker process did (a direct upload). That reference does not come
from the bucket, so a lost, stale or corrupted object cannot agree with itself.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Final

from wearit_local.samples import camera_jpeg, natural_image, sample_photo
from wearit_storage import Category, ImageRejected, SyncStorageRepository

#: The categories the API uploads into, and the one direct uploads are pinned to.
SYNC_CATEGORIES: Final = (Category.CLOTHING, Category.BODY, Category.TRYON, Category.AVATARS)
DIRECT_CATEGORY: Final = Category.CLOTHING


@dataclass(frozen=True, slots=True)
class Photo:
    name: str
    data: bytes
    filename: str  # the name it is uploaded under (its extension types it)
    content_type: str


@dataclass(frozen=True, slots=True)
class Expected:
    """SHA-256 of the renditions of one photo under one category's policy."""

    main: str
    thumbnail: str | None


def _png(size: tuple[int, int], seed: int) -> bytes:
    out = io.BytesIO()
    image = natural_image(size, seed).convert("RGBA")
    image.putalpha(200)
    image.save(out, "PNG")
    return out.getvalue()


def photos() -> tuple[Photo, ...]:
    """Phone-like JPEGs (EXIF orientation, GPS) of a few sizes, one 12 MP photo, one PNG
    with transparency; deterministic (no binary files in git)."""
    return (
        Photo("jpeg-1600x1200-rotated", _rotated((1600, 1200), 11), "photo.jpg", "image/jpeg"),
        Photo(
            "jpeg-1200x1600",
            camera_jpeg(natural_image((1200, 1600), 12)),
            "photo.jpg",
            "image/jpeg",
        ),
        Photo(
            "jpeg-2000x1500",
            camera_jpeg(natural_image((2000, 1500), 13)),
            "photo.jpg",
            "image/jpeg",
        ),
        Photo("jpeg-12mp", sample_photo(seed=14), "photo.jpg", "image/jpeg"),
        Photo("png-rgba-1000x1000", _png((1000, 1000), 15), "photo.png", "image/png"),
    )


def _rotated(size: tuple[int, int], seed: int) -> bytes:
    return camera_jpeg(natural_image(size, seed), orientation=6, with_gps=True)


#: Not an image: every path must refuse it (``ImageRejected``; a worker records why).
NOT_A_PHOTO: Final = Photo(
    "not-a-photo", b"\xff\xd8 a JPEG header and nothing of a photo" * 10, "photo.jpg", "image/jpeg"
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_renditions(
    repository: SyncStorageRepository, inputs: tuple[Photo, ...]
) -> dict[tuple[str, Category], Expected]:
    """(photo name, category) -> the renditions' digests, rendered by this SDK now."""
    expected = {}
    for photo in inputs:
        for category in SYNC_CATEGORIES:
            renditions = repository.render(photo.data, category)
            thumbnail = renditions.thumbnail
            expected[photo.name, category] = Expected(
                sha256(renditions.main), sha256(thumbnail) if thumbnail is not None else None
            )
    try:
        repository.render(NOT_A_PHOTO.data, DIRECT_CATEGORY)
    except ImageRejected:
        pass
    else:
        raise RuntimeError(f"{NOT_A_PHOTO.name} rendered: the soak's refused input is no refusal")
    return expected
