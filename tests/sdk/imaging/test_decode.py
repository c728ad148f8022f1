"""Header-first decoding: sniffing, draft scaling, pixel loading."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile

from wearit_storage.errors import ImageRejected
from wearit_storage.imaging import ImageLimits, decode
from wearit_storage.imaging.limits import MEGABYTE

from . import corpus


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (corpus.plain_jpeg((8, 8)), "JPEG"),
        (corpus.png((8, 8)), "PNG"),
        (corpus.webp((8, 8)), "WEBP"),
        (corpus.heic((16, 16)), "HEIF"),
        (corpus.gif(), "GIF"),
        (corpus.bmp(), "BMP"),
        (corpus.tiff(), "TIFF"),
        (b"%PDF-1.7\n", "PDF"),
        (b'  <svg xmlns="http://www.w3.org/2000/svg"/>', "SVG/XML"),
        (corpus.TEXT_NAMED_JPG, None),
        (b"", None),
    ],
)
def test_sniff_format(data: bytes, name: str | None) -> None:
    assert decode.sniff_format(data) == name


@pytest.mark.parametrize(
    ("count", "text"), [(5, "5 bytes"), (10 * 1024, "10 KB"), (25 * MEGABYTE, "25 MB")]
)
def test_human_bytes(count: int, text: str) -> None:
    assert decode.human_bytes(count) == text


def _header(data: bytes) -> ImageFile.ImageFile:
    return decode.open_header(data, ImageLimits())


@pytest.mark.parametrize(
    ("min_size", "expected"),
    [
        ((2400, 1800), (2400, 1800)),  # nothing to gain
        ((1600, 1200), (2400, 1800)),  # 1/2 would give 1200 < 1600
        ((1200, 900), (1200, 900)),
        ((800, 600), (1200, 900)),  # 1/4 would give 600x450 < 800x600
        ((400, 300), (600, 450)),
        ((10, 10), (300, 225)),  # 1/8 is the smallest DCT scale
    ],
)
def test_draft_picks_the_smallest_scale_that_keeps_min_size(
    min_size: tuple[int, int], expected: tuple[int, int]
) -> None:
    image = _header(corpus.textured_jpeg((2400, 1800)))
    frame = decode.draft_for(image, min_size)
    decode.load_pixels(image)
    assert image.size == expected
    assert frame == (0, 0, expected[0], expected[1])


def test_draft_box_covers_the_source_when_dct_scaling_rounds_up() -> None:
    image = _header(corpus.plain_jpeg((1001, 601)))
    frame = decode.draft_for(image, (100, 60))
    assert image.size == (126, 76)  # ceil(1001 / 8), ceil(601 / 8)
    assert frame == (0, 0, 1001 / 8, 601 / 8)


def test_draft_is_a_no_op_for_formats_without_scaled_decoding() -> None:
    image = _header(corpus.png((800, 600)))
    assert decode.draft_for(image, (10, 10)) == (0.0, 0.0, 800.0, 600.0)
    decode.load_pixels(image)
    assert image.size == (800, 600)


def test_open_header_does_not_decode_pixels() -> None:
    image = _header(corpus.textured_jpeg((1200, 900)))
    assert image.tile  # still pending: nothing decoded yet


def test_load_pixels_turns_decoder_errors_into_rejections() -> None:
    image = Image.open(io.BytesIO(corpus.truncated_jpeg()))
    with pytest.raises(ImageRejected, match="truncated or corrupt") as caught:
        decode.load_pixels(image)
    assert isinstance(caught.value.__cause__, OSError)  # original error kept for operators


def test_source_format_maps_mpo_to_jpeg() -> None:
    assert decode.source_format(_header(corpus.mpo())) == "JPEG"


def test_load_pixels_rejects_pixels_that_disagree_with_the_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Damaged HEIF files can make libheif decode fewer rows than the header declared.
    image = Image.open(io.BytesIO(corpus.png((64, 48))))
    real_load = image.load

    def short_load() -> object:
        result = real_load()
        image._size = (64, 13)
        return result

    monkeypatch.setattr(image, "load", short_load)
    with pytest.raises(ImageRejected, match="declares 64x48 pixels but 64x13 were decoded"):
        decode.load_pixels(image)
