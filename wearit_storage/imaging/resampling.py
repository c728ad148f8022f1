"""Geometry and encoding of renditions: fit, cover-crop, resample, JPEG out."""

from __future__ import annotations

import functools
import io
import itertools
import math
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from PIL import Image

T = TypeVar("T")
Size = tuple[int, int]
Box = tuple[float, float, float, float]

#: Every Lanczos pass starts from at least this many source pixels per output pixel (per
#: axis) when the source has them. Shrinking further beforehand (DCT scaling of JPEGs,
#: Pillow's block averaging for the other formats) is far cheaper, but leaves aliasing
#: that only a final pass of 2x or more averages away; libvips uses the same rule.
HEADROOM = 2.0

#: Resampling is split into horizontal bands run on this many threads, the caller's
#: included (Pillow releases the GIL while resampling). Only large outputs are split.
RESAMPLE_THREADS = max(1, min(4, os.cpu_count() or 1))
_MIN_PIXELS_PER_BAND = 100_000
#: How far, in output pixels, Lanczos-3 reads around each pixel (as Pillow computes it).
_LANCZOS_REACH = 3.0 - 0.5


def fit_size(source: Size, box: Size) -> Size:
    """Largest size with the aspect ratio of ``source`` fitting in ``box``, never upscaled.

    Same arithmetic as ``Image.thumbnail``, so main images have the dimensions callers of
    ``Image.thumbnail`` expect.
    """
    width, height = source
    box_width, box_height = box
    if width <= box_width and height <= box_height:
        return source
    aspect = width / height
    if box_width / box_height >= aspect:
        return _round_aspect(box_height * aspect, lambda n: abs(aspect - n / box_height)), (
            box_height
        )
    return box_width, _round_aspect(
        box_width / aspect, lambda n: 0 if n == 0 else abs(aspect - box_width / n)
    )


def _round_aspect(number: float, key: Callable[[int], float]) -> int:
    return max(min(math.floor(number), math.ceil(number), key=key), 1)


def cover_box(source: Size, target: Size) -> Box:
    """Centred region of ``source`` with the aspect ratio of ``target`` (``ImageOps.fit``)."""
    width, height = source
    target_ratio = target[0] / target[1]
    if width / height >= target_ratio:
        crop_width, crop_height = target_ratio * height, float(height)
    else:
        crop_width, crop_height = float(width), width / target_ratio
    left, top = (width - crop_width) / 2, (height - crop_height) / 2
    return (left, top, left + crop_width, top + crop_height)


def map_box(box: Box, source: Size, frame: Box) -> Box:
    """Map ``box`` given in ``source`` pixels into ``frame``, where the whole source lies."""
    scale_x = (frame[2] - frame[0]) / source[0]
    scale_y = (frame[3] - frame[1]) / source[1]
    return (
        frame[0] + box[0] * scale_x,
        frame[1] + box[1] * scale_y,
        frame[0] + box[2] * scale_x,
        frame[1] + box[3] * scale_y,
    )


def scale_of(box: Box, target: Size) -> float:
    """How much ``box`` must be scaled to become ``target`` (the larger axis factor)."""
    return max(target[0] / (box[2] - box[0]), target[1] / (box[3] - box[1]))


def resample(
    image: Image.Image,
    size: Size,
    box: Box,
    convert: Callable[[Image.Image], Image.Image] | None = None,
) -> Image.Image:
    """One high-quality Lanczos pass from ``box`` of ``image`` to ``size``.

    ``convert`` is a per-pixel mode conversion (e.g. flattening alpha) to apply first; it
    is applied to one band of source rows at a time (:func:`resample_converted`), so no
    converted copy of the whole image is ever held.

    Far larger sources are first block-averaged down to ``HEADROOM`` times the target
    (what Pillow's ``reducing_gap`` does). Large outputs are then computed as horizontal
    bands (:func:`split_rows`) on several threads.
    """
    if convert is not None:
        return resample_converted(image, size, box, convert)
    image, box = reduce_for(image, size, box)
    bands = split_rows(size, box, band_count(size))
    if len(bands) == 1:
        return _lanczos(image, size, box)
    parts = spread([functools.partial(resample_band, image, band) for band in bands])
    return assemble(image.mode, size, zip((band.top for band in bands), parts, strict=True))


