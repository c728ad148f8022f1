"""Image pipeline: the SDK vs the seed's code vs libvips, same inputs, one process."""

from __future__ import annotations

import functools
import io
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pillow_heif
from PIL import Image, ImageOps

from benchmarks.contenders import CONTENDERS, Pipeline
from benchmarks.inputs import BenchInput, build_inputs
from benchmarks.memory_probe import BASELINE
from benchmarks.ssim import ssim_of_jpeg
from benchmarks.stats import interleaved

WARMUP = 2
RUNS = 15
THREADED_IMAGES = 12
THREADED_ROUNDS = 5
PRIMARY_INPUT = "jpeg-12mp-landscape"


def reference_image(data: bytes) -> Image.Image:
    """Full decode, orientation applied, alpha on white: what every output should resemble."""
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("RGBA", "LA", "P"):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        return image.convert("RGB")


def able_contenders(data: bytes) -> tuple[dict[str, Pipeline], dict[str, str]]:
    """Contenders that can decode this input, and why the others cannot (e.g. the libvips
    wheel ships without an HEVC decoder, so it cannot read HEIC)."""
    able: dict[str, Pipeline] = {}
    unable: dict[str, str] = {}
    for name, pipeline in CONTENDERS.items():
        try:
            pipeline(data)
        except Exception as error:  # any failure disqualifies, and is reported
            unable[name] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        else:
            able[name] = pipeline
    return able, unable


def quality_of(bench_input: BenchInput, contenders: dict[str, Pipeline]) -> dict[str, Any]:
    reference = reference_image(bench_input.data)
    result: dict[str, Any] = {}
    for name, pipeline in contenders.items():
        main, thumbnail = pipeline(bench_input.data)
        with Image.open(io.BytesIO(main)) as m, Image.open(io.BytesIO(thumbnail)) as t:
            sizes = {"main_size": list(m.size), "thumbnail_size": list(t.size)}
        result[name] = {
            **sizes,
            "main_bytes": len(main),
            "thumbnail_bytes": len(thumbnail),
            # Exact Lanczos from the full-resolution decode, no re-encode.
            "ssim_main": round(ssim_of_jpeg(main, reference), 4),
        }
    return result


def threaded_throughput(data: bytes, threads: int = 2) -> dict[str, float]:
    """Images per second with ``threads`` worker threads sharing the work, as an API server
    or a worker renders uploads: rounds of ``THREADED_IMAGES`` images per contender,
    interleaved so machine noise hits all of them alike; the median round."""
    rates: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    with ThreadPoolExecutor(threads) as pool:
        for pipeline in CONTENDERS.values():
            list(pool.map(pipeline, [data] * threads))
        for _ in range(THREADED_ROUNDS):
            for name, pipeline in CONTENDERS.items():
                start = time.perf_counter()
                list(pool.map(pipeline, [data] * THREADED_IMAGES))
                rates[name].append(THREADED_IMAGES / (time.perf_counter() - start))
    return {name: round(statistics.median(values), 2) for name, values in rates.items()}


def peak_memory_mib(input_path: Path) -> dict[str, float]:
    """Each contender in a fresh interpreter, so one's allocator high-water mark can't hide
    another's. Reports peak RSS above an identical process that does no image work."""

    def peak(name: str) -> float:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory_probe", name, str(input_path)],
            capture_output=True,
            text=True,
            check=True,
        )
        value: float = json.loads(out.stdout)["peak_rss_mib"]
        return value

    baseline = peak(BASELINE)
    return {name: round(peak(name) - baseline, 1) for name in CONTENDERS}


def run(workdir: Path) -> dict[str, Any]:
    pillow_heif.register_heif_opener()  # the seed would need it too to open iPhone photos
    inputs = build_inputs()
    per_input: dict[str, Any] = {}
    for bench_input in inputs:
        contenders, unable = able_contenders(bench_input.data)
        timings = interleaved(
            {name: functools.partial(p, bench_input.data) for name, p in contenders.items()},
            warmup=WARMUP,
            runs=RUNS,
        )
        per_input[bench_input.name] = {
            "description": bench_input.description,
            "input_bytes": len(bench_input.data),
            "timing": {name: t.as_dict() for name, t in timings.items()},
            "images_per_s": {name: round(1000 / t.median_ms, 2) for name, t in timings.items()},
            "quality": quality_of(bench_input, contenders),
            "unable": unable,
        }
    primary = next(i for i in inputs if i.name == PRIMARY_INPUT)
    input_path = workdir / f"{PRIMARY_INPUT}.jpg"
    input_path.write_bytes(primary.data)
    return {
        "inputs": per_input,
        "primary_input": PRIMARY_INPUT,
        "threads2_images_per_s": threaded_throughput(primary.data),
        "peak_memory_mib": peak_memory_mib(input_path),
    }


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The performance issue's targets, against libvips used well (``libvips``: one
    shrink-on-load decode); ``libvips_two_calls`` is reported, never a target."""
    rows: list[dict[str, Any]] = []
    jpeg_rows = {k: v for k, v in result["inputs"].items() if k.startswith("jpeg")}
    for name, data in jpeg_rows.items():
        speed, quality = data["images_per_s"], data["quality"]
        ours, vips, seed = speed["wearit_storage"], speed["libvips"], speed["seed"]
        ssim_ours = quality["wearit_storage"]["ssim_main"]
        ssim_vips = quality["libvips"]["ssim_main"]
        rows += [
            {
                "target": f"{name}: throughput >= libvips one-decode (single call)",
                "measured": f"{ours / vips:.2f}x libvips",
                "met": ours >= vips,
            },
            {
                "target": f"{name}: SSIM >= libvips' - 0.003",
                "measured": f"{ssim_ours:.4f} vs {ssim_vips:.4f}",
                "met": ssim_ours >= ssim_vips - 0.003,
            },
            {
                "target": f"{name}: >= 3x the seed's throughput",
                "measured": f"{ours / seed:.2f}x seed",
                "met": ours >= 3 * seed,
            },
        ]
    threads = result["threads2_images_per_s"]
    memory = result["peak_memory_mib"]
    rows += [
        {
            "target": "2 worker threads, 12 MP JPEG: throughput >= libvips one-decode",
            "measured": f"{threads['wearit_storage'] / threads['libvips']:.2f}x libvips",
            "met": threads["wearit_storage"] >= threads["libvips"],
        },
        {
            "target": "peak memory <= 0.6x the seed's (12 MP JPEG)",
            "measured": f"{memory['wearit_storage'] / memory['seed']:.2f}x seed",
            "met": memory["wearit_storage"] <= 0.6 * memory["seed"],
        },
    ]
    return rows
