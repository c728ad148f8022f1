"""The image pipelines under comparison, each turning upload bytes into (main, thumbnail)."""

from __future__ import annotations

from collections.abc import Callable

import pyvips

from benchmarks.baselines.seed_image_processor import ImageProcessor as SeedImageProcessor
from wearit_storage.imaging import ImageProcessor

Pipeline = Callable[[bytes], tuple[bytes, bytes]]


def wearit(data: bytes) -> tuple[bytes, bytes]:
    renditions = ImageProcessor.render(data)
    return renditions.main, renditions.require_thumbnail()


def seed(data: bytes) -> tuple[bytes, bytes]:
    # The seed's repository would call both methods, each decoding the upload again.
    return SeedImageProcessor.resize_image(data), SeedImageProcessor.create_thumbnail(data)


def _vips_jpeg(image: pyvips.Image, quality: int) -> bytes:
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    data: bytes = image.jpegsave_buffer(
        Q=quality, optimize_coding=True, interlace=True, keep="none"
    )
    return data


def libvips(data: bytes) -> tuple[bytes, bytes]:
    """libvips used well: one shrink-on-load decode (``thumbnail_buffer`` picks the JPEG
    shrink factor and applies EXIF orientation and the ICC profile), the 200x200 centre
    crop cut from the decoded main image, our JPEG settings (progressive, optimized
    Huffman tables, Q85 / Q80, no metadata)."""
    # Rendered into memory once, as a libvips user does with an image used twice (the
    # decode is sequential: it cannot be read a second time).
    main = pyvips.Image.thumbnail_buffer(data, 800, height=800, size="down").copy_memory()
    thumbnail = main.thumbnail_image(200, height=200, crop="centre")
    return _vips_jpeg(main, 85), _vips_jpeg(thumbnail, 80)


def libvips_two_calls(data: bytes) -> tuple[bytes, bytes]:
    """An extra row, not a headline: one ``thumbnail_buffer`` per rendition, so every photo
    is decoded twice."""
    main = pyvips.Image.thumbnail_buffer(data, 800, height=800, size="down")
    thumbnail = pyvips.Image.thumbnail_buffer(data, 200, height=200, crop="centre")
    return _vips_jpeg(main, 85), _vips_jpeg(thumbnail, 80)


CONTENDERS: dict[str, Pipeline] = {
    "wearit_storage": wearit,
    "seed": seed,
    "libvips": libvips,
    "libvips_two_calls": libvips_two_calls,
}
