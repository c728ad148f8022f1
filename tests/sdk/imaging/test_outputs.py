"""Behaviour of the pipeline on every kind of image it accepts."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import ExifTags, Image, ImageOps

from wearit_storage.imaging import ImageProcessor, Renditions

from . import corpus
from .helpers import assert_clean_jpeg, assert_colour, mean_abs_diff, open_jpeg, pixel

ACCEPTED: dict[str, Callable[[], bytes]] = {
    "exif_rotated_jpeg": corpus.exif_rotated_jpeg,
    "plain_jpeg": corpus.plain_jpeg,
    "textured_jpeg": corpus.textured_jpeg,
    "rgba_png": corpus.rgba_png,
    "rgba_webp": corpus.rgba_webp,
    "la_png": corpus.la_png,
    "palette_png": corpus.palette_png_with_transparency,
    "cmyk_jpeg": corpus.cmyk_jpeg,
    "grey16_png": corpus.grey16_png,
    "rgb16_png": corpus.rgb16_png,
    "heic": corpus.heic,
    "mpo": corpus.mpo,
    "icc_jpeg": corpus.icc_jpeg,
    "icc_png": corpus.icc_png,
    "webp": corpus.webp,
    "avif": corpus.avif,
    "png": corpus.png,
}


@pytest.fixture(scope="module", params=sorted(ACCEPTED))
def rendered(request: pytest.FixtureRequest) -> Renditions:
    return ImageProcessor.render(ACCEPTED[request.param]())


def test_outputs_are_clean_progressive_srgb_jpegs(rendered: Renditions) -> None:
    main = assert_clean_jpeg(rendered.main)
    thumbnail = assert_clean_jpeg(rendered.require_thumbnail())
    assert main.size == rendered.main_size
    assert thumbnail.size == (200, 200)


def test_main_fits_800_box_keeps_aspect_and_never_upscales(rendered: Renditions) -> None:
    width, height = rendered.main_size
    source_w, source_h = rendered.source_size
    assert width <= 800
    assert height <= 800
    assert width <= source_w
    assert height <= source_h
    assert abs(width / height - source_w / source_h) < 2 / min(width, height)
    if max(source_w, source_h) <= 800:
        assert rendered.main_size == rendered.source_size


def test_gps_exif_xmp_and_comment_are_stripped() -> None:
    source = corpus.exif_rotated_jpeg()
    original = Image.open(io.BytesIO(source))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the corpus really has GPS
    assert "comment" in original.info
    assert "xmp" in original.info
    for output in (
        ImageProcessor.resize_image(source),
        ImageProcessor.create_thumbnail(source),
        *(lambda r: (r.main, r.require_thumbnail()))(ImageProcessor.render(source)),
    ):
        image = assert_clean_jpeg(output)
        assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)


def test_exif_orientation_6_rotates_clockwise() -> None:
    result = ImageProcessor.render(corpus.exif_rotated_jpeg((600, 400)))
    assert result.source_size == (400, 600)
    main = open_jpeg(result.main)
    assert main.size == (400, 600)
    # Rotating the stored image 90 degrees clockwise moves its bottom-left to the top-left.
    assert_colour(pixel(main, 0.1, 0.1), corpus.QUADRANTS["bottom_left"])
    assert_colour(pixel(main, 0.9, 0.1), corpus.QUADRANTS["top_left"])
    assert_colour(pixel(main, 0.9, 0.9), corpus.QUADRANTS["top_right"])
    assert_colour(pixel(main, 0.1, 0.9), corpus.QUADRANTS["bottom_right"])


def _jpeg_with_orientation(orientation: int, size: tuple[int, int]) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    output = io.BytesIO()
    corpus.quadrant_image(size).save(output, "JPEG", quality=95, exif=exif)
    return output.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(
    ("main_box", "thumb_size"), [((800, 800), (200, 200)), ((300, 120), (90, 40))]
)
def test_every_orientation_matches_pillow_reference(
    orientation: int, main_box: tuple[int, int], thumb_size: tuple[int, int]
) -> None:
    """Our rotate-last pipeline must equal the straightforward one (rotate, then resize)."""
    data = _jpeg_with_orientation(orientation, (1200, 500))
    reference = ImageOps.exif_transpose(Image.open(io.BytesIO(data)).convert("RGB"))
    expected_main = ImageOps.contain(reference, main_box, Image.Resampling.LANCZOS)
    expected_thumb = ImageOps.fit(reference, thumb_size, Image.Resampling.LANCZOS)

    result = ImageProcessor.render(data, main_size=main_box, thumbnail_size=thumb_size)

    main, thumb = open_jpeg(result.main), open_jpeg(result.require_thumbnail())
    assert main.size == expected_main.size
    assert thumb.size == thumb_size
    # JPEG noise around the sharp quadrant edges stays under ~5; any wrong rotation or
    # flip swaps whole quadrants and scores well above 40.
    assert mean_abs_diff(main, expected_main) < 8
    assert mean_abs_diff(thumb, expected_thumb) < 8
    wrong = expected_main.transpose(Image.Transpose.ROTATE_180)
    assert mean_abs_diff(main, wrong) > 40


def test_transparent_png_is_flattened_onto_white_not_black() -> None:
    main = open_jpeg(ImageProcessor.resize_image(corpus.rgba_png()))
    assert_colour(pixel(main, 0.05, 0.05), corpus.WHITE, 3)
    assert_colour(pixel(main, 0.95, 0.95), corpus.WHITE, 3)
    assert_colour(pixel(main, 0.5, 0.5), corpus.RED)


def test_transparent_webp_is_flattened_onto_white() -> None:
    main = open_jpeg(ImageProcessor.resize_image(corpus.rgba_webp()))
    assert_colour(pixel(main, 0.05, 0.05), corpus.WHITE, 3)
    assert_colour(pixel(main, 0.5, 0.5), corpus.BLUE)


def test_grey_with_alpha_is_flattened_onto_white() -> None:
    main = open_jpeg(ImageProcessor.resize_image(corpus.la_png()))
    assert_colour(pixel(main, 0.2, 0.5), (100, 100, 100), 3)
    assert_colour(pixel(main, 0.8, 0.5), corpus.WHITE, 3)


def test_palette_transparency_becomes_white_and_palette_colours_survive() -> None:
    main = open_jpeg(ImageProcessor.resize_image(corpus.palette_png_with_transparency()))
    assert_colour(pixel(main, 0.2, 0.5), corpus.GREEN)
    assert_colour(pixel(main, 0.8, 0.5), corpus.WHITE, 3)


def test_cmyk_jpeg_has_plausible_rgb_colours() -> None:
    # Without an embedded profile, CMYK goes through a print profile (libvips' own), as
    # browsers and editors render it: 100% magenta + yellow is a press red, not (255, 0, 0).
    main = open_jpeg(ImageProcessor.resize_image(corpus.cmyk_jpeg()))
    assert_colour(pixel(main, 0.2, 0.5), (232, 30, 42), 20)  # as in print: a warm red
    assert_colour(pixel(main, 0.8, 0.5), (48, 36, 123), 20)  # and a violet blue


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    main = open_jpeg(ImageProcessor.resize_image(corpus.grey16_png(level=0x8000)))
    assert_colour(pixel(main, 0.5, 0.5), (128, 128, 128), 2)


def test_sixteen_bit_rgb_keeps_its_colour() -> None:
    main = open_jpeg(ImageProcessor.resize_image(corpus.rgb16_png()))
    assert_colour(pixel(main, 0.5, 0.5), (255, 128, 0), 4)


@pytest.mark.parametrize("make", [corpus.icc_jpeg, corpus.icc_png], ids=["jpeg", "png"])
def test_embedded_icc_profile_is_converted_to_srgb(make: Callable[[], bytes]) -> None:
    result = ImageProcessor.render(make())
    for output in (result.main, result.require_thumbnail()):
        image = assert_clean_jpeg(output)
        assert "icc_profile" not in image.info
        assert_colour(pixel(image, 0.5, 0.5), corpus.EXPECTED_SRGB_FOR_ICC, 4)


def test_heic_is_accepted_and_its_orientation_applied_once() -> None:
    result = ImageProcessor.render(corpus.heic((300, 200), orientation=6))
    assert result.source_format == "HEIF"
    assert result.source_size == (200, 300)
    main = open_jpeg(result.main)
    assert_colour(pixel(main, 0.1, 0.1), corpus.QUADRANTS["bottom_left"], 16)
    assert_colour(pixel(main, 0.9, 0.1), corpus.QUADRANTS["top_left"], 16)


def test_mpo_is_reported_as_jpeg_and_uses_the_first_frame() -> None:
    result = ImageProcessor.render(corpus.mpo())
    assert result.source_format == "JPEG"
    assert_colour(pixel(open_jpeg(result.main), 0.1, 0.1), corpus.QUADRANTS["top_left"])


@pytest.mark.parametrize(
    ("make", "fmt"),
    [
        (corpus.plain_jpeg, "JPEG"),
        (corpus.png, "PNG"),
        (corpus.webp, "WEBP"),
        (corpus.avif, "AVIF"),
    ],
)
def test_source_format_is_reported(make: Callable[[], bytes], fmt: str) -> None:
    assert ImageProcessor.render(make()).source_format == fmt


def test_large_image_is_shrunk_to_fit() -> None:
    result = ImageProcessor.render(corpus.textured_jpeg((2400, 1800)))
    assert result.main_size == (800, 600)
    assert open_jpeg(result.main).size == (800, 600)


def test_tall_image_fits_by_height() -> None:
    image = corpus.quadrant_image((500, 2000))
    output = io.BytesIO()
    image.save(output, "PNG")
    assert open_jpeg(ImageProcessor.resize_image(output.getvalue())).size == (200, 800)


def test_small_image_is_never_upscaled() -> None:
    data = corpus.plain_jpeg((120, 90))
    assert open_jpeg(ImageProcessor.resize_image(data)).size == (120, 90)
    assert ImageProcessor.render(data).main_size == (120, 90)


def test_thumbnail_is_exactly_the_size_and_centre_cropped() -> None:
    # 600x300 source: a square centre crop keeps x in [150, 450), so the magenta bands in
    # [0, 100) and [500, 600) must be gone while the red top and blue bottom edges stay.
    thumb = open_jpeg(ImageProcessor.create_thumbnail(corpus.crop_target_jpeg((600, 300))))
    assert thumb.size == (200, 200)
    for x in (0.0, 0.99):
        assert_colour(pixel(thumb, x, 0.5), corpus.GREEN)
    assert_colour(pixel(thumb, 0.5, 0.5), corpus.GREEN)
    assert_colour(pixel(thumb, 0.5, 0.0), corpus.RED, 30)
    assert_colour(pixel(thumb, 0.5, 0.995), corpus.BLUE, 30)


def test_thumbnail_of_tall_image_crops_top_and_bottom() -> None:
    tall = corpus.crop_target((600, 300)).transpose(Image.Transpose.ROTATE_90)
    output = io.BytesIO()
    tall.save(output, "PNG")
    thumb = open_jpeg(ImageProcessor.create_thumbnail(output.getvalue(), (100, 100)))
    assert thumb.size == (100, 100)
    assert_colour(pixel(thumb, 0.5, 0.0), corpus.GREEN)
    assert_colour(pixel(thumb, 0.5, 0.99), corpus.GREEN)


def test_thumbnail_of_tiny_image_is_enlarged_to_exact_size() -> None:
    thumb = open_jpeg(ImageProcessor.create_thumbnail(corpus.plain_jpeg((40, 30))))
    assert thumb.size == (200, 200)


def test_seed_static_calls_with_defaults_and_positional_sizes() -> None:
    data = corpus.textured_jpeg((1600, 1200))
    assert open_jpeg(ImageProcessor.resize_image(data)).size == (800, 600)
    assert open_jpeg(ImageProcessor.resize_image(data, (400, 400))).size == (400, 300)
    assert open_jpeg(ImageProcessor.create_thumbnail(data)).size == (200, 200)
    assert open_jpeg(ImageProcessor.create_thumbnail(data, (64, 48))).size == (64, 48)
    assert open_jpeg(ImageProcessor().resize_image(data)).size == (800, 600)


def test_main_size_matches_the_seed_rounding() -> None:
    """Same dimensions as the seed's ``Image.thumbnail`` for awkward aspect ratios."""
    for size in [(1001, 333), (333, 1001), (997, 801), (2, 1999)]:
        image = Image.new("RGB", size, corpus.GREY)
        output = io.BytesIO()
        image.save(output, "PNG")
        expected = image.copy()
        expected.thumbnail((800, 800))
        assert ImageProcessor.render(output.getvalue()).main_size == expected.size


