"""Open untrusted bytes safely: cheap checks first, header second, pixels last.

Every failure becomes :class:`~wearit_storage.errors.ImageRejected` with a message that
tells the uploader what to do, and the original exception chained for operators.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageFile

from wearit_storage.errors import ImageRejected

from .incremental import DecoderStateError, load_incrementally
from .jpeg_scan import find_shortfall
from .limits import MEGABYTE, SUPPORTED_FORMATS, ImageLimits
from .normalize import orientation, orientation_of_exif
from .webp import (
    WebPHeader,
    can_decode_webp,
    decode_webp,
    read_webp_header,
    scaled_size,
    webp_decode_bytes,
)

Box = tuple[float, float, float, float]

# Magic numbers of formats users commonly send by mistake, so the rejection names them
# instead of saying "not an image". Sniffing is cheaper and safer than letting every
# Pillow plugin parse the bytes just to produce an error message.
_SIGNATURES: tuple[tuple[str, bytes, int], ...] = (
    ("JPEG", b"\xff\xd8\xff", 0),
    ("PNG", b"\x89PNG\r\n\x1a\n", 0),
    ("GIF", b"GIF87a", 0),
    ("GIF", b"GIF89a", 0),
    ("BMP", b"BM", 0),
    ("TIFF", b"II*\x00", 0),
    ("TIFF", b"MM\x00*", 0),
    ("PDF", b"%PDF-", 0),
    ("ICO", b"\x00\x00\x01\x00", 0),
    ("PSD", b"8BPS", 0),
    ("JPEG 2000", b"\x00\x00\x00\x0cjP  ", 0),
)
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})


def sniff_format(data: bytes) -> str | None:
    """Best-effort name of the format of ``data`` from its magic number, for messages."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _AVIF_BRANDS:
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIF"
    for name, magic, offset in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return name
    if data.lstrip()[:1] == b"<":
        return "SVG/XML"
    return None


@functools.cache
def _register_heif_opener() -> None:
    # Imported lazily: libheif is a large native library that JPEG-only workers never need.
    import pillow_heif

    pillow_heif.register_heif_opener()


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


def _rejected_format(data: bytes, limits: ImageLimits) -> ImageRejected:
    accepted = limits.describe_formats()
    sniffed = sniff_format(data)
    if sniffed is None:
        return ImageRejected(
            f"the file is not an image we can read; upload a {accepted} photo",
            reason="unsupported_format",
        )
    if sniffed in limits.formats:
        return ImageRejected(
            f"the file looks like {SUPPORTED_FORMATS[sniffed]} but its header is corrupt;"
            " re-export the photo and upload it again",
            reason="corrupt",
        )
    return ImageRejected(
        f"{sniffed} images are not accepted; convert it to {accepted}",
        reason="unsupported_format",
    )


#: Bytes per pixel of an image as Pillow stores it, by mode (RGB is padded to 4).
_STORED_BYTES_PER_PIXEL: dict[str, int] = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2}
#: Pillow decodes WebP through libwebp's animation decoder: two RGBA canvases and the frame.
_PILLOW_WEBP_BYTES_PER_PIXEL = 16


@dataclass(slots=True)
class Source:
    """An upload whose header passed every check; its pixels are not decoded yet.

    ``image`` is Pillow's lazily decoding image, or ``None`` for a still WebP, which
    :mod:`.webp` decodes into a buffer of 4 bytes per pixel instead.
    """

    data: bytes
    format: str
    size: tuple[int, int]
    image: ImageFile.ImageFile | None = None
    webp_header: WebPHeader | None = None
    #: For a still WebP: the size libwebp rescales to while decoding (see ``shrink_on_load``).
    webp_size: tuple[int, int] | None = None

    @property
    def can_draft(self) -> bool:
        return self.image is not None and can_draft(self.image)

    def shrink_on_load(self, min_size: tuple[float, float]) -> Box:
        """Decode smaller while keeping ``min_size`` where the decoder can (JPEG DCT scaling,
        libwebp's rescaler); returns the box covering the whole picture in decoded pixels."""
        if self.image is not None:
            return draft_for(self.image, min_size)
        full: Box = (0.0, 0.0, float(self.size[0]), float(self.size[1]))
        if self.webp_header is None:
            return full
        self.webp_size = scaled_size(self.webp_header, min_size)
        return (0.0, 0.0, float(self.webp_size[0]), float(self.webp_size[1]))

    def orientation(self) -> int:
        """The EXIF orientation known before decoding: 1 where it is not in a header."""
        if self.image is not None and can_draft(self.image):
            return orientation(self.image)
        exif = self.webp_header.chunks.get("EXIF") if self.webp_header else None
        return orientation_of_exif(exif) if exif else 1

    def decode_bytes(self) -> int:
        """What the decoded pixels will weigh (at the reduced scale, once chosen)."""
        if self.webp_header is not None:
            return webp_decode_bytes(self.webp_header, self.webp_size)
        assert self.image is not None  # one of the two is always set
        width, height = self.image.size  # a JPEG draft has set the decoded size by now
        per_pixel = _STORED_BYTES_PER_PIXEL.get(self.image.mode, 4)
        if self.format == "WEBP":
            per_pixel = _PILLOW_WEBP_BYTES_PER_PIXEL
        elif self.format == "HEIF":
            per_pixel = 8  # libheif's planes, then Pillow's copy
        return per_pixel * width * height

    def decode(self, on_rows: Callable[[int], None] | None = None) -> Image.Image:
        """Decode the pixels (``ImageRejected`` if the data is truncated or corrupt).

        ``on_rows(n)``, if given, is called whenever the first ``n`` rows are final (JPEGs
        report as they decode, other formats once, at the end).
        """
        if self.webp_header is None:
            assert self.image is not None  # one of the two is always set
            if on_rows is None and self.format == "JPEG":
                # One decoder call for the whole upload: in Pillow's 64 KB blocks the
                # decoding thread takes the GIL back ~70 times for a 12 MP photo, and
                # beside other renders each time can wait for it while a core idles.
                self.image.decodermaxblock = max(self.image.decodermaxblock, len(self.data))
            return load_pixels(self.image, on_rows)
        try:
            image = decode_webp(self.webp_header, self.data, self.webp_size)
        except OSError as exc:
            raise ImageRejected(
                f"the image data is truncated or corrupt ({exc}): upload the original file again",
                reason="corrupt",
            ) from exc
        if on_rows is not None:
            on_rows(image.height)
        return image


