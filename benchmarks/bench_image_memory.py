"""Peak memory of one render of hostile-but-valid 49 MP inputs, and of ten at once.

Inputs are 7000x7000 images in the formats and modes whose decoding used to cost 17-25
bytes per pixel (lossless WebP RGBA; PNG RGBA, LA, palette, 16-bit grey; and an
interlaced RGBA PNG, which libspng decodes whole before the first row), textured enough
to pass the decompression-bomb ratio, so the pipeline really decodes them. Each is
rendered in a fresh process (``python -m benchmarks.bench_image_memory one FILE``) and
its extra peak RSS (VmHWM after minus before the render) is compared with the bound of
the reliability issue: 1.5 x a 4-byte-per-pixel buffer of the image at its decode scale,
plus 32 MiB. Then ten threads render such images at once under the default memory budget.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyvips
from PIL import Image

from benchmarks.memory_probe import high_water_mark_kib
from wearit_storage.imaging import ImageProcessor
from wearit_storage.imaging.budget import DEFAULT_BUDGET, DEFAULT_MEGABYTES

SIZE = 7000
MIB = 2**20
CONCURRENT = 10


def _texture(channels: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A diagonal gradient with noise on one row in 24: a few MB compressed."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    base = ((x + y) % 256).astype(np.uint8)
    noisy = base.copy()
    noisy[::24] += rng.integers(0, 4, size=noisy[::24].shape, dtype=np.uint8)
    return np.stack([noisy] * channels, axis=-1) if channels > 1 else noisy


def make_inputs(workdir: Path) -> dict[str, Path]:
    rgba = _texture(4)
    rgba[..., 3] = np.where((np.arange(SIZE) % 700) < 350, 255, 0)[None, :]
    colour = Image.fromarray(rgba, "RGBA")
    grey = _texture(1)
    images: dict[str, tuple[Image.Image, str, dict[str, Any]]] = {
        "webp_lossless_rgba": (colour, "WEBP", {"lossless": True, "quality": 0, "method": 0}),
        "png_rgba": (colour, "PNG", {"compress_level": 1}),
        "png_la": (Image.fromarray(np.stack([grey, rgba[..., 3]], -1), "LA"), "PNG", {}),
        "png_palette": (colour.convert("RGB").quantize(64), "PNG", {"compress_level": 1}),
        "png_16bit_grey": (
            Image.frombytes("I;16", (SIZE, SIZE), (grey.astype("<u2") * 257).tobytes()),
            "PNG",
            {"compress_level": 1},
        ),
    }
    paths = {}
    for name, (image, fmt, params) in images.items():
        path = workdir / f"memory-{name}"
        if not path.exists():
            output = io.BytesIO()
            image.save(output, fmt, **params)
            path.write_bytes(output.getvalue())
        paths[name] = path
    # Adam7: the one PNG layout decoded whole before the first row (Pillow cannot write it).
    interlaced = workdir / "memory-png_rgba_interlaced"
    if not interlaced.exists():
        png = pyvips.Image.new_from_file(str(paths["png_rgba"]))
        interlaced.write_bytes(png.pngsave_buffer(interlace=True, compression=1))
    paths["png_rgba_interlaced"] = interlaced
    return paths


def _bound_mib(pixels: int) -> float:
    return 1.5 * 4 * pixels / MIB + 32


def measure_one(path: Path) -> dict[str, Any]:
    """In this process: extra peak RSS of one render (after a warm-up of the libraries)."""
    ImageProcessor.render(_warm_up_jpeg())
    before = high_water_mark_kib()
    started = time.perf_counter()
    rendered = ImageProcessor.render(path.read_bytes())
    seconds = time.perf_counter() - started
    extra = (high_water_mark_kib() - before) / 1024
    return {
        "extra_peak_mib": round(extra, 1),
        "bound_mib": round(_bound_mib(SIZE * SIZE), 1),
        "seconds": round(seconds, 2),
        "source": list(rendered.source_size),
    }


def measure_concurrent(paths: list[Path]) -> dict[str, Any]:
    """In this process: ten renders at once on ten threads, the default budget."""
    ImageProcessor.render(_warm_up_jpeg())
    payloads = [paths[n % len(paths)].read_bytes() for n in range(CONCURRENT)]
    before = high_water_mark_kib()
    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENT) as pool:
        list(pool.map(ImageProcessor.render, payloads))
    extra = (high_water_mark_kib() - before) / 1024
    return {
        "uploads": CONCURRENT,
        "budget_mib": DEFAULT_MEGABYTES,
        "extra_peak_mib": round(extra, 1),
        "seconds": round(time.perf_counter() - started, 2),
        "budget_left_reserved": DEFAULT_BUDGET.reserved_bytes,
    }


def _warm_up_jpeg() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(output, "JPEG")
    return output.getvalue()


def _in_fresh_process(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_image_memory", *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def run(workdir: Path) -> dict[str, Any]:
    paths = make_inputs(workdir)
    single = {name: _in_fresh_process("one", str(path)) for name, path in paths.items()}
    for name, path in paths.items():
        single[name]["file_bytes"] = path.stat().st_size
    files = [str(path) for path in paths.values()]
    concurrent = _in_fresh_process("many", *files)
    # glibc keeps freed multi-MB blocks in per-thread arenas once its dynamic mmap threshold
    # has risen; a fixed threshold returns them (the README's deployment advice).
    tuned = _in_fresh_process("many", *files, env={"MALLOC_MMAP_THRESHOLD_": "131072"})
    return {"single": single, "concurrent": concurrent, "concurrent_mmap_threshold": tuned}


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [
        {
            "target": f"{name}: extra peak RSS of one render <= 1.5 x 4 B/px + 32 MiB",
            "measured": f"{data['extra_peak_mib']} MiB (bound {data['bound_mib']} MiB)",
            "met": data["extra_peak_mib"] <= data["bound_mib"],
        }
        for name, data in result["single"].items()
    ]
    for key, setting in (
        ("concurrent", "default glibc malloc"),
        ("concurrent_mmap_threshold", "MALLOC_MMAP_THRESHOLD_=131072"),
    ):
        concurrent = result[key]
        rows.append(
            {
                "target": (
                    f"{concurrent['uploads']} such renders at once stay within the budget "
                    f"({setting})"
                ),
                "measured": (
                    f"{concurrent['extra_peak_mib']} MiB extra peak "
                    f"(budget {concurrent['budget_mib']} MiB)"
                ),
                "met": concurrent["extra_peak_mib"] <= concurrent["budget_mib"],
            }
        )
    return rows


def main() -> None:
    mode, *files = sys.argv[1:]
    if mode == "one":
        print(json.dumps(measure_one(Path(files[0]))))
    else:
        print(json.dumps(measure_concurrent([Path(f) for f in files])))


if __name__ == "__main__":
    main()
