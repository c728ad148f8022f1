"""Geometry of renditions: fit, cover-crop, exact sizes, planning."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageStat

from wearit_storage.imaging import ImageProcessor, geometry, processor
from wearit_storage.imaging.engine import Image as VipsImage
from wearit_storage.imaging.geometry import DCT_HEADROOM, plan

sizes = st.tuples(st.integers(1, 6000), st.integers(1, 6000))
boxes = st.tuples(st.integers(1, 1200), st.integers(1, 1200))


@given(source=sizes, box=boxes)
def test_fit_size_fits_never_upscales_and_keeps_aspect(
    source: tuple[int, int], box: tuple[int, int]
) -> None:
    width, height = geometry.fit_size(source, box)
    assert 1 <= width <= min(box[0], source[0])
    assert 1 <= height <= min(box[1], source[1])
    if source[0] <= box[0] and source[1] <= box[1]:
        assert (width, height) == source
    else:  # one side touches the box, the other is the nearest integer to the ratio
        assert width == box[0] or height == box[1]
        assert abs(width - height * source[0] / source[1]) <= 1 + source[0] / source[1]
        assert abs(height - width * source[1] / source[0]) <= 1 + source[1] / source[0]


@given(source=st.tuples(st.integers(1, 400), st.integers(1, 400)), box=boxes)
def test_fit_size_equals_seed_thumbnail_size(source: tuple[int, int], box: tuple[int, int]) -> None:
    image = Image.new("1", source)
    image.thumbnail(box, Image.Resampling.NEAREST, reducing_gap=None)
    assert geometry.fit_size(source, box) == image.size


@given(source=sizes, target=boxes)
def test_cover_scale_covers_the_target_and_touches_one_side(
    source: tuple[int, int], target: tuple[int, int]
) -> None:
    scale = geometry.cover_scale(source, target)
    assert source[0] * scale >= target[0] - 1e-9
    assert source[1] * scale >= target[1] - 1e-9
    assert min(abs(source[0] * scale - target[0]), abs(source[1] * scale - target[1])) < 1e-6


@settings(max_examples=60, deadline=None)
@given(source=st.tuples(st.integers(1, 3000), st.integers(1, 3000)), target=boxes)
def test_renditions_have_exactly_the_planned_size(
    source: tuple[int, int], target: tuple[int, int]
) -> None:
    image = VipsImage.black(*source, bands=3)
    main_size = geometry.fit_size(source, target)
    main = processor._fit(image, main_size)
    assert (main.width, main.height) == main_size
    thumbnail = processor._cover(image, target)
    assert (thumbnail.width, thumbnail.height) == target


def test_plan_turns_targets_into_stored_orientation() -> None:
    stored = plan((4000, 3000), 6, (800, 400), (300, 100))
    assert stored.main_size == (400, 300)  # displayed 300x400 fits (800, 400)
    assert stored.thumbnail_size == (100, 300)
    upright = plan((4000, 3000), 1, (800, 400), (300, 100))
    assert upright.main_size == (533, 400)
    assert upright.thumbnail_size == (300, 100)


def test_scale_needed_is_the_largest_rendition_scale() -> None:
    assert DCT_HEADROOM == 1.25
    # Main 800x600 of 4000x3000 is 0.2; the 200px thumbnail of the 3000px short side is
    # 0.067, so the main image decides.
    assert plan((4000, 3000), 1, (800, 800), (200, 200)).scale_needed == pytest.approx(0.2)
    assert plan((4000, 3000), 1, None, (200, 200)).scale_needed == pytest.approx(200 / 3000)
    # A panorama: the thumbnail's crop is tiny compared with the width, so it decides.
    assert plan((8000, 1000), 1, (800, 800), (200, 200)).scale_needed == pytest.approx(0.2)
    assert plan((100, 80), 1, (800, 800), (200, 200)).scale_needed == 1.0


def test_thumbnail_comes_from_main_only_with_enough_headroom() -> None:
    # 4000x3000: main 800x600, whose 600x600 centre leaves 3x for 200x200.
    assert plan((4000, 3000), 1, (800, 800), (200, 200)).thumbnail_from_main
    # 4000x1200 panorama: main 800x240 leaves only 1.2x for 200x200.
    assert not plan((4000, 1200), 1, (800, 800), (200, 200)).thumbnail_from_main
    assert not plan((4000, 3000), 1, None, (200, 200)).thumbnail_from_main


def test_box_shrink_keeps_headroom_for_what_is_needed() -> None:
    # 8000x1000 decoded whole, 0.2 needed: 0.4 kept, so the factor is 2.
    assert geometry.box_shrink((8000, 1000), (8000, 1000), 0.2) == 2
    assert geometry.box_shrink((8000, 1000), (8000, 1000), 0.02) == 25
    assert geometry.box_shrink((1000, 125), (8000, 1000), 0.02) == 3  # a 1/8 decode
    assert geometry.box_shrink((100, 80), (100, 80), 1.0) == 1


def test_a_panorama_thumbnail_is_cut_from_the_source_not_the_narrow_main_image() -> None:
    # Vertical stripes: a thumbnail resampled from the 800x100 main image would blur them.
    stripes = Image.new("L", (4000, 500))
    stripes.putdata([255 * ((x // 4) % 2) for _ in range(500) for x in range(4000)])
    output = io.BytesIO()
    stripes.save(output, "PNG")
    rendered = ImageProcessor.render(output.getvalue())
    assert rendered.main_size == (800, 100)
    thumbnail = Image.open(io.BytesIO(rendered.require_thumbnail())).convert("L")
    assert thumbnail.size == (200, 200)
    # 500 source rows -> 200: stripes 4 pixels wide become 1.6 pixels, still visible as
    # contrast, where the main image (0.2 scale: 0.8 pixels) would give flat grey.
    low, high = ImageStat.Stat(thumbnail).extrema[0]
    assert high - low > 60
