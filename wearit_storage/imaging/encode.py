"""The stored formats: metadata-free JPEG and AVIF, encoded by libvips.

``keep="none"`` writes no EXIF, XMP, IPTC or ICC block (the pixels are sRGB, the assumed
default everywhere), so no GPS position or comment can leak into a rendition.
"""

from __future__ import annotations

from typing import Final

from .engine import Image

#: AVIF quality for a JPEG quality: libvips' ``Q`` scale is not JPEG's. The wardrobe's Q85
#: main image becomes Q60 (its Q80 thumbnail Q55): 0.5-0.6x the JPEG's bytes. At the
#: worker's speed (below) AV1 smooths fine texture, which SSIM counts against it: such an
#: AVIF scores ~0.01 below its JPEG, and coming within 0.005 of it takes Q70 or more and
#: at least ~0.75x the bytes, which would halve what AVIF is for (``make bench``:
#: ``images``, AVIF rows).
AVIF_QUALITY_OFFSET: Final = 25
#: libaom's effort (0-9; libvips maps it to aom's speed 9-0). Encoding is most of what an
#: AVIF costs: at 0, both AVIFs of a wardrobe upload take 30-50 ms, about half a JPEG
#: render, where effort 1 takes about three times that and the default (4) 35-60 times,
#: for ~10% fewer bytes: the worker's throughput would pay it on every upload (``make
#: bench``: ``images``, AVIF settings).
AVIF_EFFORT: Final = 0


def jpeg(image: Image, quality: int) -> bytes:
    """A progressive JPEG with optimized Huffman tables and 4:2:0 chroma at every quality,
    as the Pillow engine wrote them (libvips' default drops subsampling from Q90: the
    try-on inputs, at Q90, would grow by about a third)."""
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
