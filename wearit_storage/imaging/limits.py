"""Resource limits applied to untrusted images before any pixel is decoded."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The input formats we decode (by our own sniffing, each with its one decoder: libvips for
#: the first four, pillow-heif for HEIC/HEIF), with the name users know them by.
SUPPORTED_FORMATS: dict[str, str] = {
    "JPEG": "JPEG",
    "PNG": "PNG",
    "WEBP": "WebP",
    "AVIF": "AVIF",
    "HEIF": "HEIC/HEIF",
}

MEGABYTE = 1024 * 1024
#: The one byte limit of an upload, whichever path it takes (a presigned POST's
#: ``content-length-range``, a raw ``temp/`` upload, a render): the default of both
#: ``ImageLimits.max_bytes`` and ``WEARIT_MAX_UPLOAD_BYTES``, and a repository renders with
#: its ``WEARIT_MAX_UPLOAD_BYTES``. Phone photos are 2-8 MB; 15 MB leaves room for 48 MP ones.
MAX_UPLOAD_BYTES = 15 * MEGABYTE


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """What an upload may weigh, how many pixels it may declare, and which formats pass.

    ``max_pixels`` bounds decoder memory: the decoders that hold a whole frame (WebP, AVIF,
    HEIC, interlaced PNG) need 3-8 bytes per pixel, ~200 MB for 50 MP at 4, and the limit is
    checked against the size declared in the header, before decoding.

    ``max_pixels_per_byte`` is the decompression-bomb check, also decided from the header:
    an image may declare at most that many pixels per byte of upload. Camera photos are
    1-10 pixels per byte, heavily compressed or very smooth ones up to ~60 (a perfectly
    flat 4:2:0 JPEG with the standard tables cannot go beyond 64); flat-colour files go
    far higher (a uniform RGBA PNG is ~240, palette ~780, a lossless WebP ~25,000), and
    that is what bombs are made of. Images of at most ``small_image_pixels`` are exempt:
    decoding them costs a few MB whatever their compression, and flat graphics, icons
    and test images live there.

    ``formats`` holds format ids, a subset of :data:`SUPPORTED_FORMATS`.
    """

    max_bytes: int = MAX_UPLOAD_BYTES
    max_pixels: int = 50_000_000
    formats: frozenset[str] = field(default_factory=lambda: frozenset(SUPPORTED_FORMATS))
    max_pixels_per_byte: int = 128
    small_image_pixels: int = 4_000_000

    def __post_init__(self) -> None:
        # Accept any iterable of names from callers, but keep the stored value hashable.
        object.__setattr__(self, "formats", frozenset(f.upper() for f in self.formats))
        if self.max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {self.max_bytes}")
        if self.max_pixels <= 0:
            raise ValueError(f"max_pixels must be positive, got {self.max_pixels}")
        if self.max_pixels_per_byte <= 0:
            raise ValueError(
                f"max_pixels_per_byte must be positive, got {self.max_pixels_per_byte}"
            )
        if self.small_image_pixels < 0:
            raise ValueError(f"small_image_pixels must be >= 0, got {self.small_image_pixels}")
        if not self.formats:
            raise ValueError("formats must name at least one format")
        unknown = set(self.formats) - set(SUPPORTED_FORMATS)
        if unknown:
            raise ValueError(
                f"unsupported formats {sorted(unknown)}; choose among {sorted(SUPPORTED_FORMATS)}"
            )

    def describe_formats(self) -> str:
        """Human-readable list of the accepted formats, for error messages."""
        return ", ".join(SUPPORTED_FORMATS[f] for f in SUPPORTED_FORMATS if f in self.formats)


DEFAULT_LIMITS = ImageLimits()
