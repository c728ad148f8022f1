"""The public image pipeline: one safe decode, then a main image and/or a thumbnail."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image

from wearit_storage.renditions import WARDROBE

from . import decode, incremental, normalize, pipelined, resampling
from .budget import DEFAULT_BUDGET, MemoryBudget
from .limits import DEFAULT_LIMITS, ImageLimits
from .release import release_after
from .resampling import HEADROOM, Box, Size

#: The defaults of the design document's methods (``docs/design-document.fr.rst``): the
#: wardrobe's row of the rendition table.
_MAIN_SIZE: Size = WARDROBE.main_size
assert WARDROBE.thumbnail_size is not None  # the wardrobe's row has thumbnails
_THUMBNAIL_SIZE: Size = WARDROBE.thumbnail_size
#: How much larger than a rendition a JPEG is decoded (DCT scaling picks 1/2, 1/4 or 1/8).
#: Less than the ``HEADROOM`` kept before Lanczos elsewhere: libjpeg's scaled IDCT drops
#: the high frequencies of each block instead of averaging pixels, so it adds no aliasing
#: of its own. Measured on 12 MP photos (``make bench``): a 1/4 decode at 1.25x headroom
#: costs 0.001 SSIM against 2x headroom and saves about a third of the time.
DCT_HEADROOM = 1.25
#: Reserved beside the decoded pixels: converted bands on every resampling thread, the
#: renditions and their encoders.
_WORKING_BYTES = 24 * 2**20


@dataclass(frozen=True)
class Renditions:
    """Both renditions of one upload, rendered from a single decode."""

    main: bytes
    thumbnail: bytes | None  # None when no thumbnail was asked for
    main_size: tuple[int, int]
    source_format: str
    source_size: tuple[int, int]

    def require_thumbnail(self) -> bytes:
        """The thumbnail, for callers that asked for one (``ValueError`` otherwise)."""
        if self.thumbnail is None:
            raise ValueError("these renditions have no thumbnail: render with thumbnail_size")
        return self.thumbnail


@dataclass(frozen=True, slots=True)
class Plan:
    """What to cut from the source, in *stored* orientation (before EXIF rotation)."""

    source: Size
    main_size: Size | None
    thumbnail_size: Size | None
    thumbnail_crop: Box | None

    @property
    def min_decode_size(self) -> tuple[float, float]:
        """Smallest DCT-scaled decode leaving ``DCT_HEADROOM`` for every rendition."""
        return self.min_size(DCT_HEADROOM)

    def min_size(self, headroom: float) -> tuple[float, float]:
        """Smallest reduced source leaving ``headroom`` for every rendition."""
        whole: Box = (0.0, 0.0, float(self.source[0]), float(self.source[1]))
        scales = [0.0]
        if self.main_size is not None:
            scales.append(resampling.scale_of(whole, self.main_size))
        if self.thumbnail_size is not None and self.thumbnail_crop is not None:
            scales.append(resampling.scale_of(self.thumbnail_crop, self.thumbnail_size))
        factor = min(1.0, headroom * max(scales))
        return (self.source[0] * factor, self.source[1] * factor)


def plan(source: Size, orientation: int, main_box: Size | None, thumb_size: Size | None) -> Plan:
    """Rendition geometry for a ``source`` stored with EXIF ``orientation``.

    Targets are expressed in display orientation by callers and turned here to the stored
    one, so that rotating happens last, on small images.
    """
    main_size = None
    if main_box is not None:
        shown = resampling.fit_size(normalize.oriented_size(source, orientation), main_box)
        main_size = normalize.oriented_size(shown, orientation)
    thumb = None if thumb_size is None else normalize.oriented_size(thumb_size, orientation)
    crop = None if thumb is None else resampling.cover_box(source, thumb)
    return Plan(source, main_size, thumb, crop)


class _RendersInProgress:
    """How many renders are decoding or resampling in this process."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def counted(self) -> Iterator[bool]:
        """Count one more render while the block runs; whether it is the only one."""
        with self._lock:
            self._count += 1
            alone = self._count == 1
        try:
            yield alone
        finally:
            with self._lock:
                self._count -= 1


