"""Pure geometry of renditions (fit, cover-crop, box mapping, planning)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageStat

from wearit_storage.imaging import resampling
from wearit_storage.imaging.processor import DCT_HEADROOM, _pick_thumbnail_base, plan

sizes = st.tuples(st.integers(1, 6000), st.integers(1, 6000))
boxes = st.tuples(st.integers(1, 1200), st.integers(1, 1200))


@given(source=sizes, box=boxes)
def test_fit_size_fits_never_upscales_and_keeps_aspect(
    source: tuple[int, int], box: tuple[int, int]
) -> None:
    width, height = resampling.fit_size(source, box)
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
    assert resampling.fit_size(source, box) == image.size


@given(source=sizes, target=boxes)
def test_cover_box_is_centred_inside_source_with_target_aspect(
    source: tuple[int, int], target: tuple[int, int]
) -> None:
    left, top, right, bottom = resampling.cover_box(source, target)
    eps = 1e-6 * max(source)
    assert -eps <= left <= right <= source[0] + eps
    assert -eps <= top <= bottom <= source[1] + eps
    assert abs(left - (source[0] - right)) <= eps
    assert abs(top - (source[1] - bottom)) <= eps
    assert abs((right - left) * target[1] - (bottom - top) * target[0]) <= eps * max(target)
    # The crop is as large as possible: it touches two opposite sides.
    assert abs(right - left - source[0]) <= eps or abs(bottom - top - source[1]) <= eps


def test_map_box_scales_into_a_fractional_frame() -> None:
    frame = (0.0, 0.0, 500.0, 375.0)  # a 4000x3000 source DCT-scaled by 1/8
    assert resampling.map_box((800, 600, 2400, 1800), (4000, 3000), frame) == (
        100.0,
        75.0,
        300.0,
        225.0,
    )


def test_scale_of_uses_the_larger_factor() -> None:
    assert resampling.scale_of((0, 0, 400, 100), (200, 100)) == 1.0


def test_plan_turns_targets_into_stored_orientation() -> None:
    stored = plan((4000, 3000), 6, (800, 400), (300, 100))
    assert stored.main_size == (400, 300)  # displayed 300x400 fits (800, 400)
    assert stored.thumbnail_size == (100, 300)
    upright = plan((4000, 3000), 1, (800, 400), (300, 100))
    assert upright.main_size == (533, 400)
    assert upright.thumbnail_size == (300, 100)


def test_min_decode_size_keeps_headroom_for_both_renditions() -> None:
    assert DCT_HEADROOM == 1.25
    # Main 800x600 needs 1000x750; the 200px thumbnail crop of the 3000px short side
    # needs only 1.25*200/3000 of the source, so the main image decides.
    assert plan((4000, 3000), 1, (800, 800), (200, 200)).min_decode_size == (1000.0, 750.0)
    # Thumbnail alone: 1.25*200 on the short side.
    only_thumb = plan((4000, 3000), 1, None, (200, 200)).min_decode_size
    assert only_thumb == pytest.approx((4000 * 250 / 3000, 250.0))
    # A panorama: the thumbnail crop is tiny compared with the width, so it decides.
    panorama = plan((8000, 1000), 1, (800, 800), (200, 200)).min_decode_size
    assert panorama == (2000.0, 250.0)


def test_min_decode_size_never_exceeds_the_source() -> None:
    assert plan((100, 80), 1, (800, 800), (200, 200)).min_decode_size == (100.0, 80.0)


def test_thumbnail_comes_from_main_only_with_enough_headroom() -> None:
    # 4000x3000 source decoded at 1/2; main 800x600; square crop 600x600 of main -> 200:
    # 3x headroom, so the small main image is the base.
    work, frame = Image.new("RGB", (2000, 1500)), (0.0, 0.0, 2000.0, 1500.0)
    roomy = Image.new("RGB", (800, 600))
    crop = resampling.cover_box((4000, 3000), (200, 200))
    base, box = _pick_thumbnail_base(work, frame, roomy, (4000, 3000), crop, (200, 200))
    assert base is roomy
    assert box == pytest.approx((100.0, 0.0, 700.0, 600.0))

    # 4000x1200 panorama decoded at 1/2; main 800x240 leaves only 1.2x for 200x200, so
    # the thumbnail must come from the decoded image (600x600 crop: 3x).
    work, frame = Image.new("RGB", (2000, 600)), (0.0, 0.0, 2000.0, 600.0)
    narrow = Image.new("RGB", (800, 240))
    crop = resampling.cover_box((4000, 1200), (200, 200))
    base, box = _pick_thumbnail_base(work, frame, narrow, (4000, 1200), crop, (200, 200))
    assert base is work
    assert box == pytest.approx((700.0, 0.0, 1300.0, 600.0))


def test_banded_resample_equals_one_pass() -> None:
    source = Image.effect_noise((1500, 1100), 60).convert("RGB")
    single = source.resize((700, 550), Image.Resampling.LANCZOS)
    assert resampling.band_count((700, 550)) > 1
    banded = resampling.resample(source, (700, 550), (0.0, 0.0, 1500.0, 1100.0))
    assert ImageChops.difference(banded, single).getbbox() is None  # exact band edges


def test_banded_resample_with_fractional_box_differs_by_rounding_only() -> None:
    source = Image.effect_noise((1500, 1100), 60).convert("RGB")
    box = (3.25, 1.5, 1497.0, 1099.75)
    banded = resampling.resample(source, (700, 513), box)
    single = source.resize((700, 513), Image.Resampling.LANCZOS, box=box)
    difference = ImageChops.difference(banded, single)
    assert all(high <= 1 for _, high in ImageStat.Stat(difference).extrema)
    assert ImageStat.Stat(difference).mean[0] < 0.001


def test_small_outputs_are_not_split() -> None:
    assert resampling.band_count((200, 200)) == 1
    assert resampling.band_count((5000, 1)) == 1


@pytest.mark.parametrize(
    ("size", "box"),
    [((800, 600), (0.0, 0.0, 4000.0, 3000.0)), ((700, 400), (13.3, 7.7, 3990.1, 2999.0))],
)
def test_large_reductions_match_pillow_reducing_gap(
    size: tuple[int, int], box: tuple[float, float, float, float]
) -> None:
    """Block-averaging once, then Lanczos in bands, equals Pillow's own two-step resize."""
    source = Image.effect_noise((4000, 3000), 60).convert("RGB")
    reduced, _ = resampling.reduce_for(source, size, box)
    assert reduced.width < source.width  # the block-averaging step really ran
    banded = resampling.resample(source, size, box)
    expected = source.resize(
        size, Image.Resampling.LANCZOS, box=box, reducing_gap=resampling.HEADROOM
    )
    difference = ImageChops.difference(banded, expected)
    assert all(high <= 1 for _, high in ImageStat.Stat(difference).extrema)
    assert ImageStat.Stat(difference).mean[0] < 0.001


def test_reduce_for_leaves_headroom() -> None:
    image = Image.new("RGB", (4000, 3000))
    reduced, box = resampling.reduce_for(image, (800, 600), (0.0, 0.0, 4000.0, 3000.0))
    assert reduced.size == (2000, 1500)
    assert box == (0.0, 0.0, 2000.0, 1500.0)
    small = Image.new("RGB", (1500, 1100))
    assert resampling.reduce_for(small, (800, 600), (0.0, 0.0, 1500.0, 1100.0))[0] is small
