"""What an upload must pass before any pixel is decoded: its bytes, its format, its header.

Every failure is :class:`~wearit_storage.errors.ImageRejected` with a message that tells
the uploader what to do. The format is decided here, from the magic number, by our own
code: only the decoder of that one format ever parses the bytes (no library's loader
guesses among everything it can read).
"""

from __future__ import annotations

from wearit_storage.errors import ImageRejected

from .jpeg_scan import find_shortfall
from .limits import MEGABYTE, SUPPORTED_FORMATS, ImageLimits

# Magic numbers of formats users commonly send by mistake, so the rejection names them
# instead of saying "not an image".
_SIGNATURES: tuple[tuple[str, bytes], ...] = (
    ("JPEG", b"\xff\xd8\xff"),
    ("PNG", b"\x89PNG\r\n\x1a\n"),
    ("GIF", b"GIF87a"),
    ("GIF", b"GIF89a"),
    ("BMP", b"BM"),
    ("TIFF", b"II*\x00"),
    ("TIFF", b"MM\x00*"),
    ("PDF", b"%PDF-"),
    ("ICO", b"\x00\x00\x01\x00"),
    ("PSD", b"8BPS"),
    ("JPEG 2000", b"\x00\x00\x00\x0cjP  "),
)
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})


def sniff_format(data: bytes) -> str | None:
    """Best-effort name of the format of ``data`` from its magic number."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        return _isobmff_format(data)
    for name, magic in _SIGNATURES:
        if data.startswith(magic):
            return name
    if data.lstrip()[:1] == b"<":
        return "SVG/XML"
    return None


def _isobmff_format(data: bytes) -> str | None:
    """AVIF or HEIF from the ``ftyp`` box: its major brand, then its compatible brands (a
    generic ``mif1`` file holding AV1 lists ``avif`` among them)."""
    box_end = min(len(data), int.from_bytes(data[:4], "big"))
    brands = {data[8:12]} | {data[n : n + 4] for n in range(16, box_end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "AVIF"
    if data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def check_byte_size(data: bytes, limits: ImageLimits) -> None:
    """Reject empty or oversized input before looking inside it."""
    if not data:
        raise ImageRejected(
            "the upload is empty (0 bytes): send the image file's content", reason="empty"
        )
    if len(data) > limits.max_bytes:
        raise ImageRejected(
            f"the image is {human_bytes(len(data))}, over the {human_bytes(limits.max_bytes)}"
            " limit: export it at a lower resolution or quality and upload it again",
            reason="too_large",
        )


def human_bytes(count: int) -> str:
    """``count`` in the unit a user reads (binary multiples, like phones display)."""
    if count >= MEGABYTE:
        return f"{count / MEGABYTE:.3g} MB"
    if count >= 1024:
        return f"{count / 1024:.3g} KB"
    return f"{count} bytes"


def accepted_format(data: bytes, limits: ImageLimits) -> str:
    """The format id of ``data`` if ``limits`` accepts it, else the rejection naming it."""
    sniffed = sniff_format(data)
    if sniffed is not None and sniffed in limits.formats:
        return sniffed
    accepted = limits.describe_formats()
    if sniffed is None:
        raise ImageRejected(
            f"the file is not an image we can read; upload a {accepted} photo",
            reason="unsupported_format",
        )
    raise ImageRejected(
        f"{sniffed} images are not accepted; convert it to {accepted}",
        reason="unsupported_format",
    )


def corrupt_header(fmt: str, detail: str) -> ImageRejected:
    """The format's decoder could not read the header."""
    return ImageRejected(
        f"the file looks like {SUPPORTED_FORMATS[fmt]} but its header is corrupt ({detail});"
        " re-export the photo and upload it again",
        reason="corrupt",
    )


def corrupt_data(detail: str) -> ImageRejected:
    """The pixels could not be decoded (truncated stream, bad checksum, codec error)."""
    return ImageRejected(
        f"the image data is truncated or corrupt ({detail}): the upload may have been"
        " interrupted or the file damaged; upload the original file again",
        reason="corrupt",
    )


def check_pixel_count(size: tuple[int, int], nbytes: int, limits: ImageLimits) -> None:
    """Reject from the declared dimensions, before the decoder allocates anything.

    The bomb check (pixels per byte of upload) applies to every image above
    ``limits.small_image_pixels``, not only to those over ``max_pixels``: a 2 KB file that
    declares 49 MP is under the pixel limit and would still cost ~200 MB to decode.
    """
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageRejected(
            f"the image header declares an empty size {width}x{height}", reason="corrupt"
        )
    pixels = width * height
    if pixels > limits.small_image_pixels and pixels > limits.max_pixels_per_byte * nbytes:
        raise ImageRejected(
            f"the image header declares {width}x{height} pixels in only {nbytes} bytes: this"
            " is a decompression bomb, not a photo, and was not decoded",
            reason="decompression_bomb",
        )
    if pixels <= limits.max_pixels:
        return
    raise ImageRejected(
        f"the image is {width}x{height} ({pixels / 1e6:.1f} MP), over the"
        f" {limits.max_pixels / 1e6:g} MP limit: resize it to at most"
        f" {limits.max_pixels / 1e6:g} MP and upload it again",
        reason="too_many_pixels",
    )


def check_jpeg_scan_length(data: bytes, size: tuple[int, int]) -> None:
    """Refuse a JPEG whose compressed data is too short for its declared size (libjpeg
    would "decode" it into a uniform picture and report success)."""
    shortfall = find_shortfall(data)
    if shortfall is not None:
        raise ImageRejected(
            f"the image data is truncated or corrupt: the header declares {size[0]}x{size[1]}"
            f" pixels ({shortfall.blocks} blocks) but the data holds only {shortfall.bits} bits;"
            " upload the original file again",
            reason="corrupt",
        )