_RENDERS = _RendersInProgress()


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
        from_main = _crop_in_main(main.size, source, crop, thumb)
        if from_main is not None:
            return main, from_main
    return work, resampling.map_box(crop, source, work_frame)


def _crop_in_main(main: Size, source: Size, crop: Box, thumb: Size) -> Box | None:
    """The thumbnail's crop in the main image, if the main image leaves it ``HEADROOM``."""
    from_main = resampling.map_box(crop, source, (0.0, 0.0, float(main[0]), float(main[1])))
    return from_main if resampling.scale_of(from_main, thumb) * HEADROOM <= 1.0 else None


def _rendition_images(
    image_data: bytes,
    main_box: Size | None,
    thumb_size: Size | None,
    limits: ImageLimits,
    budget: MemoryBudget,
) -> _Output:
    source = decode.open_source(image_data, limits)
    frame: Box = (0.0, 0.0, float(source.size[0]), float(source.size[1]))
    early = None
    if source.image is not None and source.can_draft:
        # A JPEG's EXIF is in its header, so the orientation is known before decoding.
        early = plan(source.size, source.orientation(), main_box, thumb_size)
        frame = source.shrink_on_load(early.min_decode_size)
    elif source.webp_header is not None:
        # libwebp's rescaler averages areas (no frequency-domain filtering, unlike DCT
        # scaling), so it keeps the full HEADROOM that Lanczos wants after a box reduction.
        early = plan(source.size, source.orientation(), main_box, thumb_size)
        frame = source.shrink_on_load(early.min_size(HEADROOM))
    pipelining = None if early is None else _pipelining(source, frame, early)
    # Admitted against the budget before decoding: the pool bounds how many uploads run at
    # once, this bounds what their pixels weigh together.
    reserved = source.decode_bytes() + _WORKING_BYTES
    with budget.reserve(reserved), _RENDERS.counted() as alone:
        if pipelining is not None:
            # Cut while the JPEG decodes: its orientation, hence the geometry, is known.
            image, geometry, requests = pipelining
            orientation, convert = source.orientation(), None
            done = pipelined.resample_while_decoding(source, requests, overlap=alone)
        else:
            image = source.decode()
            # Only now: reading EXIF can make Pillow decode (PNG keeps looking for a late
            # eXIf chunk), and decoding errors must surface from decode(), not be swallowed.
            orientation = normalize.orientation(image)
            geometry = plan(source.size, orientation, main_box, thumb_size)
            convert = None if normalize.in_working_mode(image) else normalize.to_working_mode
            done = {}
        main, thumbnail = _resample(image, frame, geometry, convert, done)
        icc_profile = image.info.get("icc_profile")
        # Release the decoded pixels before colour conversion and encoding allocate more.
        image.close()
        del image
        # Still inside the reservation: the next render is admitted once the pages are back.
        release_after(reserved)
    return _Output(
        main=_finish(main, icc_profile, orientation),
        thumbnail=_finish(thumbnail, icc_profile, orientation),
        source_format=source.format,
        source_size=normalize.oriented_size(source.size, orientation),
    )


def _pipelining(
    source: decode.Source, frame: Box, geometry: Plan
) -> tuple[Image.Image, Plan, dict[str, pipelined.Request]] | None:
    """The image, geometry and renditions (``main``, ``thumbnail``) to cut while a JPEG in
    a working mode decodes: those that need no block-averaging first (DCT scaling has done
    it). The others are cut once it is decoded. ``None`` when nothing can be cut."""
    image = source.image
    if image is None or not incremental.can_load_incrementally(image):
        return None
    if not normalize.in_working_mode(image):
        return None
    requests: dict[str, pipelined.Request] = {}
    main = geometry.main_size
    if main is not None and resampling.reduction_factors(main, frame) == (1, 1):
        requests["main"] = pipelined.Request(main, frame)
    thumb, crop = geometry.thumbnail_size, geometry.thumbnail_crop
    if thumb is not None and crop is not None:
        # The same choice as _pick_thumbnail_base makes after a whole decode.
        from_main = None if main is None else _crop_in_main(main, geometry.source, crop, thumb)
        if from_main is None:
            thumbnail = pipelined.Request(thumb, resampling.map_box(crop, geometry.source, frame))
        else:
            thumbnail = pipelined.Request(thumb, from_main, source="main")
        if resampling.reduction_factors(thumbnail.size, thumbnail.box) == (1, 1) and (
            thumbnail.source is None or "main" in requests
        ):
            requests["thumbnail"] = thumbnail
    return (image, geometry, requests) if requests else None


