"""Header-first opening: sniffing, one decoder per family, shrink-on-load, decode failures."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from wearit_storage.errors import ImageRejected
from wearit_storage.imaging import ImageLimits, ImageProcessor, checks, sources
from wearit_storage.imaging.limits import MEGABYTE

from . import corpus
from .helpers import assert_colour, open_jpeg, pixel


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (corpus.plain_jpeg((8, 8)), "JPEG"),
        (corpus.png((8, 8)), "PNG"),
        (corpus.webp((8, 8)), "WEBP"),
        (corpus.avif((8, 8)), "AVIF"),
        (corpus.heic((16, 16)), "HEIF"),
        (corpus.gif(), "GIF"),
        (corpus.bmp(), "BMP"),
        (corpus.tiff(), "TIFF"),
        (b"%PDF-1.7\n", "PDF"),
        (b'  <svg xmlns="http://www.w3.org/2000/svg"/>', "SVG/XML"),
        (corpus.TEXT_NAMED_JPG, None),
        (b"", None),
        # A generic HEIF major brand whose compatible brands say AV1: an AVIF.
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1avif", "AVIF"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "HEIF"),
    ],
)
def test_sniff_format(data: bytes, name: str | None) -> None:
    assert checks.sniff_format(data) == name


@pytest.mark.parametrize(
    ("count", "text"), [(5, "5 bytes"), (10 * 1024, "10 KB"), (25 * MEGABYTE, "25 MB")]
)
def test_human_bytes(count: int, text: str) -> None:
    assert checks.human_bytes(count) == text


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (1.0, (2400, 1800)),  # nothing to gain
        (0.6, (2400, 1800)),  # 1/2 would leave 0.5 < 1.25 * 0.6
        (0.4, (1200, 900)),
        (0.3, (1200, 900)),  # 1/4 would leave 0.25 < 1.25 * 0.3
        (0.2, (600, 450)),
        (0.01, (300, 225)),  # 1/8 is the smallest DCT scale
    ],
)
def test_jpeg_shrinks_while_decoding_and_keeps_dct_headroom(
    scale: float, expected: tuple[int, int]
) -> None:
    source = sources.open_source(corpus.textured_jpeg((2400, 1800)), ImageLimits())
    decoded = source.decode(scale)
    assert (decoded.width, decoded.height) == expected
    assert source.held_bytes(scale) == 0  # streamed: no whole frame held


def test_dct_scaling_rounds_sizes_down() -> None:
    # libvips drops the partial last block column and row: at most 7 source pixels.
    source = sources.open_source(corpus.plain_jpeg((1001, 601)), ImageLimits())
    decoded = source.decode(0.01)
    assert (decoded.width, decoded.height) == (125, 75)


def test_webp_is_rescaled_while_decoding_with_full_headroom() -> None:
    output = io.BytesIO()
    Image.effect_noise((3000, 2000), 40).convert("RGB").save(output, "WEBP", quality=80)
    source = sources.open_source(output.getvalue(), ImageLimits())
    decoded = source.decode(0.2)
    assert (decoded.width, decoded.height) == (1200, 800)  # 2 x 0.2 of the source
    # The scaled frame, plus the full-size canvas libwebp keeps for a lossless image.
    assert source.held_bytes(0.2) == 3 * 1200 * 800 + 4 * 3000 * 2000


def test_formats_without_shrink_on_load_decode_whole() -> None:
    for data in (corpus.png((800, 600)), corpus.avif((800, 600)), corpus.heic((800, 600))):
        decoded = sources.open_source(data, ImageLimits()).decode(0.1)
        assert (decoded.width, decoded.height) == (800, 600)


def test_opening_reads_the_header_only() -> None:
    # A JPEG cut in its scan data (long enough for the scan check) opens, size and
    # orientation known, and fails only when its pixels are computed.
    data = corpus.exif_rotated_jpeg((1200, 900))
    cut = data[: len(data) * 2 // 3]
    source = sources.open_source(cut, ImageLimits())
    assert (source.format, source.size, source.orientation) == ("JPEG", (1200, 900), 6)
    with pytest.raises(ImageRejected, match="truncated or corrupt") as caught:
        ImageProcessor.render(cut)
    assert caught.value.reason == "corrupt"


def test_decoder_errors_become_rejections_with_the_cause_kept() -> None:
    with pytest.raises(ImageRejected, match="truncated or corrupt") as caught:
        ImageProcessor.render(corpus.truncated_jpeg())
    assert caught.value.__cause__ is not None  # the decoder's error, for operators


def test_mpo_is_reported_as_jpeg() -> None:
    assert sources.open_source(corpus.mpo(), ImageLimits()).format == "JPEG"


def test_heic_decoding_fewer_pixels_than_declared_is_corrupt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Damaged HEIF files can make libheif decode fewer rows than the header declared.
    import pillow_heif

    opened = pillow_heif.open_heif(corpus.heic((64, 48)))
    rows = bytes(opened.data)[: 192 * 13]
    short = type("Short", (), {"size": (64, 48), "mode": "RGB", "stride": 192, "info": {}})()
    short.data = rows
    monkeypatch.setattr(pillow_heif, "open_heif", lambda data, **kwargs: short)
    with pytest.raises(ImageRejected, match="declares 64x48 pixels but fewer were decoded"):
        ImageProcessor.render(corpus.heic((64, 48)))


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_exif_orientation_is_read_from_png_and_webp_headers(fmt: str, orientation: int) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    output = io.BytesIO()
    corpus.quadrant_image((400, 200)).save(output, fmt, exif=exif.tobytes())
    source = sources.open_source(output.getvalue(), ImageLimits())
    assert source.orientation == orientation
    shown = (200, 400) if orientation in (6, 8) else (400, 200)
    assert ImageProcessor.render(output.getvalue()).source_size == shown


def test_avif_rotation_is_applied_by_its_decoder_once() -> None:
    # Pillow writes the EXIF orientation as the container's rotation (irot): libheif
    # applies it while decoding, so nothing rotates the pixels a second time.
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    result = ImageProcessor.render(corpus.avif((300, 200), exif=exif.tobytes()))
    assert result.source_size == (200, 300)
    main = open_jpeg(result.main)
    assert_colour(pixel(main, 0.1, 0.1), corpus.QUADRANTS["bottom_left"], 16)
    assert_colour(pixel(main, 0.9, 0.1), corpus.QUADRANTS["top_left"], 16)
