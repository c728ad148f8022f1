"""Geometry and encoding of renditions: fit, cover-crop, resample, JPEG out."""

from __future__ import annotations

import io
import math
from collections.abc import Callable

from PIL import Image

Size = tuple[int, int]
Box = tuple[float, float, float, float]

#: Resampling passes below this factor go straight through Lanczos; above it Pillow first
#: averages whole pixel blocks, which is much cheaper and visually indistinguishable.
REDUCING_GAP = 3.0


def fit_size(source: Size, box: Size) -> Size:
    """Largest size with the aspect ratio of ``source`` fitting in ``box``, never upscaled.

    Rounds like ``Image.thumbnail`` so renditions have the same size as the seed's.
    """
    width, height = source
    max_width, max_height = min(box[0], width), min(box[1], height)
    if (width, height) == (max_width, max_height):
        return source
    aspect = width / height
    if max_width / max_height >= aspect:
        return _round_aspect(max_height * aspect, lambda n: abs(aspect - n / max_height)), (
            max_height
        )
    return max_width, _round_aspect(
        max_width / aspect, lambda n: 0 if n == 0 else abs(aspect - max_width / n)
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


def resample(image: Image.Image, size: Size, box: Box) -> Image.Image:
    """One high-quality Lanczos pass from ``box`` of ``image`` to ``size``."""
    return image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)


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
