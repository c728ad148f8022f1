"""Pixels made safe to resample, then made sRGB and upright.

Before resampling (per pixel, streamed: never a full-resolution copy): 16-bit samples
scaled to 8 bits and transparency flattened onto white. After resampling, on the small
renditions: the embedded ICC profile converted to sRGB and the EXIF orientation applied.
Both commute with resampling (up to rounding), and running them on an 800 px image
instead of a multi-megapixel one is much of what makes a render fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from .engine import Error, Image

#: Rotations and flips that undo each EXIF orientation, as libvips' ``autorot`` does.
_UPRIGHT: Final[dict[int, Callable[[Image], Image]]] = {
    2: lambda image: image.fliphor(),
    3: lambda image: image.rot180(),
    4: lambda image: image.flipver(),
    5: lambda image: image.rot90().fliphor(),
    6: lambda image: image.rot90(),
    7: lambda image: image.rot270().fliphor(),
    8: lambda image: image.rot270(),
}
_ICC_PROFILE: Final = "icc-profile-data"


def valid_orientation(value: object) -> int:
    """An EXIF orientation 1-8; anything else (absent, malformed) is 1."""
    return value if isinstance(value, int) and value in _UPRIGHT else 1


def working_form(image: Image) -> Image:
    """8-bit grey, RGB or CMYK without alpha: transparency goes onto white.

    Dropping alpha instead would expose whatever colour the transparent pixels hold,
    usually black, which turns a cut-out garment into a black rectangle; flattening before
    resampling keeps those hidden colours from bleeding into the edges.
    """
    if image.format != "uchar":
        # 16-bit PNG (or AVIF): scaled to 8 bits, not clipped (a clip turns 16-bit grey white).
        image = image.colourspace("b-w" if image.bands <= 2 else "srgb")
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    return image


def to_srgb(image: Image) -> Image:
    """Convert a working-form image to 8-bit sRGB with its embedded ICC profile.

    An unreadable profile, or one that does not match the pixel layout, is ignored and the
    pixels are taken as sRGB (grey, CMYK: through libvips' own profiles), which is what
    browsers do. Many cameras embed sRGB itself: then the transform changes nothing.
    """
    if image.get_typeof(_ICC_PROFILE):
        try:
            return image.icc_transform("srgb", embedded=True, intent="perceptual", depth=8)
        except Error:
            image = image.copy()
            image.remove(_ICC_PROFILE)
    return image if image.interpretation == "srgb" else image.colourspace("srgb")


def upright(image: Image, orientation: int) -> Image:
    """Rotate/flip stored pixels into display orientation (``image`` must be in memory:
    a rotation reads its source out of order)."""
    turn = _UPRIGHT.get(orientation)
    return image if turn is None else turn(image)
