"""Resource limits applied to untrusted images before any pixel is decoded."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Pillow format ids we know how to decode safely, with the name users know them by.
SUPPORTED_FORMATS: dict[str, str] = {
    "JPEG": "JPEG",
    "PNG": "PNG",
    "WEBP": "WebP",
    "HEIF": "HEIC/HEIF",
}

MEGABYTE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """What an upload may weigh, how many pixels it may declare, and which formats pass.

    ``max_pixels`` bounds decoder memory: a 50 MP image is ~150 MB as 8-bit RGB, and the
    limit is checked against the size declared in the header, before decoding.
    ``formats`` holds Pillow format ids, a subset of :data:`SUPPORTED_FORMATS`.
    """

    max_bytes: int = 25 * MEGABYTE
    max_pixels: int = 50_000_000
    formats: frozenset[str] = field(default_factory=lambda: frozenset(SUPPORTED_FORMATS))

    def __post_init__(self) -> None:
        # Accept any iterable of names from callers, but keep the stored value hashable.
        object.__setattr__(self, "formats", frozenset(f.upper() for f in self.formats))
        if self.max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {self.max_bytes}")
        if self.max_pixels <= 0:
            raise ValueError(f"max_pixels must be positive, got {self.max_pixels}")
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