def _resample(
    decoded: Image.Image,
    frame: Box,
    geometry: Plan,
    convert: Callable[[Image.Image], Image.Image] | None,
    done: dict[str, Image.Image],
) -> tuple[Image.Image | None, Image.Image | None]:
    """Each requested rendition: from ``done`` (cut while decoding) or resampled now from
    the decoded image (``frame`` = the source), converting it to a working mode band by
    band when it is not in one."""
    main = done.get("main")
    if main is None and geometry.main_size is not None:
        main = resampling.resample(decoded, geometry.main_size, frame, convert)
    thumbnail = done.get("thumbnail")
    thumb, crop = geometry.thumbnail_size, geometry.thumbnail_crop
    if thumbnail is None and thumb is not None and crop is not None:
        base, box = _pick_thumbnail_base(decoded, frame, main, geometry.source, crop, thumb)
        thumbnail = resampling.resample(base, thumb, box, None if base is main else convert)
    return main, thumbnail


def _produced(image: Image.Image | None) -> Image.Image:
    if image is None:  # only reachable through a bug in _rendition_images
        raise RuntimeError("internal error: a requested rendition was not produced")
    return image


def _finish(image: Image.Image | None, icc_profile: object, orientation: int) -> Image.Image | None:
    if image is None:
        return None
    profile = icc_profile if isinstance(icc_profile, bytes) else None
    return normalize.apply_orientation(normalize.to_srgb(image, profile), orientation)


class ImageProcessor:
    """The image pipeline (static methods, as in ``docs/design-document.fr.rst``).

    Every method accepts untrusted bytes and raises
    :class:`~wearit_storage.errors.ImageRejected` for anything that is not an acceptable
    JPEG, PNG, WebP or HEIC/HEIF photo within ``limits`` (default :class:`ImageLimits`).
    Outputs are sRGB JPEGs in display orientation with all metadata stripped (no EXIF,
    GPS, XMP, comment or ICC profile) and transparency flattened onto white.

    The methods are thread-safe and CPU-bound (Pillow releases the GIL while decoding,
    resampling and encoding): from ``async`` code, call them through ``asyncio.to_thread``.
    Large resizes are additionally split across a small shared pool of
    ``resampling.RESAMPLE_THREADS`` threads.
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
        return resampling.encode_jpeg(_produced(output.main), WARDROBE.main_quality)

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
        return resampling.encode_jpeg(_produced(output.thumbnail), WARDROBE.thumbnail_quality)

    @staticmethod
    def render(
        image_data: bytes,
        *,
        main_size: tuple[int, int] = _MAIN_SIZE,
        thumbnail_size: tuple[int, int] | None = _THUMBNAIL_SIZE,
        main_quality: int = WARDROBE.main_quality,
        thumbnail_quality: int = WARDROBE.thumbnail_quality,
        limits: ImageLimits | None = None,
        budget: MemoryBudget | None = None,
    ) -> Renditions:
        """Both renditions from one decode: same results as :meth:`resize_image` with
        ``main_size`` and :meth:`create_thumbnail` with ``thumbnail_size``, at a fraction
        of the cost of the two calls. ``thumbnail_size=None``: the main rendition only."""
        box = _check_size("main_size", main_size)
        target = None if thumbnail_size is None else _check_size("thumbnail_size", thumbnail_size)
        output = _rendition_images(
            image_data, box, target, limits or DEFAULT_LIMITS, budget or DEFAULT_BUDGET
        )
        main = _produced(output.main)
        return Renditions(
            main=resampling.encode_jpeg(main, main_quality),
            thumbnail=(
                None
                if target is None
                else resampling.encode_jpeg(_produced(output.thumbnail), thumbnail_quality)
            ),
            main_size=main.size,
            source_format=output.source_format,
            source_size=output.source_size,
        )
