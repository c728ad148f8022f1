"""Test images, generated deterministically in code (no binary fixtures in the repo).

Colours are chosen so that a wrong conversion is unmistakable: quadrant markers for
orientation, distinct edge/centre colours for cropping, saturated primaries for colour
management, and transparent pixels that are *black* underneath so flattening onto black
instead of white shows up.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pillow_heif
from PIL import ExifTags, Image, ImageCms

RGB = tuple[int, int, int]

RED: RGB = (220, 20, 20)
GREEN: RGB = (20, 180, 40)
BLUE: RGB = (20, 40, 220)
YELLOW: RGB = (240, 220, 20)
MAGENTA: RGB = (200, 30, 200)
WHITE: RGB = (255, 255, 255)
GREY: RGB = (128, 128, 128)

# Quadrants of the stored (not displayed) image.
QUADRANTS: dict[str, RGB] = {
    "top_left": RED,
    "top_right": GREEN,
    "bottom_left": BLUE,
    "bottom_right": YELLOW,
}

GPS_LATITUDE = (48.0, 51.0, 29.6)
COMMENT = b"shot at home, 12 rue de la Paix"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:creator>Alice</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
)


def _save(image: Image.Image, fmt: str, **params: Any) -> bytes:
    output = io.BytesIO()
    image.save(output, format=fmt, **params)
    return output.getvalue()


def quadrant_image(size: tuple[int, int] = (600, 400)) -> Image.Image:
    """Four coloured quadrants: any rotation or flip moves colours to other corners."""
    width, height = size
    image = Image.new("RGB", size)
    half_w, half_h = width // 2, height // 2
    image.paste(QUADRANTS["top_left"], (0, 0, half_w, half_h))
    image.paste(QUADRANTS["top_right"], (half_w, 0, width, half_h))
    image.paste(QUADRANTS["bottom_left"], (0, half_h, half_w, height))
    image.paste(QUADRANTS["bottom_right"], (half_w, half_h, width, height))
    return image


def crop_target(size: tuple[int, int] = (600, 300), border: int = 100) -> Image.Image:
    """Magenta left/right bands that a centre crop to a square must cut away entirely,
    a green centre, and red/blue top/bottom edges that must survive the crop."""
    width, height = size
    image = Image.new("RGB", size, GREEN)
    image.paste(RED, (0, 0, width, 10))
    image.paste(BLUE, (0, height - 10, width, height))
    image.paste(MAGENTA, (0, 0, border, height))
    image.paste(MAGENTA, (width - border, 0, width, height))
    return image


def exif_rotated_jpeg(size: tuple[int, int] = (600, 400)) -> bytes:
    """Wide stored pixels with orientation 6 (display rotated 90 degrees clockwise),
    plus GPS position, camera make, XMP and a comment that must all be stripped."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "WearIT test camera"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 19.0, 56.1)
    return _save(quadrant_image(size), "JPEG", quality=95, exif=exif, comment=COMMENT, xmp=XMP)


def plain_jpeg(size: tuple[int, int] = (600, 400), quality: int = 95) -> bytes:
    return _save(quadrant_image(size), "JPEG", quality=quality)


def textured_jpeg(size: tuple[int, int] = (2400, 1800)) -> bytes:
    """A large JPEG with real entropy, for draft/DCT scaling and truncation."""
    noise = Image.effect_noise(size, 40).convert("RGB")
    return _save(Image.blend(quadrant_image(size), noise, 0.25), "JPEG", quality=90)


def crop_target_jpeg(size: tuple[int, int] = (600, 300)) -> bytes:
    return _save(crop_target(size), "JPEG", quality=95)


