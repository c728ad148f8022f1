"""The public image pipeline: one safe decode, then a main image and/or a thumbnail."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from . import decode, normalize, render
from .limits import DEFAULT_LIMITS, ImageLimits
from .render import Box, Size

MAIN_SIZE: Size = (800, 800)
THUMBNAIL_SIZE: Size = (200, 200)
MAIN_QUALITY = 85
THUMBNAIL_QUALITY = 80

#: Each resampling pass starts from at least this many source pixels per output pixel
#: (per axis) whenever the source has them: below 2x, Lanczos after DCT scaling or after
#: a previous resize visibly softens the result.
HEADROOM = 2.0


@dataclass(frozen=True)
class Renditions:
    """Both renditions of one upload, rendered from a single decode."""

    main: bytes
    thumbnail: bytes
    main_size: tuple[int, int]
    source_format: str
    source_size: tuple[int, int]


@dataclass(frozen=True, slots=True)
class _Output:
    main: Image.Image | None
    thumbnail: Image.Image | None
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


def _swap(size: Size, orientation: int) -> Size:
    return normalize.oriented_size(size, orientation)


def _decode_floor(source: Size, scales: list[float]) -> tuple[float, float]:
    """Smallest decoded size that still leaves ``HEADROOM`` for every requested scale."""
    factor = min(1.0, HEADROOM * max(scales))
    return (source[0] * factor, source[1] * factor)


def _pick_thumbnail_base(
    work: Image.Image,
    work_frame: Box,
    main: Image.Image | None,
    source: Size,
    crop: Box,
    thumb: Size,
) -> tuple[Image.Image, Box]:
    """Resample the thumbnail from the main image when it still has enough headroom.

    The main image is a fraction of the decoded one, so this is the cheap path; the crop
    is mapped into whichever image is used so the framing is identical either way.
    """
    if main is not None:
        from_main = render.map_box(crop, source, (0.0, 0.0, float(main.width), float(main.height)))
        if render.scale_of(from_main, thumb) * HEADROOM <= 1.0:
            return main, from_main
    return work, render.map_box(crop, source, work_frame)


def _render_images(
    image_data: bytes, main_box: Size | None, thumb_size: Size | None, limits: ImageLimits
) -> _Output:
    image = decode.open_header(image_data, limits)
    orientation = normalize.orientation(image)
    source: Size = image.size
    # Everything up to _finish works in stored orientation; targets are turned to match.
    main_size = (
        None
        if main_box is None
        else _swap(render.fit_size(_swap(source, orientation), main_box), orientation)
    )
    thumb = None if thumb_size is None else _swap(thumb_size, orientation)
    main, thumbnail = _resample(image, main_size, thumb)
    icc_profile = image.info.get("icc_profile")
    source_format = decode.source_format(image)
    # Drop the decoded pixels before colour conversion and encoding allocate more.
    image.close()
    del image
    return _Output(
        main=_finish(main, icc_profile, orientation),
        thumbnail=_finish(thumbnail, icc_profile, orientation),
        source_format=source_format,
        source_size=_swap(source, orientation),
    )


def _resample(
    image: Image.Image, main_size: Size | None, thumb: Size | None
) -> tuple[Image.Image | None, Image.Image | None]:
    """Decode ``image`` once, as small as the targets allow, and resample each target."""
    source: Size = image.size
    whole: Box = (0.0, 0.0, float(source[0]), float(source[1]))
    crop = None if thumb is None else render.cover_box(source, thumb)
    scales = [render.scale_of(whole, main_size)] if main_size else []
    if thumb is not None and crop is not None:
        scales.append(render.scale_of(crop, thumb))
    frame = decode.draft_for(image, _decode_floor(source, scales))
    work = normalize.to_working_mode(decode.load_pixels(image))

    main = None if main_size is None else render.resample(work, main_size, frame)
    thumbnail = None
    if thumb is not None and crop is not None:
        base, box = _pick_thumbnail_base(work, frame, main, source, crop, thumb)
        thumbnail = render.resample(base, thumb, box)
    return main, thumbnail


def _finish(image: Image.Image | None, icc_profile: object, orientation: int) -> Image.Image | None:
    if image is None:
        return None
    profile = icc_profile if isinstance(icc_profile, bytes) else None
    return normalize.apply_orientation(normalize.to_srgb(image, profile), orientation)


class ImageProcessor:
    """Seed-compatible image pipeline (static methods, as in the design document).

    Every method accepts untrusted bytes and raises
    :class:`~wearit_storage.errors.ImageRejected` for anything that is not an acceptable
    JPEG, PNG, WebP or HEIC/HEIF photo within ``limits`` (default :class:`ImageLimits`).
    Outputs are sRGB JPEGs in display orientation with all metadata stripped (no EXIF,
    GPS, XMP, comment or ICC profile) and transparency flattened onto white.
    """

    @staticmethod
    def resize_image(
        image_data: bytes,
        max_size: tuple[int, int] = MAIN_SIZE,
        *,
        limits: ImageLimits | None = None,
    ) -> bytes:
        """Fit the image inside ``max_size``, keeping its aspect ratio, never upscaling.

        JPEG, quality 85, optimized and progressive.
        """
        box = _check_size("max_size", max_size)
        output = _render_images(image_data, box, None, limits or DEFAULT_LIMITS)
        assert output.main is not None
        return render.encode_jpeg(output.main, MAIN_QUALITY)

    @staticmethod
    def create_thumbnail(
        image_data: bytes,
        size: tuple[int, int] = THUMBNAIL_SIZE,
        *,
        limits: ImageLimits | None = None,
    ) -> bytes:
        """A JPEG thumbnail of exactly ``size``, centre-cropped, quality 80.

        Unlike the seed, which only shrank the image to fit (its comment promised a centred
        crop the code never did), the image is scaled to cover ``size`` and the overflow is
        cropped equally on both sides, so every thumbnail has the same shape. Images smaller
        than ``size`` are enlarged to fill it.
        """
        target = _check_size("size", size)
        output = _render_images(image_data, None, target, limits or DEFAULT_LIMITS)
        assert output.thumbnail is not None
        return render.encode_jpeg(output.thumbnail, THUMBNAIL_QUALITY)

    @staticmethod
    def render(
        image_data: bytes,
        *,
        main_size: tuple[int, int] = MAIN_SIZE,
        thumbnail_size: tuple[int, int] = THUMBNAIL_SIZE,
        limits: ImageLimits | None = None,
    ) -> Renditions:
        """Both renditions from one decode: same results as :meth:`resize_image` with
        ``main_size`` and :meth:`create_thumbnail` with ``thumbnail_size``, at a fraction
        of the cost of the two calls."""
        box = _check_size("main_size", main_size)
        target = _check_size("thumbnail_size", thumbnail_size)
        output = _render_images(image_data, box, target, limits or DEFAULT_LIMITS)
        assert output.main is not None
        assert output.thumbnail is not None
        return Renditions(
            main=render.encode_jpeg(output.main, MAIN_QUALITY),
            thumbnail=render.encode_jpeg(output.thumbnail, THUMBNAIL_QUALITY),
            main_size=output.main.size,
            source_format=output.source_format,
            source_size=output.source_size,
        )
