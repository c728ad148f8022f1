"""Decoding a JPEG in steps: the same pixels as ``load()``, rows reported only once final."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile

from wearit_storage.errors import ImageRejected
from wearit_storage.imaging import ImageLimits, decode, incremental

from . import corpus


def _opened(data: bytes, draft: tuple[int, int] | None = None) -> ImageFile.ImageFile:
    image = Image.open(io.BytesIO(data))
    assert isinstance(image, ImageFile.ImageFile)
    if draft is not None:
        image.draft(None, draft)
    return image


def _loaded(data: bytes, draft: tuple[int, int] | None = None) -> Image.Image:
    image = _opened(data, draft)
    image.load()
    return image


def _progressive_jpeg() -> bytes:
    output = io.BytesIO()
    Image.open(io.BytesIO(corpus.textured_jpeg((1200, 900)))).save(
        output, "JPEG", quality=90, progressive=True
    )
    return output.getvalue()


@pytest.mark.parametrize(
    ("data", "draft"),
    [
        (corpus.textured_jpeg(), None),
        (corpus.textured_jpeg(), (600, 450)),  # DCT-scaled, as renders decode
        (_progressive_jpeg(), None),
        (corpus.cmyk_jpeg((900, 700)), None),
        (corpus.plain_jpeg((1, 1)), None),
    ],
    ids=["baseline", "dct-scaled", "progressive", "cmyk", "1px"],
)
def test_pixels_equal_those_of_load(data: bytes, draft: tuple[int, int] | None) -> None:
    image = _opened(data, draft)
    reported: list[int] = []
    incremental.load_incrementally(image, reported.append)
    assert image.tobytes() == _loaded(data, draft).tobytes()
    assert reported[-1] == image.height
    assert reported == sorted(set(reported))  # strictly increasing


def test_rows_are_reported_while_decoding_and_only_once_final() -> None:
    """What ``on_rows(n)`` reports as final must already be what the end result holds."""
    data = corpus.textured_jpeg()
    image = _opened(data)
    snapshots: list[tuple[int, bytes]] = []

    def snapshot(rows: int) -> None:
        # A view over the pixel memory being written (the JPEG image itself would decode).
        pixels = image._new(image.im)
        snapshots.append((rows, pixels.crop((0, 0, image.width, rows)).tobytes()))

    incremental.load_incrementally(image, snapshot)
    assert len(snapshots) > 5  # rows arrive in many steps, not only at the end
    assert snapshots[0][0] < image.height
    for rows, pixels in snapshots:
        assert pixels == image.crop((0, 0, image.width, rows)).tobytes(), rows


def test_progressive_jpegs_report_their_rows_at_the_end() -> None:
    # libjpeg reads a whole progressive file before it outputs its first row.
    image = _opened(_progressive_jpeg())
    reported: list[int] = []
    incremental.load_incrementally(image, reported.append)
    assert reported == [image.height]


def test_a_decoder_layout_that_does_not_match_falls_back_to_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Read the width where the height should be: the layout check must notice.
    monkeypatch.setattr(incremental, "_YSIZE", incremental._XSIZE)
    data = corpus.textured_jpeg()
    image = _opened(data)
    reported: list[int] = []
    incremental.load_incrementally(image, reported.append)
    assert reported == [image.height]
    assert image.tobytes() == _loaded(data).tobytes()


def test_formats_other_than_plain_jpeg_are_loaded_whole() -> None:
    for data in (corpus.mpo(), corpus.png(), corpus.webp()):
        image = _opened(data)
        assert not incremental.can_load_incrementally(image)
        reported: list[int] = []
        incremental.load_incrementally(image, reported.append)
        assert reported == [image.height]
        assert image.tobytes() == _loaded(data).tobytes()


def test_a_truncated_jpeg_is_rejected_after_reporting_only_decoded_rows() -> None:
    source = decode.open_source(corpus.truncated_jpeg(), ImageLimits())
    reported: list[int] = []
    with pytest.raises(ImageRejected) as caught:
        source.decode(reported.append)
    assert caught.value.reason == "corrupt"
    assert "truncated" in str(caught.value)
    assert reported  # the first half was decoded, and reported, before the data ran out
    assert max(reported) < source.size[1]


def test_a_failing_row_callback_is_not_blamed_on_the_upload() -> None:
    source = decode.open_source(corpus.textured_jpeg(), ImageLimits())

    def broken(rows: int) -> None:
        raise RuntimeError("the caller's own bug")

    with pytest.raises(RuntimeError, match="the caller's own bug"):
        source.decode(broken)


def test_truncated_images_allowed_by_the_app_are_left_to_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # load() pads a truncated JPEG when an application allows it: same answer either way.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    assert not incremental.can_load_incrementally(_opened(corpus.textured_jpeg()))
