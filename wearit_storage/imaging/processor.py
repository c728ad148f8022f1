"""The public pipeline: one safe decode, then a main image and/or a thumbnail, in JPEG and,
when asked, AVIF."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from wearit_storage.renditions import OUTPUT_FORMATS, WARDROBE, OutputFormat

from . import colour, encode, sources
from .budget import DEFAULT_BUDGET, MemoryBudget
from .checks import corrupt_data
from .engine import Error, Image, reason_of
from .geometry import HEADROOM, Plan, Size, box_shrink, cover_scale, oriented_size, plan
from .limits import DEFAULT_LIMITS, ImageLimits

#: The defaults of the design document's methods (``docs/design-document.fr.rst``): the
#: wardrobe's row of the rendition table.
_MAIN_SIZE: Size = WARDROBE.main_size
assert WARDROBE.thumbnail_size is not None  # the wardrobe's row has thumbnails
_THUMBNAIL_SIZE: Size = WARDROBE.thumbnail_size
#: What ``render`` encodes unless told otherwise: the JPEGs the design document stores.
JPEG_ONLY: Final[tuple[OutputFormat, ...]] = ("jpeg",)
#: Reserved beside what the decoder holds: libvips' regions on its worker threads, the
#: renditions in memory and their encoders.
_WORKING_BYTES: Final = 24 * 2**20
#: Bytes per pixel of an intermediate image kept in memory (at most CMYK's four bands).
_WORK_BYTES_PER_PIXEL: Final = 4


@dataclass(frozen=True)
class Renditions:
    """The renditions of one upload, rendered from a single decode: JPEGs always, AVIFs
    (``main_avif``, ``thumbnail_avif``) when the render was asked for them."""

    main: bytes
    thumbnail: bytes | None  # None when no thumbnail was asked for
    main_size: tuple[int, int]
    source_format: str
    source_size: tuple[int, int]
    main_avif: bytes | None = None
    thumbnail_avif: bytes | None = None

    def require_thumbnail(self) -> bytes:
        """The thumbnail, for callers that asked for one (``ValueError`` otherwise)."""
        if self.thumbnail is None:
            raise ValueError("these renditions have no thumbnail: render with thumbnail_size")
        return self.thumbnail


@dataclass(frozen=True, slots=True)
class _Output:
    """The renditions as sRGB pixels in memory, upright."""

    main: Image | None
    thumbnail: Image | None
    source_format: str
    source_size: Size


def _check_size(name: str, size: tuple[int, int]) -> Size:
    if (
        len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)
        or min(size) < 1
    ):
        raise ValueError(f"{name} must be two positive integers (width, height), got {size!r}")
    return (size[0], size[1])


def _check_formats(formats: Collection[str]) -> tuple[OutputFormat, ...]:
    chosen = tuple(f for f in OUTPUT_FORMATS if f in formats)
    unknown = set(formats) - set(OUTPUT_FORMATS)
    if unknown or "jpeg" not in chosen:
        raise ValueError(
            f"formats must include 'jpeg' (every consumer reads it) and name only "
            f"{', '.join(OUTPUT_FORMATS)}; got {sorted(formats)!r}"
        )
    return chosen


def _fit(image: Image, size: Size) -> Image:
    """Lanczos from the whole of ``image`` to exactly ``size`` (libvips box-averages first
    while more than ``HEADROOM`` is left, as its ``gap`` says)."""
    return image.resize(
        size[0] / image.width, vscale=size[1] / image.height, kernel="lanczos3", gap=HEADROOM
    )


def _cover(image: Image, size: Size) -> Image:
    """Exactly ``size``, cut from the centre of ``image`` scaled to cover it."""
    scale = cover_scale((image.width, image.height), size)
    scaled = image.resize(scale, kernel="lanczos3", gap=HEADROOM)
    left, top = (scaled.width - size[0]) // 2, (scaled.height - size[1]) // 2
    return scaled.crop(max(0, left), max(0, top), size[0], size[1])


def _in_memory(image: Image) -> Image:
    """Compute the pixels now: this is where libvips decodes, resamples and converts, and
    where a damaged stream shows."""
    try:
        return image.copy_memory()
    except Error as error:
        raise corrupt_data(reason_of(error)) from error


def _work_bytes(geometry: Plan) -> int:
    """An upper bound of the intermediate image a thumbnail needs when the main image
    leaves it too little headroom: box shrinks are whole factors, hence the 2."""
    if geometry.thumbnail_size is None or geometry.main_size is None:
        return 0
    if geometry.thumbnail_from_main:
        return 0
    kept = min(1.0, 2 * HEADROOM * geometry.scale_needed)
    width, height = geometry.source
    return _WORK_BYTES_PER_PIXEL * int(width * kept + 1) * int(height * kept + 1)


def _rendition_images(
    image_data: bytes,
    main_box: Size | None,
    thumb_size: Size | None,
    limits: ImageLimits,
    budget: MemoryBudget,
) -> _Output:
    source = sources.open_source(image_data, limits)
    geometry = plan(source.size, source.orientation, main_box, thumb_size)
    scale = geometry.scale_needed
    # Admitted against the budget before decoding: the pool bounds how many uploads run at
    # once, this bounds what their pixels weigh together.
    reserved = source.held_bytes(scale) + _work_bytes(geometry) + _WORKING_BYTES
    with budget.reserve(reserved):
        base = colour.working_form(source.decode(scale))
        main = thumbnail = None
        if geometry.main_size is not None and (
            geometry.thumbnail_size is None or geometry.thumbnail_from_main
        ):
            # The common case: one pass from the decoder to the main image; the thumbnail
            # is cut from it.
            main = _in_memory(colour.to_srgb(_fit(base, geometry.main_size)))
            if geometry.thumbnail_size is not None:
                thumbnail = _in_memory(_cover(main, geometry.thumbnail_size))
        elif geometry.main_size is None:
            assert geometry.thumbnail_size is not None  # callers ask for one or both
            thumbnail = _in_memory(colour.to_srgb(_cover(base, geometry.thumbnail_size)))
        else:
            # A panorama: the main image is too narrow for the thumbnail's crop. Both are
            # cut from one box-averaged copy that keeps what each of them needs.
            assert geometry.thumbnail_size is not None
            factor = box_shrink((base.width, base.height), geometry.source, scale)
            work = _in_memory(base.shrink(factor, factor) if factor > 1 else base)
            main = _in_memory(colour.to_srgb(_fit(work, geometry.main_size)))
            thumbnail = _in_memory(colour.to_srgb(_cover(work, geometry.thumbnail_size)))
    return _Output(
        main=None if main is None else _upright(main, source.orientation),
        thumbnail=None if thumbnail is None else _upright(thumbnail, source.orientation),
        source_format=source.format,
        source_size=oriented_size(source.size, source.orientation),
    )


def _upright(image: Image, orientation: int) -> Image:
    return image if orientation == 1 else colour.upright(image, orientation).copy_memory()


def _produced(image: Image | None) -> Image:
    if image is None:  # only reachable through a bug in _rendition_images
        raise RuntimeError("internal error: a requested rendition was not produced")
    return image


class ImageProcessor:
    """The image pipeline (static methods, as in ``docs/design-document.fr.rst``).

    Every method accepts untrusted bytes and raises
    :class:`~wearit_storage.errors.ImageRejected` for anything that is not an acceptable
    JPEG, PNG, WebP, AVIF or HEIC/HEIF photo within ``limits`` (default
    :class:`ImageLimits`). Outputs are sRGB in display orientation with all metadata
    stripped (no EXIF, GPS, XMP, comment or ICC profile) and transparency flattened onto
    white.

    The methods are thread-safe and CPU-bound; libvips runs each render on its own worker
    threads with the GIL released: from ``async`` code, call them through
    ``asyncio.to_thread``.
    """

    @staticmethod
    def resize_image(
        image_data: bytes,
        max_size: tuple[int, int] = _MAIN_SIZE,
        *,
        limits: ImageLimits | None = None,
        budget: MemoryBudget | None = None,
    ) -> bytes:
        """Fit the image inside ``max_size``, keeping its aspect ratio, never upscaling.

        JPEG at the wardrobe's main quality (85), optimized and progressive.
        """
        box = _check_size("max_size", max_size)
        output = _rendition_images(
            image_data, box, None, limits or DEFAULT_LIMITS, budget or DEFAULT_BUDGET
        )
        return encode.jpeg(_produced(output.main), WARDROBE.main_quality)

    @staticmethod
    def create_thumbnail(
        image_data: bytes,
        size: tuple[int, int] = _THUMBNAIL_SIZE,
        *,
        limits: ImageLimits | None = None,
        budget: MemoryBudget | None = None,
    ) -> bytes:
        """A JPEG thumbnail of exactly ``size``, centre-cropped, at the wardrobe's thumbnail
        quality (80).

        The image is scaled to cover ``size`` and the overflow is cropped equally on both
        sides, so every thumbnail has the same shape (a centred crop, not a fit). Images
        smaller than ``size`` are enlarged to fill it.
        """
        target = _check_size("size", size)
        output = _rendition_images(
            image_data, None, target, limits or DEFAULT_LIMITS, budget or DEFAULT_BUDGET
        )
        return encode.jpeg(_produced(output.thumbnail), WARDROBE.thumbnail_quality)

    @staticmethod
    def render(
        image_data: bytes,
        *,
        main_size: tuple[int, int] = _MAIN_SIZE,
        thumbnail_size: tuple[int, int] | None = _THUMBNAIL_SIZE,
        main_quality: int = WARDROBE.main_quality,
        thumbnail_quality: int = WARDROBE.thumbnail_quality,
        formats: Collection[OutputFormat] = JPEG_ONLY,
        limits: ImageLimits | None = None,
        budget: MemoryBudget | None = None,
    ) -> Renditions:
        """Every rendition from one decode: same results as :meth:`resize_image` with
        ``main_size`` and :meth:`create_thumbnail` with ``thumbnail_size``, at a fraction
        of the cost of the two calls. ``thumbnail_size=None``: the main rendition only.
        ``formats``: ``("jpeg", "avif")`` adds an AVIF of each rendition, encoded from
        the same pixels (a category's policy says which it stores)."""
        box = _check_size("main_size", main_size)
        target = None if thumbnail_size is None else _check_size("thumbnail_size", thumbnail_size)
        chosen = _check_formats(formats)
        output = _rendition_images(
            image_data, box, target, limits or DEFAULT_LIMITS, budget or DEFAULT_BUDGET
        )
        main = _produced(output.main)
        thumbnail = None if target is None else _produced(output.thumbnail)
        avif = "avif" in chosen
        return Renditions(
            main=encode.jpeg(main, main_quality),
            thumbnail=None if thumbnail is None else encode.jpeg(thumbnail, thumbnail_quality),
            main_size=(main.width, main.height),
            source_format=output.source_format,
            source_size=output.source_size,
            main_avif=encode.avif(main, main_quality) if avif else None,
            thumbnail_avif=(
                encode.avif(thumbnail, thumbnail_quality) if avif and thumbnail else None
            ),
        )