def rgba_png(size: tuple[int, int] = (300, 300)) -> bytes:
    """Transparent pixels stored as black, an opaque red square in the middle."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    width, height = size
    image.paste((*RED, 255), (width // 3, height // 3, 2 * width // 3, 2 * height // 3))
    return _save(image, "PNG")


def rgba_webp(size: tuple[int, int] = (300, 300)) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    width, height = size
    image.paste((*BLUE, 255), (width // 3, height // 3, 2 * width // 3, 2 * height // 3))
    return _save(image, "WEBP", lossless=True)


def la_png(size: tuple[int, int] = (100, 100)) -> bytes:
    """Grey + alpha: transparent half stored as black."""
    image = Image.new("LA", size, (0, 0))
    image.paste((100, 255), (0, 0, size[0] // 2, size[1]))
    return _save(image, "PNG")


def palette_png_with_transparency(size: tuple[int, int] = (120, 120)) -> bytes:
    """Palette entry 0 is black and transparent; entry 1 is opaque green (left half)."""
    image = Image.new("P", size, 0)
    image.putpalette([0, 0, 0, *GREEN, *RED] + [0, 0, 0] * 253)
    image.paste(1, (0, 0, size[0] // 2, size[1]))
    return _save(image, "PNG", transparency=0)


def cmyk_jpeg(size: tuple[int, int] = (200, 100)) -> bytes:
    """Left half pure CMYK red (M+Y), right half CMYK blue (C+M)."""
    image = Image.new("CMYK", size, (0, 255, 255, 0))
    image.paste((255, 255, 0, 0), (size[0] // 2, 0, size[0], size[1]))
    return _save(image, "JPEG", quality=95)


def grey16_png(size: tuple[int, int] = (64, 64), level: int = 0x8000) -> bytes:
    """Mid-grey as a 16-bit greyscale PNG (mode I;16): clipping would make it white."""
    return _save(Image.new("I;16", size, level), "PNG")


def _png(width: int, height: int, bit_depth: int, colour_type: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def rgb16_png(
    size: tuple[int, int] = (32, 32), colour: tuple[int, int, int] = (0xFFFF, 0x8000, 0x0000)
) -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one, so it is built by hand)."""
    row = b"\x00" + struct.pack(">HHH", *colour) * size[0]
    return _png(size[0], size[1], 16, 2, row * size[1])


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A header promising ``width`` x ``height`` pixels, with almost no data behind it."""
    return _png(width, height, 8, 2, b"\x00" * 64)


def bomb_jpeg(width: int = 60_000, height: int = 60_000) -> bytes:
    """A valid small JPEG whose SOF marker is patched to declare a huge size."""
    data = bytearray(plain_jpeg((16, 16)))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def heic(size: tuple[int, int] = (300, 200), orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    heif = pillow_heif.from_pillow(quadrant_image(size))
    output = io.BytesIO()
    heif.save(output, quality=95, exif=exif.tobytes())
    return output.getvalue()


def mpo(size: tuple[int, int] = (300, 200)) -> bytes:
    """A multi-picture JPEG (as written by some phones): the first frame is the photo."""
    first = quadrant_image(size)
    second = Image.new("RGB", size, MAGENTA)
    return _save(first, "MPO", save_all=True, append_images=[second], quality=95)


def swapped_primaries_profile() -> bytes:
    """An RGB ICC profile whose red and blue primaries are exchanged.

    Stored (200, 30, 60) therefore *means* sRGB (60, 30, 200): only a real colour
    conversion can produce the expected pixel, and no rounding can fake it.
    """
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack_from(">I", profile, 128)
    entries: dict[bytes, tuple[int, int, int]] = {}
    for index in range(count):
        position = 132 + 12 * index
        signature, offset, length = struct.unpack_from(">4sII", profile, position)
        entries[signature] = (position, offset, length)
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    struct.pack_into(">4sII", profile, red[0], b"rXYZ", blue[1], blue[2])
    struct.pack_into(">4sII", profile, blue[0], b"bXYZ", red[1], red[2])
    profile[84:100] = bytes(16)  # the profile id is an MD5 of the content: now unknown
    return bytes(profile)


STORED_FOR_ICC: RGB = (200, 30, 60)
EXPECTED_SRGB_FOR_ICC: RGB = (60, 30, 200)


def icc_jpeg(size: tuple[int, int] = (64, 64)) -> bytes:
    image = Image.new("RGB", size, STORED_FOR_ICC)
    return _save(image, "JPEG", quality=100, subsampling=0, icc_profile=swapped_primaries_profile())


def icc_png(size: tuple[int, int] = (64, 64)) -> bytes:
    image = Image.new("RGB", size, STORED_FOR_ICC)
    return _save(image, "PNG", icc_profile=swapped_primaries_profile())


def truncated_jpeg() -> bytes:
    data = textured_jpeg((800, 600))
    return data[: len(data) // 2]


def corrupt_png() -> bytes:
    """A PNG whose pixel data has been overwritten: the chunk CRC no longer matches."""
    data = bytearray(_save(quadrant_image((64, 64)), "PNG"))
    idat = data.index(b"IDAT")
    for offset in range(idat + 8, idat + 24):
        data[offset] ^= 0xFF
    return bytes(data)


TEXT_NAMED_JPG = b"Bonjour, ceci n'est pas une image.\n"
EMPTY = b""


def gif() -> bytes:
    return _save(quadrant_image((40, 40)).convert("P"), "GIF")


def bmp() -> bytes:
    return _save(quadrant_image((40, 40)), "BMP")


def tiff() -> bytes:
    return _save(quadrant_image((40, 40)), "TIFF")


def webp(size: tuple[int, int] = (600, 400)) -> bytes:
    return _save(quadrant_image(size), "WEBP", quality=95)


def avif(size: tuple[int, int] = (600, 400), **params: Any) -> bytes:
    return _save(quadrant_image(size), "AVIF", quality=90, **params)


def png(size: tuple[int, int] = (600, 400)) -> bytes:
    return _save(quadrant_image(size), "PNG")
