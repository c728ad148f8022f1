"""Assertions shared by the imaging tests."""

from __future__ import annotations

import io

from PIL import Image, ImageChops, ImageStat

from .corpus import RGB

#: Keys Pillow derives from the JFIF header and scan type: structure, not metadata.
STRUCTURAL_INFO = frozenset(
    {"jfif", "jfif_version", "jfif_unit", "jfif_density", "progressive", "progression"}
)
#: Markers that would carry metadata: APP1 (EXIF/XMP), APP2 (ICC), APP13 (IPTC), COM.
METADATA_MARKERS = frozenset({"APP1", "APP2", "APP13", "COM"})


def open_jpeg(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    image.load()
    return image


def assert_clean_jpeg(data: bytes) -> Image.Image:
    """A baseline-compatible, progressive, sRGB JPEG carrying no metadata at all."""
    image = open_jpeg(data)
    assert image.mode == "RGB"
    assert set(image.info) <= STRUCTURAL_INFO, set(image.info) - STRUCTURAL_INFO
    assert image.info.get("progressive") == 1
    assert not image.getexif()
    markers = {marker for marker, _ in getattr(image, "applist", [])}
    assert not markers & METADATA_MARKERS, markers
    for needle in (b"Exif", b"GPS", b"xmpmeta", b"ICC_PROFILE", b"12 rue", b"Alice"):
        assert needle not in data, needle
    return image


def pixel(image: Image.Image, x: float, y: float) -> RGB:
    """Colour at a relative position (0..1) of ``image``."""
    px = image.convert("RGB").getpixel(
        (min(image.width - 1, int(x * image.width)), min(image.height - 1, int(y * image.height)))
    )
    assert isinstance(px, tuple)
    return (int(px[0]), int(px[1]), int(px[2]))


def close(actual: RGB, expected: RGB, tolerance: int = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def assert_colour(actual: RGB, expected: RGB, tolerance: int = 12) -> None:
    assert close(actual, expected, tolerance), f"{actual} is not ~{expected}"


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size, (a.size, b.size)
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return sum(ImageStat.Stat(diff).mean) / 3
