"""Untrusted bytes either render or raise ImageRejected: never anything else."""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wearit_storage.errors import ImageRejected
from wearit_storage.imaging import ImageLimits, ImageProcessor, Renditions

from . import corpus

# Pillow warns (UserWarning) about the damaged EXIF blocks these inputs are full of.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

LIMITS = ImageLimits(max_pixels=4_000_000)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def seeds() -> tuple[bytes, ...]:
    return (
        corpus.plain_jpeg((64, 48)),
        corpus.exif_rotated_jpeg((64, 48)),
        corpus.png((64, 48)),
        corpus.rgba_png((40, 40)),
        corpus.palette_png_with_transparency((40, 40)),
        corpus.webp((64, 48)),
        corpus.heic((64, 48)),
        corpus.icc_jpeg((32, 32)),
        corpus.cmyk_jpeg((32, 16)),
        corpus.avif((64, 48)),
    )


def _render_or_reject(data: bytes) -> None:
    try:
        result = ImageProcessor.render(data, limits=LIMITS)
    except ImageRejected:
        return
    assert isinstance(result, Renditions)
    assert result.main[:3] == b"\xff\xd8\xff"


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _render_or_reject(data)


@FUZZ
@given(
    seed=st.integers(0, 9),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_mutated_real_images(seed: int, flips: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(seeds()[seed])
    for position, mask in flips:
        data[position % len(data)] ^= mask
    if cut is not None:
        del data[cut % len(data) :]
    _render_or_reject(bytes(data))


MAGIC = [b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"RIFF\x00\x01\x00\x00WEBP"]


@FUZZ
@given(prefix=st.sampled_from(MAGIC), tail=st.binary(max_size=2048))
def test_magic_numbers_followed_by_garbage(prefix: bytes, tail: bytes) -> None:
    _render_or_reject(prefix + tail)
