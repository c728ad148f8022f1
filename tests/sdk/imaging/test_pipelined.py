"""Renditions cut while the JPEG decodes: same filter, same geometry, nothing left running."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from wearit_storage.errors import ImageRejected
from wearit_storage.imaging import ImageLimits, ImageProcessor, decode, pipelined, resampling

from . import corpus
from .helpers import mean_abs_diff, open_jpeg

Box = tuple[float, float, float, float]


def _source(data: bytes, min_size: tuple[float, float]) -> decode.Source:
    source = decode.open_source(data, ImageLimits())
    source.shrink_on_load(min_size)
    return source


def _requests(image_size: tuple[int, int]) -> dict[str, pipelined.Request]:
    """A main image and a centred square cut from it, both needing no block-averaging."""
    width, height = image_size
    whole: Box = (0.0, 0.0, float(width), float(height))
    main = (width * 4 // 5, height * 4 // 5)
    side = float(min(main))
    square: Box = ((main[0] - side) / 2, 0.0, (main[0] + side) / 2, side)
    thumbnail = int(side / 2.5)
    requests = {
        "main": pipelined.Request(main, whole),
        "square": pipelined.Request((thumbnail, thumbnail), square, source="main"),
    }
    assert all(resampling.reduction_factors(r.size, r.box) == (1, 1) for r in requests.values())
    return requests


def _cut_afterwards(
    decoded: Image.Image, requests: dict[str, pipelined.Request]
) -> dict[str, Image.Image]:
    """The same bands, cut one after another from the whole decoded image."""
    done: dict[str, Image.Image] = {}
    for name, request in requests.items():
        base = decoded if request.source is None else done[request.source]
        bands = resampling.split_rows(
            request.size, request.box, pipelined.band_count(request.size, request.box)
        )
        assert len(bands) > 1
        parts = [(band.top, resampling.resample_band(base, band)) for band in bands]
        done[name] = resampling.assemble(decoded.mode, request.size, parts)
    return done


@dataclass(frozen=True)
class _Call:
    requests: dict[str, pipelined.Request]
    overlap: bool


def _spy(monkeypatch: pytest.MonkeyPatch, on_call: Callable[[], object] = tuple) -> list[_Call]:
    """Record what the processor asks the pipeline for (``on_call`` runs before each)."""
    calls: list[_Call] = []
    original = pipelined.resample_while_decoding

    def spied(
        source: decode.Source, requests: dict[str, pipelined.Request], *, overlap: bool
    ) -> dict[str, Image.Image]:
        calls.append(_Call(requests, overlap))
        on_call()
        return original(source, requests, overlap=overlap)

    monkeypatch.setattr(pipelined, "resample_while_decoding", spied)
    return calls


@pytest.mark.parametrize("overlap", [True, False], ids=["while-decoding", "after-decoding"])
def test_bands_equal_the_same_bands_cut_one_by_one_afterwards(overlap: bool) -> None:
    data = corpus.textured_jpeg((3000, 2000))
    source = _source(data, (1000, 660))
    assert source.image is not None
    requests = _requests(source.image.size)
    during = pipelined.resample_while_decoding(source, requests, overlap=overlap)
    expected = _cut_afterwards(_source(data, (1000, 660)).decode(), requests)
    assert during.keys() == expected.keys()
    for name, image in during.items():
        assert image.tobytes() == expected[name].tobytes(), name


def test_results_do_not_depend_on_how_many_renders_run_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Alone, the bands are cut while decoding; beside other renders, after it.
    calls = _spy(monkeypatch)
    data = corpus.textured_jpeg((4000, 3000))
    alone = ImageProcessor.render(data)
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(ImageProcessor.render, [data] * 8))
    assert all(result == alone for result in together)
    assert calls[0].overlap  # alone: cut while decoding
    assert not all(call.overlap for call in calls)  # beside others: after the decode


def test_bands_differ_from_one_lanczos_call_by_rounding_only() -> None:
    data = corpus.textured_jpeg((3000, 2000))
    source = _source(data, (1000, 660))
    assert source.image is not None
    request = _requests(source.image.size)["main"]
    during = pipelined.resample_while_decoding(source, {"main": request}, overlap=True)["main"]
    decoded = _source(data, (1000, 660)).decode()
    single = decoded.resize(request.size, Image.Resampling.LANCZOS, box=request.box)
    difference = ImageChops.difference(during, single)
    # Float band offsets, and the order Pillow picks for its two passes per band.
    assert all(high <= 2 for _, high in ImageStat.Stat(difference).extrema)
    assert max(ImageStat.Stat(difference).mean) < 0.5


def test_a_failed_decode_leaves_no_band_running(monkeypatch: pytest.MonkeyPatch) -> None:
    submitted: list[Future[Any]] = []
    original = resampling.submit

    def recorded(call: Callable[[], Any]) -> Future[Any]:
        future = original(call)
        submitted.append(future)
        return future

    monkeypatch.setattr(f"{pipelined.__name__}.submit", recorded)
    data = corpus.textured_jpeg()
    source = _source(data[: len(data) * 3 // 4], (2400, 1800))
    assert source.image is not None
    with pytest.raises(ImageRejected):
        pipelined.resample_while_decoding(source, _requests(source.image.size), overlap=True)
    assert submitted  # bands of the decoded top were already queued
    assert all(future.done() for future in submitted)


def test_a_failing_band_is_raised_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(image: Image.Image, band: resampling.Band) -> Image.Image:
        raise MemoryError("no room for this band")

    monkeypatch.setattr(f"{pipelined.__name__}.resample_band", broken)
    source = _source(corpus.textured_jpeg(), (2400, 1800))
    assert source.image is not None
    with pytest.raises(MemoryError):
        pipelined.resample_while_decoding(source, _requests(source.image.size), overlap=True)


def test_jpeg_renditions_are_cut_while_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy(monkeypatch)
    data = corpus.textured_jpeg((4000, 3000))
    result = ImageProcessor.render(data)
    assert calls[0].requests == {
        "main": pipelined.Request((800, 600), (0.0, 0.0, 1000.0, 750.0)),
        # Cut from the main image as its rows are finished, as after a whole decode.
        "thumbnail": pipelined.Request((200, 200), (100.0, 0.0, 700.0, 600.0), source="main"),
    }
    main, thumbnail = open_jpeg(result.main), open_jpeg(result.require_thumbnail())
    assert (main.size, thumbnail.size) == ((800, 600), (200, 200))
    # The same pictures as resampling the whole decode at once.
    reference = Image.open(io.BytesIO(data))
    reference.draft(None, (1000, 750))
    assert mean_abs_diff(main, reference.resize((800, 600), Image.Resampling.LANCZOS)) < 1.5


def test_a_thumbnail_needing_block_averaging_is_cut_after_the_decode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A 60x60 thumbnail from the 1600x1200 main image: its 1200x1200 crop is 20x the
    # target, so it is block-averaged first, once the decode and the main image are done.
    calls = _spy(monkeypatch)
    result = ImageProcessor.render(
        corpus.textured_jpeg(), main_size=(1600, 1600), thumbnail_size=(60, 60)
    )
    assert list(calls[0].requests) == ["main"]
    assert open_jpeg(result.require_thumbnail()).size == (60, 60)


@pytest.mark.parametrize("make", [corpus.rgba_png, corpus.webp, corpus.heic, corpus.mpo])
def test_other_sources_are_decoded_first(
    monkeypatch: pytest.MonkeyPatch, make: Callable[[], bytes]
) -> None:
    calls = _spy(monkeypatch)
    ImageProcessor.render(make())
    assert calls == []


def test_a_cmyk_jpeg_is_cut_while_decoding_too(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy(monkeypatch)
    result = ImageProcessor.render(corpus.cmyk_jpeg((1800, 1200)))
    assert list(calls[0].requests) == ["main", "thumbnail"]
    assert open_jpeg(result.main).mode == "RGB"  # converted to sRGB after the cut


def test_a_band_reads_no_row_past_what_it_waits_for() -> None:
    """Rows from ``rows_read`` on may still be garbage when a band runs: scramble them."""
    clean = _source(corpus.textured_jpeg((3000, 2000)), (1000, 660)).decode()
    requests = _requests(clean.size)
    request = requests["main"]
    noise = Image.effect_noise(clean.size, 100).convert(clean.mode)
    for band in resampling.split_rows(
        request.size, request.box, pipelined.band_count(request.size, request.box)
    ):
        rows = band.rows_read(clean.height)
        scrambled = noise.copy()
        scrambled.paste(clean.crop((0, 0, clean.width, rows)), (0, 0))
        expected = resampling.resample_band(clean, band).tobytes()
        assert resampling.resample_band(scrambled, band).tobytes() == expected, band


def test_only_a_render_alone_cuts_while_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    both_inside = threading.Barrier(2, timeout=30)
    # The second render starts while the first is in progress.
    calls = _spy(monkeypatch, on_call=both_inside.wait)
    data = corpus.textured_jpeg()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(ImageProcessor.render, [data, data]))
    assert sorted(call.overlap for call in calls) == [False, True]
