"""Small files that declare many pixels, lying JPEG headers, and bounded decoding memory.

Memory itself is measured in ``benchmarks/bench_image_memory.py``; these tests pin the
mechanisms: the bomb check runs for every image, conversions happen band by band, still
WebPs never reach Pillow's canvas-allocating opener, and renders wait for the budget.
"""

from __future__ import annotations

import io
import struct
import threading
import time
from collections.abc import Callable

import pytest
from PIL import Image, ImageChops, ImageStat

from wearit_storage.errors import ImageRejected
from wearit_storage.imaging import ImageLimits, ImageProcessor, decode, normalize, resampling, webp
from wearit_storage.imaging.budget import MemoryBudget, budget_for
from wearit_storage.imaging.jpeg_scan import find_shortfall

from . import corpus
from .helpers import mean_abs_diff


def _flat(mode: str, size: tuple[int, int], fmt: str, **params: object) -> bytes:
    colour: object = (10, 200, 30, 0) if mode == "RGBA" else 0
    output = io.BytesIO()
    Image.new(mode, size, colour).save(output, fmt, **params)  # type: ignore[arg-type]
    return output.getvalue()


def _patched_jpeg(size: tuple[int, int], **params: object) -> bytes:
    """A 16x16 JPEG whose frame header is patched to declare ``size``."""
    data = bytearray(_flat("RGB", (16, 16), "JPEG", **params))
    sof = next(data.index(m) for m in (b"\xff\xc0", b"\xff\xc2") if m in data)
    struct.pack_into(">HH", data, sof + 5, size[1], size[0])
    return bytes(data)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        # The case: 49 MP in a couple of KB, under max_pixels, so only the ratio
        # catches it (it used to cost 1.17 GB).
        ("lossless WebP RGBA", _flat("RGBA", (7000, 7000), "WEBP", lossless=True)),
        ("PNG RGBA", _flat("RGBA", (7000, 7000), "PNG")),
        ("PNG palette", _flat("P", (7000, 7000), "PNG")),
    ],
)
def test_a_small_file_declaring_many_pixels_is_a_bomb_even_under_max_pixels(
    name: str, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ImageLimits().max_pixels > 7000 * 7000
    monkeypatch.setattr(decode, "decode_webp", _forbidden)
    monkeypatch.setattr(Image.Image, "load", _forbidden)
    with pytest.raises(ImageRejected) as caught:
        ImageProcessor.render(data)
    assert caught.value.reason == "decompression_bomb", name


def _forbidden(*args: object, **kwargs: object) -> None:
    raise AssertionError("pixels were decoded before the image was rejected")


def test_small_flat_images_stay_exempt_from_the_ratio() -> None:
    # A 1000x1000 flat PNG is ~3,000 pixels per byte and costs 4 MB to decode: accepted.
    rendered = ImageProcessor.render(_flat("RGBA", (1000, 1000), "PNG"))
    assert rendered.main_size == (800, 800)


@pytest.mark.parametrize("params", [{}, {"progressive": True}, {"optimize": True}])
def test_a_jpeg_whose_header_lies_about_its_size_is_corrupt(params: dict[str, object]) -> None:
    # 1000x1000 is under the small-image exemption, so only the scan length catches it;
    # libjpeg alone would return a uniform grey picture and report success.
    data = _patched_jpeg((1000, 1000), **params)
    with pytest.raises(ImageRejected) as caught:
        ImageProcessor.render(data)
    assert caught.value.reason == "corrupt"
    assert "1000x1000" in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        _flat("RGB", (1, 1), "JPEG"),
        _flat("RGB", (3000, 4000), "JPEG"),
        _flat("RGB", (3000, 4000), "JPEG", progressive=True, optimize=True),
        _flat("L", (2048, 2048), "JPEG", quality=1),
        corpus.textured_jpeg(),
        corpus.cmyk_jpeg(),
        corpus.mpo(),
        corpus.exif_rotated_jpeg(),
    ],
    ids=["1px", "flat-12mp", "flat-progressive", "grey-q1", "textured", "cmyk", "mpo", "exif"],
)
def test_valid_jpegs_have_enough_scan_data(data: bytes) -> None:
    assert find_shortfall(data) is None


def _sequential_jpeg(ids: list[int], scans: list[tuple[list[int], int]]) -> bytes:
    """A 64x64 baseline JPEG skeleton: one frame with component ``ids``, then each scan
    listing its components and holding that many bytes of entropy-coded data."""
    frame = struct.pack(">BHHB", 8, 64, 64, len(ids)) + b"".join(
        bytes([ident, 0x11, 0]) for ident in ids
    )
    out = b"\xff\xd8\xff\xc0" + struct.pack(">H", 2 + len(frame)) + frame
    for components, length in scans:
        header = bytes([len(components)]) + b"".join(bytes([c, 0]) for c in components)
        header += bytes([0, 63, 0])
        out += b"\xff\xda" + struct.pack(">H", 2 + len(header)) + header + b"\x55" * length
    return out + b"\xff\xd9"


