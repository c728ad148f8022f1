"""What is stored for an image of each category: the one table of rendition policies.

Wardrobe pictures (clothing, avatars) are shown in grids: an 800 px main image and a
200x200 centre-cropped thumbnail, each as a JPEG and, beside it, an AVIF of about half
its bytes for the clients that accept one (:func:`preferred_format`). Body photos and
try-on results feed the try-on model, which takes 768x1024 and more, in JPEG or PNG: they
keep up to 2048 px, at a higher quality, JPEG only, and get no thumbnail (no extra copies
of body photos). Every category still goes through the same
safety steps (validated format and limits, EXIF orientation applied, metadata stripped,
sRGB, transparency on white). An application overrides any row with
``SyncStorageRepository(..., policies={Category.BODY: RenditionPolicy(...)})``.

The table is data only: the image pipeline (:mod:`wearit_storage.imaging`) reads its
defaults from :data:`WARDROBE` (the 800 px and 200x200 of the design document,
``docs/design-document.fr.rst``), and the repository renders each category by its row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, get_args

from wearit_storage.categories import Category

Size = tuple[int, int]
#: The stored formats. Every rendition has a JPEG, whatever else it has.
OutputFormat = Literal["jpeg", "avif"]
OUTPUT_FORMATS: Final[tuple[OutputFormat, ...]] = get_args(OutputFormat)
MEDIA_TYPES: Final[Mapping[OutputFormat, str]] = MappingProxyType(
    {"jpeg": "image/jpeg", "avif": "image/avif"}
)


@dataclass(frozen=True, slots=True)
class RenditionPolicy:
    """The main rendition fits ``main_size`` (never upscaled) at ``main_quality``; the
    thumbnail, if any, is exactly ``thumbnail_size``, centre-cropped, at
    ``thumbnail_quality``. Each is a progressive, metadata-free sRGB JPEG, plus an AVIF of
    the same pixels when ``formats`` names ``"avif"`` (its quality follows the JPEG's)."""

    main_size: Size
    main_quality: int
    thumbnail_size: Size | None = None
    thumbnail_quality: int = 80
    formats: tuple[OutputFormat, ...] = ("jpeg",)

    def __post_init__(self) -> None:
        for name, quality in (("main", self.main_quality), ("thumbnail", self.thumbnail_quality)):
            if not 1 <= quality <= 95:
                raise ValueError(f"{name}_quality must be 1..95 (JPEG), got {quality}")
        if "jpeg" not in self.formats or not set(self.formats) <= set(OUTPUT_FORMATS):
            raise ValueError(
                f"formats must include 'jpeg' and name only {', '.join(OUTPUT_FORMATS)}; "
                f"got {self.formats!r}"
            )

    @property
    def stores_avif(self) -> bool:
        return "avif" in self.formats

    @property
    def has_thumbnail(self) -> bool:
        return self.thumbnail_size is not None


#: Shown in the app's grids: also the image pipeline's defaults (``ImageProcessor``).
WARDROBE: Final = RenditionPolicy((800, 800), 85, (200, 200), 80, ("jpeg", "avif"))
#: What the try-on model takes, and gives back: the resolution kept, no thumbnail.
MODEL_INPUT: Final = RenditionPolicy((2048, 2048), 90)

#: The defaults, one row per category of user data (the README's table).
DEFAULT_POLICIES: Final[Mapping[Category, RenditionPolicy]] = MappingProxyType(
    {
        Category.CLOTHING: WARDROBE,
        Category.AVATARS: WARDROBE,
        Category.BODY: MODEL_INPUT,
        Category.TRYON: MODEL_INPUT,
    }
)


def merged_policies(
    overrides: Mapping[Category | str, RenditionPolicy] | None,
) -> Mapping[Category, RenditionPolicy]:
    """``DEFAULT_POLICIES`` with the application's rows on top (keys checked)."""
    policies = dict(DEFAULT_POLICIES)
    for name, policy in (overrides or {}).items():
        category = Category(name)
        if category not in DEFAULT_POLICIES:
            raise ValueError(
                f"{category.value}/ holds no renditions: override one of "
                + ", ".join(c.value for c in DEFAULT_POLICIES)
            )
        policies[category] = policy
    return MappingProxyType(policies)


def preferred_format(accept: str | None) -> OutputFormat:
    """The format to serve a client from its ``Accept`` header: AVIF when the client names
    ``image/avif`` with a non-zero quality, JPEG otherwise (every client reads JPEG, and a
    bare ``*/*`` or ``image/*`` does not promise an AVIF decoder)."""
    for media_range in (accept or "").split(","):
        media_type, *parameters = (part.strip() for part in media_range.split(";"))
        if media_type.lower() != MEDIA_TYPES["avif"]:
            continue
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0  # a malformed weight promises nothing
        if weight > 0:
            return "avif"
    return "jpeg"