@dataclass(frozen=True, slots=True)
class Band:
    """Output rows ``top`` to ``top + size[1]`` of a resample, Lanczos-filtered from ``box``."""

    top: int
    size: Size
    box: Box

    def rows_read(self, height: int) -> int:
        """How many source rows, from the top of an image ``height`` tall, the filter reads."""
        scale = (self.box[3] - self.box[1]) / self.size[1]
        return min(height, math.ceil(self.box[3] + (_LANCZOS_REACH + 1) * max(scale, 1.0)))


def split_rows(size: Size, box: Box, count: int) -> list[Band]:
    """``count`` horizontal bands of a resample of ``box`` to ``size``.

    Each band passes its own source rows as ``box`` and Pillow's filter reads the rows
    around it, so bands join seamlessly. Together they equal a single call up to rounding:
    float band offsets, and Pillow choosing from each band's shape which of its two passes
    (rows, columns) runs first, move some pixels by one or two levels.
    """
    cuts = [round(size[1] * i / count) for i in range(count + 1)]
    row_height = (box[3] - box[1]) / size[1]
    return [
        Band(
            top,
            (size[0], bottom - top),
            (box[0], box[1] + top * row_height, box[2], box[1] + bottom * row_height),
        )
        for top, bottom in itertools.pairwise(cuts)
    ]


def resample_band(image: Image.Image, band: Band) -> Image.Image:
    return _lanczos(image, band.size, band.box)


def assemble(mode: str, size: Size, parts: Iterable[tuple[int, Image.Image]]) -> Image.Image:
    """One image of ``size`` from bands (first row, pixels) covering all of its rows."""
    output = Image.new(mode, size, None)  # every pixel is pasted: skip the fill
    for top, part in parts:
        output.paste(part, (0, top))
    return output


#: Source bytes (at 4 per pixel) one band of :func:`resample_converted` reads; each band
#: allocates a few times this while it converts, on up to ``RESAMPLE_THREADS`` threads.
CONVERT_BAND_BYTES = 2 * 2**20


def resample_converted(
    image: Image.Image, size: Size, box: Box, convert: Callable[[Image.Image], Image.Image]
) -> Image.Image:
    """:func:`resample` of ``convert(image)``, computed band by band.

    Each band of output rows crops the source rows it reads (its box plus the filter's
    reach), converts them, block-averages them like :func:`reduce_for` (on a grid aligned
    to whole factors, the same in every band) and resamples them. Memory is a few
    ``CONVERT_BAND_BYTES`` per thread instead of a full-resolution converted copy (an RGBA
    upload flattened onto white costs 13 bytes per pixel at full resolution).
    """
    scale_x = (box[2] - box[0]) / size[0]
    scale_y = (box[3] - box[1]) / size[1]
    factor_x = max(1, int(scale_x / HEADROOM))
    factor_y = max(1, int(scale_y / HEADROOM))
    # One source pixel more than the filter reads, so rounding never starves an edge.
    reach_x = (_LANCZOS_REACH + 1) * max(scale_x, 1.0)
    reach_y = (_LANCZOS_REACH + 1) * max(scale_y, 1.0)
    left = _aligned(box[0] - reach_x, factor_x)
    right = min(image.width, math.ceil(box[2] + reach_x))
    rows_per_band = max(1, int(CONVERT_BAND_BYTES / (4 * (right - left)) / scale_y))
    cuts = [*range(0, size[1], rows_per_band), size[1]]

    def band(top: int, bottom: int) -> Image.Image:
        y0, y1 = box[1] + top * scale_y, box[1] + bottom * scale_y
        upper = _aligned(y0 - reach_y, factor_y)
        lower = min(image.height, math.ceil(y1 + reach_y))
        region = convert(image.crop((left, upper, right, lower)))
        sub_box = (box[0] - left, y0 - upper, box[2] - left, y1 - upper)
        if factor_x > 1 or factor_y > 1:
            region = region.reduce((factor_x, factor_y))
            sub_box = (
                sub_box[0] / factor_x,
                sub_box[1] / factor_y,
                sub_box[2] / factor_x,
                sub_box[3] / factor_y,
            )
        return _lanczos(region, (size[0], bottom - top), sub_box)

    def bands(group: list[tuple[int, int]]) -> list[tuple[int, Image.Image]]:
        return [(top, band(top, bottom)) for top, bottom in group]

    # Interleaved groups, one per thread, each converted band after band: memory is
    # bounded by the thread count, not by the image. The caller runs the first group.
    jobs = list(itertools.pairwise(cuts))
    groups = [jobs[n::RESAMPLE_THREADS] for n in range(min(RESAMPLE_THREADS, len(jobs)))]
    parts = [
        part for done in spread([functools.partial(bands, g) for g in groups]) for part in done
    ]
    return assemble(parts[0][1].mode, size, parts)


