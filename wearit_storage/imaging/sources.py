"""One decoder per input family, opened header first, each handing a libvips image on.

=========  =============================================  ==================================
family     decoder                                        shrink-on-load
=========  =============================================  ==================================
JPEG       libvips ``jpegload`` (libjpeg-turbo), streamed  DCT scaling: 1/2, 1/4, 1/8
PNG        libvips ``pngload`` (libspng), streamed         none
WebP       libvips ``webpload`` (libwebp), whole frame     libwebp's rescaler (``scale``)
AVIF       libvips ``heifload`` (libheif + AV1)            none
HEIC/HEIF  pillow-heif (libheif + libde265): the libvips   none
           wheel has no HEVC decoder; its pixels are
           wrapped as a libvips image, not copied
=========  =============================================  ==================================

Opening reads the header only. The checks run on what it declares, before any pixel is
decoded; then :meth:`Source.decode` returns the (lazy) pixels at the smallest scale that
keeps the renditions sharp, and :meth:`Source.held_bytes` says what the decoder holds
meanwhile, for the memory budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from wearit_storage.errors import ImageRejected

from . import checks
from .colour import valid_orientation
from .engine import Error, GValue, Image, reason_of
from .geometry import DCT_HEADROOM, HEADROOM, Size
from .limits import ImageLimits

_DCT_SHRINKS: Final = (8, 4, 2)
#: ``fail_on="error"``: a truncated or damaged stream fails instead of decoding to grey.
_STRICT: Final[dict[str, Any]] = {"fail_on": "error"}
#: What libwebp holds beside its output for a lossless image: a full-size ARGB canvas.
_WEBP_FULL_FRAME_BYTES_PER_PIXEL: Final = 4
#: libheif's decoded planes plus the interleaved RGB(A) handed on, per pixel (8-bit).
_HEIF_BYTES_PER_PIXEL: Final = 8


@dataclass(frozen=True, slots=True)
class Source:
    """An upload whose header passed every check; its pixels are not decoded yet."""

    format: str
    size: Size
    orientation: int
    _decode: Callable[[float], Image]
    _held: Callable[[float], int]

    def decode(self, scale: float) -> Image:
        """The pixels, at the smallest scale the decoder offers that keeps ``scale`` of the
        source's resolution with the headroom resampling wants; ``ImageRejected`` if the
        decoder fails now (libvips images are lazy: a later failure surfaces when their
        pixels are computed)."""
        try:
            return self._decode(scale)
        except Error as error:
            raise checks.corrupt_data(reason_of(error)) from error

    def held_bytes(self, scale: float) -> int:
        """What the decoder holds at once while decoding at ``scale``: a whole frame for
        the decoders that need one, nothing beyond a few rows for the streaming ones."""
        return self._held(scale)


def open_source(data: bytes, limits: ImageLimits) -> Source:
    """Check an upload from its bytes and header, before any pixel is decoded."""
    checks.check_byte_size(data, limits)
    fmt = checks.accepted_format(data, limits)
    source = _OPENERS[fmt](data, fmt)
    checks.check_pixel_count(source.size, len(data), limits)
    if fmt == "JPEG":
        checks.check_jpeg_scan_length(data, source.size)
    return source


def _header(fmt: str, read: Callable[[], Image]) -> Image:
    try:
        return read()
    except Error as error:
        raise checks.corrupt_header(fmt, reason_of(error)) from error


def _orientation(image: Image) -> int:
    """The EXIF orientation libvips parsed from the header (JPEG, PNG ``eXIf``, WebP)."""
    return valid_orientation(image.get("orientation")) if image.get_typeof("orientation") else 1


def _jpeg(data: bytes, fmt: str) -> Source:
    header = _header(fmt, lambda: Image.jpegload_buffer(data, access="sequential", **_STRICT))
    size: Size = (int(header.width), int(header.height))

    def decode(scale: float) -> Image:
        shrink = next((s for s in _DCT_SHRINKS if DCT_HEADROOM * scale <= 1 / s), 1)
        return Image.jpegload_buffer(data, shrink=shrink, access="sequential", **_STRICT)

    return Source(fmt, size, _orientation(header), decode, lambda scale: 0)


def _png(data: bytes, fmt: str) -> Source:
    header = _header(fmt, lambda: Image.pngload_buffer(data, access="sequential", **_STRICT))
    size: Size = (int(header.width), int(header.height))
    # Adam7 interlacing spreads every row over seven passes: libspng then decodes the
    # whole image before handing out a row. The flag is IHDR's last byte, which the
    # signature (8 bytes), the chunk's length and type (8) and 12 bytes of fields precede.
    frame = 0
    if data[28:29] == b"\x01":
        sample_bytes = 2 if header.format == "ushort" else 1
        frame = size[0] * size[1] * header.bands * sample_bytes

    def decode(scale: float) -> Image:
        return Image.pngload_buffer(data, access="sequential", **_STRICT)

    return Source(fmt, size, _orientation(header), decode, lambda scale: frame)


def _webp_scale(scale: float) -> float:
    # libwebp's rescaler averages areas: keep the whole HEADROOM for the Lanczos pass.
    return min(1.0, HEADROOM * scale)


def _webp(data: bytes, fmt: str) -> Source:
    header = _header(fmt, lambda: Image.webpload_buffer(data, access="sequential", **_STRICT))
    size: Size = (int(header.width), int(header.height))
    bands = 4 if header.hasalpha() else 3

    def decode(scale: float) -> Image:
        return Image.webpload_buffer(data, scale=_webp_scale(scale), access="sequential", **_STRICT)

    def held(scale: float) -> int:
        kept = _webp_scale(scale)
        scaled = math.ceil(size[0] * kept) * math.ceil(size[1] * kept)
        return bands * scaled + _WEBP_FULL_FRAME_BYTES_PER_PIXEL * size[0] * size[1]

    return Source(fmt, size, _orientation(header), decode, held)


def _avif(data: bytes, fmt: str) -> Source:
    # libheif applies the container's rotation and mirroring (irot, imir) while decoding:
    # the pixels come out upright, whatever an EXIF block says.
    header = _header(fmt, lambda: Image.heifload_buffer(data, access="sequential", **_STRICT))
    size: Size = (int(header.width), int(header.height))

    def decode(scale: float) -> Image:
        return Image.heifload_buffer(data, access="sequential", **_STRICT)

    return Source(fmt, size, 1, decode, lambda scale: _HEIF_BYTES_PER_PIXEL * size[0] * size[1])


def _heif(data: bytes, fmt: str) -> Source:
    import pillow_heif  # lazily: libheif is a large native library JPEG-only workers never need

    # pillow-heif raises whatever its parsing meets on damaged files (ValueError,
    # RuntimeError, IndexError, ...): any failure on untrusted bytes is a rejection.
    try:
        heif = pillow_heif.open_heif(data, convert_hdr_to_8bit=True)
        size = (int(heif.size[0]), int(heif.size[1]))
    except Exception as error:
        raise checks.corrupt_header(fmt, str(error) or type(error).__name__) from error

    def decode(scale: float) -> Image:
        try:
            pixels, stride = heif.data, int(heif.stride)  # decodes now
        except Exception as error:  # as above: untrusted bytes
            raise checks.corrupt_data(str(error) or type(error).__name__) from error
        bands = len(heif.mode)  # "L", "RGB" or "RGBA"... at 8 bits
        if (int(heif.size[0]), int(heif.size[1])) != size or len(pixels) < stride * size[1]:
            # Seen with damaged files: libheif decodes fewer rows than the header declared.
            raise ImageRejected(
                f"the image data is corrupt: the header declares {size[0]}x{size[1]} pixels"
                " but fewer were decoded; upload the original file again",
                reason="corrupt",
            )
        # Rows are ``stride`` bytes apart: wrap them as one band, cut the padding, fold the
        # bytes of each pixel back into bands. No copy of the pixels is made.
        rows = Image.new_from_memory(pixels, stride, size[1], 1, "uchar")
        image = rows.crop(0, 0, size[0] * bands, size[1]).bandfold(factor=bands)
        image = image.copy(interpretation="b-w" if bands <= 2 else "srgb")
        profile = heif.info.get("icc_profile")
        if isinstance(profile, bytes) and profile:
            image.set_type(GValue.blob_type, "icc-profile-data", profile)
        return image

    # libheif applies the container's rotation and mirroring while decoding, as for AVIF.
    return Source(fmt, size, 1, decode, lambda scale: _HEIF_BYTES_PER_PIXEL * size[0] * size[1])


_OPENERS: Final[dict[str, Callable[[bytes, str], Source]]] = {
    "JPEG": _jpeg,
    "PNG": _png,
    "WEBP": _webp,
    "AVIF": _avif,
    "HEIF": _heif,
}
