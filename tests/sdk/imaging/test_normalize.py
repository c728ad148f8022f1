"""Mode, transparency, orientation and colour normalisation, function by function."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image, ImageCms, ImageOps

from wearit_storage.imaging import ImageProcessor, normalize

from . import corpus
from .helpers import assert_colour, open_jpeg, pixel

SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize(
    ("image", "mode", "colour"),
    [
        (Image.new("1", (4, 4), 1), "L", (255, 255, 255)),
        (Image.new("L", (4, 4), 90), "L", (90, 90, 90)),
        (Image.new("RGB", (4, 4), corpus.RED), "RGB", corpus.RED),
        (Image.new("CMYK", (4, 4), (0, 0, 0, 0)), "CMYK", (255, 255, 255)),
        (Image.new("I;16", (4, 4), 0xFFFF), "L", (255, 255, 255)),
        (Image.new("I;16", (4, 4), 0x4000), "L", (64, 64, 64)),
        (Image.new("I", (4, 4), 0x8000), "L", (128, 128, 128)),
        (Image.new("RGBA", (4, 4), (0, 0, 0, 0)), "RGB", corpus.WHITE),
        (Image.new("RGBA", (4, 4), (*corpus.BLUE, 255)), "RGB", corpus.BLUE),
        (Image.new("RGBA", (4, 4), (0, 0, 0, 128)), "RGB", (127, 127, 127)),
        (Image.new("LA", (4, 4), (0, 0)), "L", corpus.WHITE),
        (Image.new("PA", (4, 4), (0, 0)), "RGB", corpus.WHITE),
    ],
    ids=lambda v: v.mode if isinstance(v, Image.Image) else str(v),
)
def test_to_working_mode(image: Image.Image, mode: str, colour: tuple[int, int, int]) -> None:
    work = normalize.to_working_mode(image)
    assert work.mode == mode
    assert_colour(pixel(work, 0.5, 0.5), colour, 1)


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_key_colour_transparency_is_flattened(mode: str) -> None:
    image = Image.new(mode, (4, 4), 0)
    image.info["transparency"] = 0 if mode == "L" else (0, 0, 0)
    work = normalize.to_working_mode(image)
    assert "A" not in work.mode
    assert_colour(pixel(work, 0.5, 0.5), corpus.WHITE, 0)


def test_working_modes_pass_through_untouched() -> None:
    image = Image.new("RGB", (4, 4))
    assert normalize.to_working_mode(image) is image


@pytest.mark.parametrize("orientation", range(1, 9))
def test_apply_orientation_matches_exif_transpose(orientation: int) -> None:
    source = corpus.quadrant_image((60, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    output = io.BytesIO()
    source.save(output, "PNG", exif=exif)
    tagged = Image.open(io.BytesIO(output.getvalue()))
    tagged.load()
    assert normalize.orientation(tagged) == orientation
    expected = ImageOps.exif_transpose(tagged)
    assert normalize.apply_orientation(source, orientation).tobytes() == expected.tobytes()
    assert normalize.oriented_size(source.size, orientation) == expected.size


@pytest.mark.parametrize("value", [0, 9, "6", None])
def test_invalid_orientation_is_ignored(value: object) -> None:
    image = Image.new("RGB", (4, 2))
    exif = image.getexif()
    exif[ExifTags.Base.Orientation] = value
    assert normalize.orientation(image) == 1


def test_srgb_profile_is_detected_as_identity_and_skipped() -> None:
    image = Image.new("RGB", (8, 8), corpus.STORED_FOR_ICC)
    assert normalize.to_srgb(image, SRGB_PROFILE) is image  # no conversion at all
    output = io.BytesIO()
    image.save(output, "PNG", icc_profile=SRGB_PROFILE)
    main = open_jpeg(ImageProcessor.resize_image(output.getvalue()))
    assert_colour(pixel(main, 0.5, 0.5), corpus.STORED_FOR_ICC, 3)


def test_non_srgb_profile_is_not_identity() -> None:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(corpus.swapped_primaries_profile()))
    srgb = ImageCms.ImageCmsProfile(io.BytesIO(SRGB_PROFILE))
    transform = ImageCms.buildTransform(profile, srgb, "RGB", "RGB")
    assert not normalize.is_identity(transform)


@pytest.mark.parametrize(
    "profile",
    [
        b"garbage, not an ICC profile",
        ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(),
    ],
    ids=["garbage", "lab-on-rgb"],
)
def test_unusable_profile_is_ignored(profile: bytes) -> None:
    image = Image.new("RGB", (8, 8), corpus.STORED_FOR_ICC)
    assert_colour(pixel(normalize.to_srgb(image, profile), 0.5, 0.5), corpus.STORED_FOR_ICC, 0)
    output = io.BytesIO()
    image.save(output, "JPEG", quality=100, icc_profile=profile)
    main = open_jpeg(ImageProcessor.resize_image(output.getvalue()))
    assert_colour(pixel(main, 0.5, 0.5), corpus.STORED_FOR_ICC, 4)


def test_grey_and_cmyk_without_profile_become_rgb() -> None:
    assert normalize.to_srgb(Image.new("L", (2, 2), 7), None).getpixel((0, 0)) == (7, 7, 7)
    cmyk = Image.new("CMYK", (2, 2), (0, 255, 255, 0))
    assert normalize.to_srgb(cmyk, None).getpixel((0, 0)) == (255, 0, 0)
