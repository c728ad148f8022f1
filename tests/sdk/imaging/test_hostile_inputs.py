"""Small files that declare many pixels, lying JPEG headers, and bounded decoding memory.

Memory itself is measured in ``benchmarks/bench_image_memory.py``; these tests pin the
mechanisms: the bomb check runs for every image before any decoder is asked for pixels,
what each decoder holds is reserved from the budget, and renders wait for the budget.
"""

from __future__ import annotations

import io
import struct
import threading
import time

import pytest
from PIL import Image

from wearit_storage.errors import ImageRejected
from wearit_storage.imaging import ImageLimits, ImageProcessor, sources
from wearit_storage.imaging.budget import MemoryBudget, budget_for
from wearit_storage.imaging.engine import Image as VipsImage
from wearit_storage.imaging.jpeg_scan import find_shortfall

from . import corpus


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
    monkeypatch.setattr(sources.Source, "decode", _forbidden)
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


def test_streaming_decoders_hold_no_frame_and_the_others_reserve_theirs() -> None:
    limits = ImageLimits()
    plain = sources.open_source(corpus.rgba_png((1500, 1100)), limits)
    assert plain.held_bytes(0.5) == 0  # libspng hands out rows as it decodes them
    adam7 = (VipsImage.black(1500, 1100, bands=4) + 7).cast("uchar").pngsave_buffer(interlace=True)
    interlaced = sources.open_source(adam7, limits)
    assert interlaced.held_bytes(0.5) == 4 * 1500 * 1100  # Adam7: the whole image first
    heic = sources.open_source(corpus.heic((300, 200)), limits)
    assert heic.held_bytes(0.5) == 8 * 300 * 200


def test_hostile_images_render_from_a_stream_not_a_full_resolution_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What is kept in memory during a render: only images of rendition size.
    kept: list[tuple[int, int]] = []
    original = VipsImage.copy_memory

    def spy(image: VipsImage) -> VipsImage:
        kept.append((image.width, image.height))
        return original(image)

    monkeypatch.setattr(VipsImage, "copy_memory", spy)
    rendered = ImageProcessor.render(corpus.rgba_png((2400, 1600)))
    assert rendered.main_size == (800, 533)
    assert kept
    assert all(width * height <= 800 * 533 for width, height in kept)


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
    original = sources.Source.decode

    def tracked(self: sources.Source, scale: float) -> VipsImage:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        try:
            # The pixels are computed later, still inside the reservation: force them now.
            return original(self, scale).copy_memory()
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(sources.Source, "decode", tracked)
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