def open_source(data: bytes, limits: ImageLimits) -> Source:
    """Check an upload from its bytes and header, before any pixel is decoded."""
    check_byte_size(data, limits)
    if "WEBP" in limits.formats and sniff_format(data) == "WEBP":
        header = read_webp_header(data)
        if header is None:
            raise _rejected_format(data, limits)
        # Pillow's WebP opener allocates the canvases at open time: check the size first.
        check_pixel_count(header.size, len(data), limits)
        if can_decode_webp(header):
            return Source(data, "WEBP", header.size, webp_header=header)
    image = open_header(data, limits)
    return Source(data, source_format(image), image.size, image=image)


def open_header(data: bytes, limits: ImageLimits) -> ImageFile.ImageFile:
    """Parse the header only, with an explicit allow-list of decoders."""
    check_byte_size(data, limits)
    if "HEIF" in limits.formats:
        _register_heif_opener()
    try:
        image = Image.open(io.BytesIO(data), formats=sorted(limits.formats))
    except Image.DecompressionBombError as exc:
        raise _bomb(None, len(data), str(exc)) from exc
    except Exception as exc:  # UnidentifiedImageError, or a plugin choking on its header
        raise _rejected_format(data, limits) from exc
    check_pixel_count(image.size, len(data), limits)
    if image.format in ("JPEG", "MPO"):
        check_jpeg_scan_length(data, image.size)
    return image


def _bomb(size: tuple[int, int] | None, nbytes: int, detail: str = "") -> ImageRejected:
    declared = f"{size[0]}x{size[1]} pixels" if size else "an enormous pixel count"
    return ImageRejected(
        f"the image header declares {declared} in only {nbytes} bytes: this is a"
        " decompression bomb, not a photo, and was not decoded"
        + (f" ({detail})" if detail else ""),
        reason="decompression_bomb",
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
        raise _bomb(size, nbytes)
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


def can_draft(image: Image.Image) -> bool:
    """Whether the decoder of ``image`` can scale while decoding (JPEG DCT scaling)."""
    return image.format in ("JPEG", "MPO")


def draft_for(image: Image.Image, min_size: tuple[float, float]) -> Box:
    """Let the JPEG decoder scale down by 1/2, 1/4 or 1/8 while keeping ``min_size``.

    Returns the box, in the coordinates of the image as it will be decoded, that covers
    the whole original picture; DCT scaling rounds sizes up, so the box may be fractional.
    """
    full: Box = (0.0, 0.0, float(image.width), float(image.height))
    if not can_draft(image):
        return full
    wanted = (max(1, math.ceil(min_size[0])), max(1, math.ceil(min_size[1])))
    if wanted[0] >= image.width or wanted[1] >= image.height:
        return full
    result = image.draft(None, wanted)
    if result is None:
        return full
    return result[1]


def load_pixels(
    image: ImageFile.ImageFile, on_rows: Callable[[int], None] | None = None
) -> Image.Image:
    """Decode the pixels, turning any decoder failure into a rejection; ``on_rows`` as in
    :meth:`Source.decode`."""
    declared = image.size
    # What on_rows raises is the caller's failure, never a sign of a corrupt upload.
    raised_by_caller: list[BaseException] = []

    def report(rows: int) -> None:
        assert on_rows is not None
        try:
            on_rows(rows)
        except BaseException as exc:
            raised_by_caller.append(exc)
            raise

    try:
        if on_rows is None:
            image.load()
        else:
            load_incrementally(image, report)
    except (MemoryError, DecoderStateError):
        raise
    except Exception as exc:  # truncated streams, bad CRCs, codec errors, ...
        if raised_by_caller:
            raise
        raise ImageRejected(
            f"the image data is truncated or corrupt ({exc}): the upload may have been"
            " interrupted or the file damaged; upload the original file again",
            reason="corrupt",
        ) from exc
    if image.size != declared:  # seen with damaged HEIF: libheif decodes a partial image
        raise ImageRejected(
            f"the image data is corrupt: the header declares {declared[0]}x{declared[1]}"
            f" pixels but {image.width}x{image.height} were decoded; upload the original file"
            " again",
            reason="corrupt",
        )
    return image


def source_format(image: Image.Image) -> str:
    """The format reported to callers; MPO is a JPEG with extra frames we ignore."""
    fmt = image.format or ""
    return "JPEG" if fmt == "MPO" else fmt
