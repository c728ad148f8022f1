"""Renditions cut while the JPEG decodes: same filter, same geometry, nothing left running."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from wearit_storage.errors import ImageRejected
from wearit_storage.imaging import ImageLimits, ImageProcessor, decode, pipelined, processor, render

from . import corpus
from .helpers import mean_abs_diff, open_jpeg

Box = tuple[float, float, float, float]


def _source(data: bytes, min_size: tuple[float, float]) -> decode.Source:
    source = decode.open_source(data, ImageLimits())
    source.shrink_on_load(min_size)
    return source


def _requests(image_size: tuple[int, int]) -> list[tuple[tuple[int, int], Box]]:
    """A main image and a centred square, both needing no block-averaging first."""
    width, height = image_size
    whole: Box = (0.0, 0.0, float(width), float(height))
    side = float(min(width, height))
    square: Box = ((width - side) / 2, 0.0, (width + side) / 2, side)
    thumbnail = int(side / 2.5)
    requests = [((width * 4 // 5, height * 4 // 5), whole), ((thumbnail, thumbnail), square)]
    assert all(render.reduction_factors(*request) == (1, 1) for request in requests)
    return requests


def test_bands_cut_while_decoding_equal_the_same_bands_cut_afterwards() -> None:
    data = corpus.textured_jpeg((3000, 2000))
    source = _source(data, (1000, 660))
    requests = _requests(source.image.size if source.image else (0, 0))
    during = pipelined.resample_while_decoding(source, requests)

    after_source = _source(data, (1000, 660))
    decoded = after_source.decode()
    for (size, box), image in zip(requests, during, strict=True):
        bands = render.split_rows(size, box, pipelined.band_count(size, box))
        assert len(bands) > 1
        parts = [(band.top, render.resample_band(decoded, band)) for band in bands]
        expected = render.assemble(decoded.mode, size, parts)
        assert image.tobytes() == expected.tobytes()


def test_bands_differ_from_one_lanczos_call_by_rounding_only() -> None:
    data = corpus.textured_jpeg((3000, 2000))
    source = _source(data, (1000, 660))
    requests = _requests(source.image.size if source.image else (0, 0))
    during = pipelined.resample_while_decoding(source, requests)
    decoded = _source(data, (1000, 660)).decode()
    for (size, box), image in zip(requests, during, strict=True):
        single = decoded.resize(size, Image.Resampling.LANCZOS, box=box)
        difference = ImageChops.difference(image, single)
        # Float band offsets, and the order Pillow picks for its two passes per band.
        assert all(high <= 2 for _, high in ImageStat.Stat(difference).extrema)
        assert max(ImageStat.Stat(difference).mean) < 0.5


def test_a_failed_decode_leaves_no_band_running(monkeypatch: pytest.MonkeyPatch) -> None:
    submitted: list[Future[Any]] = []
    original = render.submit

    def recorded(call: Callable[[], Any]) -> Future[Any]:
        future = original(call)
        submitted.append(future)
        return future

    monkeypatch.setattr(render, "submit", recorded)
    data = corpus.textured_jpeg()
    source = _source(data[: len(data) * 3 // 4], (2400, 1800))
    assert source.image is not None
    requests = _requests(source.image.size)[:1]
    with pytest.raises(ImageRejected):
        pipelined.resample_while_decoding(source, requests)
    assert submitted  # bands of the decoded top were already queued
    assert all(future.done() for future in submitted)


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[tuple[int, int], Box]]]:
    calls: list[list[tuple[tuple[int, int], Box]]] = []
    original = pipelined.resample_while_decoding

    def spied(source: decode.Source, requests: Any) -> list[Image.Image]:
        calls.append(list(requests))
        return original(source, calls[-1])

    monkeypatch.setattr(f"{processor.__name__}.resample_while_decoding", spied)
    return calls


def test_jpeg_renditions_are_cut_while_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy(monkeypatch)
    data = corpus.textured_jpeg((4000, 3000))
    result = ImageProcessor.render(data)
    assert [size for size, _ in calls[0]] == [(800, 600), (200, 200)]
    main, thumbnail = open_jpeg(result.main), open_jpeg(result.require_thumbnail())
    assert (main.size, thumbnail.size) == ((800, 600), (200, 200))
    # The same pictures as resampling the whole decode at once.
    reference = Image.open(io.BytesIO(data))
    reference.draft(None, (1000, 750))
    assert mean_abs_diff(main, reference.resize((800, 600), Image.Resampling.LANCZOS)) < 1.5


def test_a_thumbnail_needing_block_averaging_is_cut_after_the_decode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 2400x1800 decoded at 1/2 for the main image: the 900x900 thumbnail crop is 4.5x its
    # target, so it is block-averaged and cut once the image is decoded (from the main).
    calls = _spy(monkeypatch)
    result = ImageProcessor.render(corpus.textured_jpeg())
    assert [size for size, _ in calls[0]] == [(800, 600)]
    assert open_jpeg(result.require_thumbnail()).size == (200, 200)


@pytest.mark.parametrize(
    "make", [corpus.rgba_png, corpus.webp, corpus.heic, corpus.mpo, corpus.cmyk_jpeg]
)
def test_other_sources_are_decoded_first(
    monkeypatch: pytest.MonkeyPatch, make: Callable[[], bytes]
) -> None:
    calls = _spy(monkeypatch)
    ImageProcessor.render(make())
    if make is corpus.cmyk_jpeg:  # a JPEG in a working mode: cut while decoding
        assert len(calls) == 1
    else:
        assert calls == []
