"""Bit depth, transparency, colour profiles and orientation, step by step."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms, ImageOps

from wearit_storage.imaging import ImageProcessor, colour
from wearit_storage.imaging.engine import Image as VipsImage

from . import corpus
from .helpers import assert_colour, open_jpeg, pixel

SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _vips(image: Image.Image) -> VipsImage:
    output = io.BytesIO()
    image.save(output, "PNG")
    return VipsImage.pngload_buffer(output.getvalue())


def _centre(image: VipsImage) -> list[float]:
    return list(image.getpoint(image.width // 2, image.height // 2))


@pytest.mark.parametrize(
    ("image", "bands", "expected"),
    [
        (Image.new("1", (4, 4), 1), 1, [255]),
        (Image.new("L", (4, 4), 90), 1, [90]),
        (Image.new("RGB", (4, 4), corpus.RED), 3, list(corpus.RED)),
        (Image.new("I;16", (4, 4), 0xFFFF), 1, [255]),
        (Image.new("I;16", (4, 4), 0x4000), 1, [64]),
        (Image.new("RGBA", (4, 4), (0, 0, 0, 0)), 3, list(corpus.WHITE)),
        (Image.new("RGBA", (4, 4), (*corpus.BLUE, 255)), 3, list(corpus.BLUE)),
        (Image.new("RGBA", (4, 4), (0, 0, 0, 128)), 3, [127, 127, 127]),
        (Image.new("LA", (4, 4), (0, 0)), 1, [255]),
    ],
    ids=lambda v: v.mode if isinstance(v, Image.Image) else str(v),
)
def test_working_form_is_8_bit_without_alpha(
    image: Image.Image, bands: int, expected: list[int]
) -> None:
    work = colour.working_form(_vips(image))
    assert (work.format, work.bands) == ("uchar", bands)
    assert _centre(work) == pytest.approx(expected, abs=1)


def test_sixteen_bit_rgb_with_alpha_is_scaled_then_flattened() -> None:
    work = colour.working_form(VipsImage.pngload_buffer(corpus.rgb16_png()))
    assert (work.format, work.bands) == ("uchar", 3)
    assert _centre(work) == pytest.approx([255, 128, 0], abs=1)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_upright_matches_exif_transpose(orientation: int) -> None:
    source = corpus.quadrant_image((60, 40))
    tagged = source.copy()
    tagged.getexif()[0x0112] = orientation
    expected = ImageOps.exif_transpose(tagged)
    turned = colour.upright(_vips(source), orientation)
    assert (turned.width, turned.height) == expected.size
    assert turned.write_to_memory() == expected.tobytes()


@pytest.mark.parametrize("value", [0, 9, "6", None])
def test_invalid_orientation_is_ignored(value: object) -> None:
    assert colour.valid_orientation(value) == 1


def test_an_srgb_profile_changes_nothing() -> None:
    output = io.BytesIO()
    Image.new("RGB", (8, 8), corpus.STORED_FOR_ICC).save(output, "PNG", icc_profile=SRGB_PROFILE)
    main = open_jpeg(ImageProcessor.resize_image(output.getvalue()))
    assert_colour(pixel(main, 0.5, 0.5), corpus.STORED_FOR_ICC, 3)


@pytest.mark.parametrize(
    "profile",
    [
        b"garbage, not an ICC profile",
        ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(),
    ],
    ids=["garbage", "lab-on-rgb"],
)
def test_unusable_profile_is_ignored(profile: bytes) -> None:
    output = io.BytesIO()
    Image.new("RGB", (8, 8), corpus.STORED_FOR_ICC).save(
        output, "JPEG", quality=100, icc_profile=profile
    )
    main = open_jpeg(ImageProcessor.resize_image(output.getvalue()))
    assert_colour(pixel(main, 0.5, 0.5), corpus.STORED_FOR_ICC, 4)


def test_grey_becomes_rgb() -> None:
    srgb = colour.to_srgb(_vips(Image.new("L", (2, 2), 7)))
    assert (srgb.bands, srgb.interpretation) == (3, "srgb")
    assert _centre(srgb) == [7, 7, 7]