def test_a_scan_listing_a_component_again_needs_its_blocks_again() -> None:
    # 64 blocks per listing; three listings need 192 bits, 10 bytes hold 80.
    assert find_shortfall(_sequential_jpeg([1, 1, 1], [([1, 1, 1], 10)])) is not None
    assert find_shortfall(_sequential_jpeg([1, 1, 1], [([1, 1, 1], 24)])) is None


def test_a_short_scan_is_found_until_every_component_is_judged() -> None:
    # Two components in two scans: the second one's data is too short for its 64 blocks.
    assert find_shortfall(_sequential_jpeg([1, 2], [([1], 16), ([2], 16)])) is None
    shortfall = find_shortfall(_sequential_jpeg([1, 2], [([1], 16), ([2], 2)]))
    assert shortfall is not None
    assert (shortfall.blocks, shortfall.bits) == (64, 16)


def test_scan_walk_leaves_garbage_to_the_decoder() -> None:
    for data in (b"", b"\xff\xd8", b"\xff\xd8\xff\xc0\x00", b"\xff\xd8" + b"\x00" * 50):
        assert find_shortfall(data) is None


@pytest.mark.parametrize(
    ("mode", "data"),
    [
        ("RGBA", corpus.rgba_png((1500, 1100))),
        ("LA", corpus.la_png((1500, 1100))),
        ("P", corpus.palette_png_with_transparency((1500, 1100))),
    ],
)
def test_band_by_band_conversion_matches_a_whole_image_conversion(
    mode: str, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded = Image.open(io.BytesIO(data))
    decoded.load()
    assert decoded.mode == mode
    box = (0.0, 0.0, float(decoded.width), float(decoded.height))
    whole = resampling.resample(normalize.to_working_mode(decoded), (700, 513), box)
    # Tiny bands: many seams, each of which must be invisible.
    monkeypatch.setattr(resampling, "CONVERT_BAND_BYTES", 64 * 1024)
    banded = resampling.resample(decoded, (700, 513), box, normalize.to_working_mode)
    assert banded.mode == whole.mode
    difference = ImageChops.difference(banded, whole)
    assert max(high for _, high in ImageStat.Stat(difference).extrema) <= 2


def test_band_conversion_never_converts_the_whole_image(monkeypatch: pytest.MonkeyPatch) -> None:
    data = corpus.rgba_png((2000, 1500))
    converted: list[tuple[int, int]] = []
    original = normalize.to_working_mode

    def spy(image: Image.Image) -> Image.Image:
        converted.append(image.size)
        return original(image)

    monkeypatch.setattr(normalize, "to_working_mode", spy)
    monkeypatch.setattr(resampling, "CONVERT_BAND_BYTES", 256 * 1024)
    rendered = ImageProcessor.render(data)
    assert rendered.main_size == (800, 600)
    assert len(converted) > 4
    assert all(width * height < 2000 * 1500 / 4 for width, height in converted)


def test_still_webp_is_decoded_without_pillows_opener(monkeypatch: pytest.MonkeyPatch) -> None:
    data = corpus.rgba_webp((600, 400))
    assert webp.library() is not None  # the wheel's libwebp is found in the process
    monkeypatch.setattr(
        decode, "open_header", lambda *a: pytest.fail("Pillow's WebP opener was used")
    )
    source = decode.open_source(data, ImageLimits())
    assert source.image is None
    # Lossless: libwebp keeps its own ARGB copy of the whole image beside ours.
    assert source.decode_bytes() == 8 * 600 * 400
    lossy = decode.open_source(corpus.webp((600, 400)), ImageLimits())
    assert lossy.decode_bytes() == 4 * 600 * 400
    rendered = ImageProcessor.render(data)
    assert (rendered.source_format, rendered.source_size) == ("WEBP", (600, 400))


def test_webp_header_reads_size_alpha_and_chunks() -> None:
    lossy = webp.read_webp_header(corpus.webp((640, 480)))
    assert lossy is not None
    assert (lossy.size, lossy.alpha, lossy.lossless) == ((640, 480), False, False)
    lossless = webp.read_webp_header(corpus.rgba_webp((300, 200)))
    assert lossless is not None
    assert (lossless.size, lossless.alpha, lossless.lossless) == ((300, 200), True, True)
    exif = Image.Exif()
    exif[0x0112] = 6
    output = io.BytesIO()
    Image.new("RGB", (64, 32)).save(output, "WEBP", exif=exif.tobytes())
    extended = webp.read_webp_header(output.getvalue())
    assert extended is not None
    assert extended.size == (64, 32)
    assert "EXIF" in extended.chunks
    assert webp.read_webp_header(b"RIFF\x00\x00\x00\x00WEBPjunk") is None


def test_exif_orientation_of_a_webp_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    output = io.BytesIO()
    Image.new("RGB", (400, 200), (200, 10, 10)).save(output, "WEBP", exif=exif.tobytes())
    assert ImageProcessor.render(output.getvalue()).source_size == (200, 400)


@pytest.fixture
def tiny_budget() -> MemoryBudget:
    return MemoryBudget(8 * 2**20)


def test_renders_wait_for_the_memory_budget_instead_of_failing(
    tiny_budget: MemoryBudget, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each render reserves more than the whole budget, so they must run one at a time.
    running, peak, lock = 0, 0, threading.Lock()
    original = decode.Source.decode

    def tracked(self: decode.Source, on_rows: Callable[[int], None] | None = None) -> Image.Image:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        try:
            return original(self, on_rows)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(decode.Source, "decode", tracked)
    data = corpus.textured_jpeg((1200, 900))
    threads = [
        threading.Thread(target=ImageProcessor.render, args=(data,), kwargs={"budget": tiny_budget})
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert peak == 1
    assert tiny_budget.reserved_bytes == 0


def test_budget_admits_in_order_and_what_fits_together() -> None:
    budget = MemoryBudget(100)
    with budget.reserve(60), budget.reserve(40):
        assert budget.reserved_bytes == 100
        admitted = threading.Event()

        def third() -> None:
            with budget.reserve(10):
                admitted.set()

        waiter = threading.Thread(target=third)
        waiter.start()
        assert not admitted.wait(0.1)
        assert budget.waiting == 1
    assert admitted.wait(5)
    waiter.join()
    assert budget.reserved_bytes == 0


def test_repositories_configured_alike_share_one_budget() -> None:
    assert budget_for(512) is budget_for(512)
    assert budget_for(512) is not budget_for(1024)
    with pytest.raises(ValueError, match="limit_bytes must be positive"):
        MemoryBudget(0)


def _textured(size: tuple[int, int]) -> Image.Image:
    """Gradients with grain: compresses like a photo (not a bomb), resamples predictably."""
    grain = Image.effect_noise(size, 24)
    ramp = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", [grain, ramp, ImageChops.add(grain, ramp, scale=2)])


def _mean_abs_diff_with_alpha(a: Image.Image, b: Image.Image) -> float:
    """Like ``helpers.mean_abs_diff``, over every band (alpha included), not RGB only."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / len(a.getbands())


@pytest.mark.parametrize("lossless", [False, True])
def test_a_large_webp_is_rescaled_while_decoding(lossless: bool) -> None:
    picture = _textured((3000, 2000)).convert("RGBA")
    picture.putalpha(Image.linear_gradient("L").rotate(90).resize((3000, 2000)))
    output = io.BytesIO()
    picture.save(output, "WEBP", lossless=lossless, quality=90)
    data = output.getvalue()
    source = decode.open_source(data, ImageLimits())
    frame = source.shrink_on_load((1600.0, 1000.0))
    assert source.webp_size == (1600, 1067)
    assert frame == (0.0, 0.0, 1600.0, 1067.0)
    assert source.decode_bytes() == 4 * 1600 * 1067 + (4 * 3000 * 2000 if lossless else 0)
    decoded = source.decode()
    assert (decoded.size, decoded.mode) == ((1600, 1067), "RGBA")
    # Against Pillow's full decode of the same file, area-averaged: only the rescaler differs.
    full = Image.open(io.BytesIO(data)).convert("RGBA")
    reference = full.resize((1600, 1067), Image.Resampling.BOX)
    assert _mean_abs_diff_with_alpha(decoded, reference) < 4  # grain: area weights differ a little


def test_rescaled_webp_renders_like_pillows_full_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    picture = _textured((3000, 2000))
    output = io.BytesIO()
    picture.save(output, "WEBP", quality=92)
    data = output.getvalue()
    ours = ImageProcessor.render(data)
    monkeypatch.setattr(decode, "can_decode_webp", lambda header: False)
    pillow = ImageProcessor.render(data)
    assert ours.main_size == pillow.main_size == (800, 533)
    main_ours = Image.open(io.BytesIO(ours.main))
    main_pillow = Image.open(io.BytesIO(pillow.main))
    assert mean_abs_diff(main_ours, main_pillow) < 1.5
