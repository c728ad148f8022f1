"""Rendition geometry: fit, cover-crop, and how much of the source each rendition needs.

Everything is planned in the *stored* orientation (before EXIF rotation): callers give
targets as displayed, the plan turns them, and rotation happens last, on small images.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

Size = tuple[int, int]

#: Every Lanczos pass starts from at least this many source pixels per output pixel (per
#: axis) when the source has them. Shrinking further beforehand (box averaging, libwebp's
#: rescaler) is far cheaper, but leaves aliasing that only a final pass of 2x or more
#: averages away; libvips' ``resize`` uses the same rule (its ``gap``).
HEADROOM: Final = 2.0
#: How much larger than a rendition a JPEG is decoded (DCT scaling picks 1/2, 1/4 or 1/8).
#: Less than ``HEADROOM``: libjpeg's scaled IDCT drops the high frequencies of each block
#: instead of averaging pixels, so it adds no aliasing of its own. Measured on 12 MP photos
#: (``make bench``): a 1/4 decode at 1.25x headroom costs 0.001 SSIM against 2x headroom
#: and saves about a third of the time.
DCT_HEADROOM: Final = 1.25
_ORIENTATIONS_SWAPPING_AXES: Final = frozenset({5, 6, 7, 8})


def oriented_size(size: Size, orientation: int) -> Size:
    """``size`` as displayed once EXIF ``orientation`` is applied."""
    return (size[1], size[0]) if orientation in _ORIENTATIONS_SWAPPING_AXES else size


def fit_size(source: Size, box: Size) -> Size:
    """Largest size with the aspect ratio of ``source`` fitting in ``box``, never upscaled.

    Same arithmetic as Pillow's ``Image.thumbnail`` (what the design document's code,
    ``docs/design-document.fr.rst``, called), so main images keep the dimensions its
    callers expect.
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


def cover_scale(source: Size, target: Size) -> float:
    """The scale at which ``source`` just covers ``target`` (the centre crop's scale)."""
    return max(target[0] / source[0], target[1] / source[1])


@dataclass(frozen=True, slots=True)
class Plan:
    """What to cut from a source of ``source`` pixels, in stored orientation: a main image
    of exactly ``main_size``, and a thumbnail of exactly ``thumbnail_size`` cropped from
    the centre."""

    source: Size
    main_size: Size | None
    thumbnail_size: Size | None

    @property
    def scale_needed(self) -> float:
        """The largest fraction of the source's resolution a rendition uses (at most 1)."""
        scales = [0.0]
        if self.main_size is not None:
            scales.append(max(m / s for m, s in zip(self.main_size, self.source, strict=True)))
        if self.thumbnail_size is not None:
            scales.append(cover_scale(self.source, self.thumbnail_size))
        return min(1.0, max(scales))

    @property
    def thumbnail_from_main(self) -> bool:
        """Whether the main image leaves the thumbnail ``HEADROOM``: then the thumbnail is
        cut from it (the cheap path), else from the decoded source."""
        if self.main_size is None or self.thumbnail_size is None:
            return False
        return cover_scale(self.main_size, self.thumbnail_size) * HEADROOM <= 1.0


def plan(source: Size, orientation: int, main_box: Size | None, thumbnail: Size | None) -> Plan:
    """Rendition geometry for a ``source`` stored with EXIF ``orientation``; ``main_box``
    and ``thumbnail`` are given as displayed."""
    main_size = None
    if main_box is not None:
        shown = fit_size(oriented_size(source, orientation), main_box)
        main_size = oriented_size(shown, orientation)
    stored_thumbnail = None if thumbnail is None else oriented_size(thumbnail, orientation)
    return Plan(source, main_size, stored_thumbnail)


def box_shrink(decoded: Size, source: Size, scale: float) -> int:
    """The whole factor a decoded image (``decoded`` pixels for ``source``) may be box-
    averaged by and still hold ``scale`` of the source's resolution with ``HEADROOM``."""
    kept = min(1.0, HEADROOM * scale)
    return max(1, int(min(d / (s * kept) for d, s in zip(decoded, source, strict=True))))
