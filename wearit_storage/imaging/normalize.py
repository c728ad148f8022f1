"""Bring any decoded image to 8-bit L, RGB or CMYK, then to sRGB in display orientation.

Orientation and colour conversion are applied to the *resized* renditions, not to the
decoded image: both commute with resampling (up to rounding), and running them on an
800 px image instead of a multi-megapixel one is most of what makes the pipeline fast.
"""

from __future__ import annotations

import functools
import io

from PIL import ExifTags, Image, ImageChops, ImageCms, ImageStat

#: Same table as ``ImageOps.exif_transpose``: how to undo each EXIF orientation.
_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = frozenset({5, 6, 7, 8})

#: Modes the resampler handles directly and that carry no alpha.
WORKING_MODES = frozenset({"L", "RGB", "CMYK"})
_WHITE: dict[str, int | tuple[int, int, int]] = {"L": 255, "RGB": (255, 255, 255)}


def orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8) of ``image``, 1 when absent or malformed."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # a broken EXIF block must not make a valid photo unreadable
        return 1
    return value if isinstance(value, int) and value in _TRANSPOSE else 1


def orientation_of_exif(raw: bytes) -> int:
    """The orientation (1-8) in a raw EXIF block (e.g. a WebP ``EXIF`` chunk), 1 if none."""
    exif = Image.Exif()
    try:
        exif.load(raw)
        value = exif.get(ExifTags.Base.Orientation, 1)
    except Exception:  # as above: broken EXIF never makes a photo unreadable
        return 1
    return value if isinstance(value, int) and value in _TRANSPOSE else 1


def oriented_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """``size`` as displayed once ``orientation`` is applied."""
    return (size[1], size[0]) if orientation in _SWAPS_AXES else size


def apply_orientation(image: Image.Image, orientation: int) -> Image.Image:
    """Rotate/flip stored pixels into display orientation."""
    method = _TRANSPOSE.get(orientation)
    return image if method is None else image.transpose(method)


def flatten_onto_white(image: Image.Image) -> Image.Image:
    """Composite an ``LA``/``RGBA`` image over white.

    Dropping alpha instead would expose whatever colour the transparent pixels hold,
    usually black, which turns a cut-out garment into a black rectangle.
    """
    base_mode = "L" if image.mode == "LA" else "RGB"
    background = Image.new(base_mode, image.size, _WHITE[base_mode])
    background.paste(image.convert(base_mode), (0, 0), image.getchannel("A"))
    return background


def _sixteen_bit_to_l(image: Image.Image) -> Image.Image:
    # Pillow's I -> L conversion clips at 255 instead of scaling, which would turn a
    # 16-bit grey photo almost entirely white.
    return image.convert("I").point(lambda value: value / 257 + 0.5).convert("L")


def in_working_mode(image: Image.Image) -> bool:
    """Whether ``image`` can be resampled as it is (8-bit L, RGB or CMYK, no alpha)."""
    return image.mode in WORKING_MODES and "transparency" not in image.info


def to_working_mode(image: Image.Image) -> Image.Image:
    """Return an 8-bit ``L``, ``RGB`` or ``CMYK`` image with any transparency flattened.

    A per-pixel operation, so it can be applied to bands of an image one at a time
    (``resampling.resample(..., convert=to_working_mode)``) with the same result.
    """
    mode = image.mode
    has_key_colour = "transparency" in image.info
    if in_working_mode(image):
        return image
    if mode.startswith("I;16") or mode == "I":
        return _sixteen_bit_to_l(image)
    if mode in ("LA", "PA", "RGBA", "RGBa") or has_key_colour:
        target = "LA" if mode in ("1", "L", "LA") else "RGBA"
        return flatten_onto_white(image if mode == target else image.convert(target))
    return image.convert("L" if mode == "1" else "RGB")


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

_LEVELS = range(0, 256, 17)  # 16 levels per channel, black and white included
#: Every combination of the levels: enough colours to tell sRGB from any other profile.
_PROBE = Image.frombytes(
    "RGB", (64, 64), bytes(v for r in _LEVELS for g in _LEVELS for b in _LEVELS for v in (r, g, b))
)


def is_identity(transform: ImageCms.ImageCmsTransform) -> bool:
    """Whether an RGB -> sRGB ``transform`` keeps every colour within one level.

    Many cameras embed an sRGB profile, and converting with it costs time for nothing.
    Testing what the transform does, rather than trusting the profile's name, keeps it safe.
    """
    converted = ImageCms.applyTransform(_PROBE, transform)
    if converted is None:
        return False
    difference = ImageChops.difference(converted, _PROBE)
    return all(high <= 1 for _, high in ImageStat.Stat(difference).extrema)


@functools.lru_cache(maxsize=32)
def _transform_to_srgb(profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    # Cached because phones embed the same few profiles (Display P3, sRGB) in every
    # photo. NOCACHE disables lcms's last-pixel cache, which is shared mutable state:
    # without it one transform could not be applied from several threads at once.
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        transform = ImageCms.buildTransform(
            source, _SRGB, mode, "RGB", flags=ImageCms.Flags.NOCACHE
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
    return None if mode == "RGB" and is_identity(transform) else transform


def to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert a working-mode image to sRGB ``RGB`` using its embedded ICC profile.

    An unreadable profile, or one that does not match the pixel layout, is ignored and the
    pixels are taken as sRGB, which is what browsers do.
    """
    if icc_profile:
        transform = _transform_to_srgb(icc_profile, image.mode)
        if transform is not None:
            return ImageCms.applyTransform(image, transform) or image
    return image if image.mode == "RGB" else image.convert("RGB")
