"""The image pipelines under comparison, each turning upload bytes into (main, thumbnail)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import pyvips

from benchmarks.baselines import previous_engine
from benchmarks.baselines.seed_image_processor import ImageProcessor as SeedImageProcessor
from wearit_storage.imaging import ImageProcessor
from wearit_storage.imaging.engine import THREADS_PER_RENDER
from wearit_storage.renditions import WARDROBE

Pipeline = Callable[[bytes], tuple[bytes, bytes]]


def wearit(data: bytes) -> tuple[bytes, bytes]:
    """The SDK rendering JPEGs only, as for body photos and try-on results."""
    renditions = ImageProcessor.render(data)
    return renditions.main, renditions.require_thumbnail()


def wearit_avif(data: bytes) -> tuple[bytes, bytes]:
    """The SDK rendering what a wardrobe upload stores: each JPEG and its AVIF. Returns the
    JPEGs (the AVIFs' bytes and SSIM are measured apart, by :func:`wearit_avif_files`)."""
    renditions = ImageProcessor.render(data, formats=WARDROBE.formats)
    return renditions.main, renditions.require_thumbnail()


def wearit_avif_files(data: bytes) -> tuple[bytes, bytes]:
    """The main and thumbnail AVIFs of a wardrobe render."""
    renditions = ImageProcessor.render(data, formats=WARDROBE.formats)
    assert renditions.main_avif is not None
    assert renditions.thumbnail_avif is not None
    return renditions.main_avif, renditions.thumbnail_avif


def previous(data: bytes) -> tuple[bytes, bytes]:
    """Today's pipeline before libvips (the Pillow engine, from the repository's history)."""
    renditions = previous_engine.load().ImageProcessor.render(data)
    main: bytes = renditions.main
    thumbnail: bytes = renditions.require_thumbnail()
    return main, thumbnail


def seed(data: bytes) -> tuple[bytes, bytes]:
    # The seed's repository would call both methods, each decoding the upload again.
    return SeedImageProcessor.resize_image(data), SeedImageProcessor.create_thumbnail(data)


#: libvips' own default worker count (one per core), which its users get: the SDK sets its
#: own (``imaging/engine.py``) process-wide, so each contender sets its count per call.
_LIBVIPS_DEFAULT_THREADS = os.cpu_count() or 1


def _with_threads(threads: int, pipeline: Pipeline) -> Pipeline:
    @functools.wraps(pipeline)
    def run(data: bytes) -> tuple[bytes, bytes]:
        pyvips.concurrency_set(threads)
        return pipeline(data)

    return run


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


_SDK_THREADS = int(os.environ.get("VIPS_CONCURRENCY") or THREADS_PER_RENDER)
CONTENDERS: dict[str, Pipeline] = {
    "wearit_storage": _with_threads(_SDK_THREADS, wearit),
    "wearit_storage_avif": _with_threads(_SDK_THREADS, wearit_avif),
    "previous": previous,
    "seed": seed,
    "libvips": _with_threads(_LIBVIPS_DEFAULT_THREADS, libvips),
    "libvips_two_calls": _with_threads(_LIBVIPS_DEFAULT_THREADS, libvips_two_calls),
}