def spread(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``calls`` on the shared pool and the caller's thread; results in order.

    The caller runs the first call, then takes back every call the pool has not started
    yet: when many uploads render at once and the pool is busy with another upload's
    bands, each caller keeps working instead of waiting in the pool's queue.
    """
    futures = [submit(call) for call in calls[1:]]
    return [calls[0](), *collect(list(zip(calls[1:], futures, strict=True)))]


def submit(call: Callable[[], T]) -> Future[T]:
    """Queue ``call`` on the shared resampling pool."""
    return _pool().submit(call)


def collect(submitted: list[tuple[Callable[[], T], Future[T]]]) -> list[T]:
    """The results of ``submitted`` calls, in order, once all are done.

    Calls the pool has not started are cancelled and run on the caller's thread, the last
    queued first: the pool works from the front of its queue and the caller from the back.
    """
    results: dict[int, T] = {}
    for index in reversed(range(len(submitted))):
        call, future = submitted[index]
        if future.cancel():
            results[index] = call()
    return [
        results[index] if index in results else future.result()
        for index, (_, future) in enumerate(submitted)
    ]


def _aligned(position: float, factor: int) -> int:
    """``position`` clamped to the image and rounded down to a multiple of ``factor``."""
    return max(0, math.floor(position)) // factor * factor


def reduce_for(image: Image.Image, size: Size, box: Box) -> tuple[Image.Image, Box]:
    """Block-average ``image`` by whole factors that still leave ``HEADROOM`` for Lanczos.

    Only the region Lanczos will read (``box`` plus the filter's reach) is reduced. Done
    once for the whole image, not per band, so every band sees the same averaging grid.
    """
    factor_x, factor_y = reduction_factors(size, box)
    if factor_x == factor_y == 1:
        return image, box
    reach_x = _LANCZOS_REACH * (box[2] - box[0]) / size[0]
    reach_y = _LANCZOS_REACH * (box[3] - box[1]) / size[1]
    region = (
        max(0, int(box[0] - reach_x)),
        max(0, int(box[1] - reach_y)),
        min(image.width, math.ceil(box[2] + reach_x)),
        min(image.height, math.ceil(box[3] + reach_y)),
    )
    reduced = image.reduce((factor_x, factor_y), box=region)
    return reduced, (
        (box[0] - region[0]) / factor_x,
        (box[1] - region[1]) / factor_y,
        (box[2] - region[0]) / factor_x,
        (box[3] - region[1]) / factor_y,
    )


def reduction_factors(size: Size, box: Box) -> tuple[int, int]:
    """The whole factors :func:`reduce_for` block-averages ``box`` by before resampling."""
    return (
        max(1, int((box[2] - box[0]) / size[0] / HEADROOM)),
        max(1, int((box[3] - box[1]) / size[1] / HEADROOM)),
    )


def band_count(size: Size) -> int:
    """How many threads are worth using for an output of ``size``."""
    return max(1, min(RESAMPLE_THREADS, size[0] * size[1] // _MIN_PIXELS_PER_BAND, size[1]))


def _lanczos(image: Image.Image, size: Size, box: Box) -> Image.Image:
    return image.resize(size, Image.Resampling.LANCZOS, box=box)


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=max(1, RESAMPLE_THREADS - 1), thread_name_prefix="wearit-resample"
    )


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    """Encode a metadata-free progressive JPEG.

    Pillow copies ``info`` (comment, EXIF, XMP, ICC) from image to image and writes some
    of it back on save; clearing it is what guarantees no GPS or comment leaks out. No ICC
    profile is written because the pixels are sRGB, the assumed default everywhere.
    The caller hands over ``image``: its ``info`` is cleared.
    """
    image.info = {}
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=quality, optimize=True, progressive=True)
    return output.getvalue()
