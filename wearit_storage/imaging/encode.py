"""The stored formats: metadata-free JPEG and AVIF, encoded by libvips.

``keep="none"`` writes no EXIF, XMP, IPTC or ICC block (the pixels are sRGB, the assumed
default everywhere), so no GPS position or comment can leak into a rendition.
"""

from __future__ import annotations

from typing import Final

from .engine import Image

#: AVIF quality for a JPEG quality: libvips' ``Q`` scale is not JPEG's. 52 for the
#: wardrobe's Q85 main image: the AVIF keeps the JPEG's structural similarity to the
#: source (within 0.005 SSIM) at about half its bytes (``make bench``: ``images``), the
#: same neighbourhood as sharp's default (50) for photos.
AVIF_QUALITY_OFFSET: Final = 33
#: libaom's effort (0-9; libvips maps it to aom's speed 9-0). Encoding is most of what an
#: AVIF costs: at 0, an 800 px rendition takes about as long as its JPEG render, where the
#: default (4) takes ten times longer for ~15% fewer bytes, which the worker's throughput
#: would pay on every upload (measured: ``make bench``, ``avif-settings``).
AVIF_EFFORT: Final = 0


def jpeg(image: Image, quality: int) -> bytes:
    """A progressive JPEG with optimized Huffman tables and 4:2:0 chroma at every quality
    (libvips' default drops subsampling from Q90, which the try-on inputs would pay in
    bytes for no visible gain)."""
    data: bytes = image.jpegsave_buffer(
        Q=quality, optimize_coding=True, interlace=True, subsample_mode="on", keep="none"
    )
    return data


def avif(image: Image, quality: int) -> bytes:
    """An 8-bit 4:2:0 AVIF (libheif + libaom) standing beside a JPEG of ``quality``."""
    data: bytes = image.heifsave_buffer(
        Q=max(1, quality - AVIF_QUALITY_OFFSET),
        compression="av1",
        effort=AVIF_EFFORT,
        bitdepth=8,
        subsample_mode="on",
        keep="none",
    )
    return data