@pytest.mark.parametrize(
    "make", [corpus.exif_rotated_jpeg, corpus.textured_jpeg, corpus.rgba_png, corpus.heic]
)
def test_render_equals_the_two_single_calls(make: Callable[[], bytes]) -> None:
    data = make()
    result = ImageProcessor.render(data)
    single_main = open_jpeg(ImageProcessor.resize_image(data))
    single_thumb = open_jpeg(ImageProcessor.create_thumbnail(data))
    main, thumb = open_jpeg(result.main), open_jpeg(result.require_thumbnail())
    assert main.size == single_main.size == result.main_size
    assert thumb.size == single_thumb.size
    assert mean_abs_diff(main, single_main) < 0.5
    assert mean_abs_diff(thumb, single_thumb) < 2


def test_render_reports_quality_settings_in_file_size() -> None:
    """Quality 85 for the main image, 80 for the thumbnail, as the seed used."""
    data = corpus.textured_jpeg((800, 800))
    result = ImageProcessor.render(data, main_size=(200, 200))
    assert len(result.main) > len(result.require_thumbnail())


def test_concurrent_calls_give_the_same_bytes_as_sequential_ones() -> None:
    """Threads share the resampling pool and cached colour transforms: no interference."""
    inputs = [corpus.textured_jpeg((1800, 1200)), corpus.icc_jpeg(), corpus.rgba_png()] * 4
    sequential = [ImageProcessor.render(data) for data in inputs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        concurrent = list(pool.map(ImageProcessor.render, inputs))
    assert concurrent == sequential
