"""Quick probe: seed ImageProcessor vs wearit_storage.imaging vs pyvips on a 12 MP JPEG.

Not the benchmark suite (that lives in its own issue): one synthetic, deterministic,
photo-like 4000x3000 JPEG; wall time (median of N runs, one thread per pipeline),
peak RSS increase measured in a fresh subprocess per pipeline, and PSNR of each output
against a full-resolution Lanczos reference so "faster" is compared at equal quality.

    .venv/bin/python benchmarks/image_pipeline_probe.py [--runs 15]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, ImageStat

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from wearit_storage.imaging import ImageProcessor  # noqa: E402

SIZE = (4000, 3000)


def photo_like_jpeg(size: tuple[int, int] = SIZE, seed: int = 12, noise: float = 12) -> bytes:
    """Gradients, soft shapes, sharp edges and sensor-like noise, saved like a camera."""
    rng = random.Random(seed)
    width, height = size
    red = Image.linear_gradient("L").resize(size)
    green = Image.radial_gradient("L").resize(size)
    blue = red.transpose(Image.Transpose.ROTATE_180).resize(size)
    image = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(image)
    for _ in range(120):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(20, 500)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    for _ in range(300):
        x, y = rng.randrange(width), rng.randrange(height)
        draw.line((x, y, x + rng.randrange(-400, 400), y + rng.randrange(-400, 400)), width=3)
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    grain = Image.effect_noise(size, noise).convert("RGB")
    image = ImageChops.add(image, grain, scale=1.0, offset=-128)
    output = io.BytesIO()
    image.save(output, "JPEG", quality=92)
    return output.getvalue()


# --- the seed's code, verbatim apart from typing -------------------------------------
def seed_resize_image(image_data: bytes, max_size: tuple[int, int] = (800, 800)) -> bytes:
    image: Image.Image = Image.open(io.BytesIO(image_data))
    if image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail(max_size, Image.Resampling.LANCZOS)
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=85, optimize=True)
    return output.getvalue()


def seed_create_thumbnail(image_data: bytes, size: tuple[int, int] = (200, 200)) -> bytes:
    image: Image.Image = Image.open(io.BytesIO(image_data))
    if image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail(size, Image.Resampling.LANCZOS)
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=80, optimize=True)
    return output.getvalue()


def run_seed(data: bytes) -> tuple[bytes, bytes]:
    return seed_resize_image(data), seed_create_thumbnail(data)


def run_wearit(data: bytes) -> tuple[bytes, bytes]:
    result = ImageProcessor.render(data)
    return result.main, result.thumbnail


def run_wearit_separate(data: bytes) -> tuple[bytes, bytes]:
    return ImageProcessor.resize_image(data), ImageProcessor.create_thumbnail(data)


def run_vips_single(data: bytes) -> tuple[bytes, bytes]:
    """libvips at its best: one decode, the thumbnail taken from the main image."""
    import pyvips

    main = pyvips.Image.thumbnail_buffer(data, 800, height=800, size="down").copy_memory()
    thumb = main.thumbnail_image(200, height=200, crop="centre")
    return (
        main.jpegsave_buffer(Q=85, optimize_coding=True, interlace=True, keep="none"),
        thumb.jpegsave_buffer(Q=80, optimize_coding=True, interlace=True, keep="none"),
    )


def run_vips(data: bytes) -> tuple[bytes, bytes]:
    import pyvips

    main = pyvips.Image.thumbnail_buffer(data, 800, height=800, size="down")
    thumb = pyvips.Image.thumbnail_buffer(data, 200, height=200, crop="centre")
    return (
        main.jpegsave_buffer(Q=85, optimize_coding=True, interlace=True, keep="none"),
        thumb.jpegsave_buffer(Q=80, optimize_coding=True, interlace=True, keep="none"),
    )


PIPELINES: dict[str, Callable[[bytes], tuple[bytes, bytes]]] = {
    "seed": run_seed,
    "wearit.render": run_wearit,
    "wearit.separate": run_wearit_separate,
    "pyvips": run_vips,
    "pyvips.one-decode": run_vips_single,
}


def psnr(a: Image.Image, b: Image.Image) -> float:
    if a.size != b.size:
        return float("nan")
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    mse = sum(ImageStat.Stat(diff).sum2) / (3 * a.width * a.height)
    return float("inf") if mse == 0 else 10 * math.log10(255**2 / mse)


def references(data: bytes) -> tuple[Image.Image, Image.Image]:
    full = Image.open(io.BytesIO(data)).convert("RGB")
    main_size = ImageOps.contain(full, (800, 800)).size
    main = full.resize(main_size, Image.Resampling.LANCZOS)
    thumb = ImageOps.fit(full, (200, 200), Image.Resampling.LANCZOS)
    return main, thumb


def peak_rss_child(name: str, path: str) -> None:
    data = Path(path).read_bytes()
    fn = PIPELINES[name]
    fn(photo_like_jpeg((64, 48)))  # import plugins / libvips before measuring
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = _status_kb("VmHWM")
    fn(data)
    print(json.dumps({"peak_mb": (_status_kb("VmHWM") - base) / 1024}))


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def measure_peak(name: str, path: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, path],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--noise", type=float, default=12, help="sensor-like grain (sigma)")
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        peak_rss_child(*args.child)
        return
    data = photo_like_jpeg(noise=args.noise)
    scratch = tempfile.TemporaryDirectory(prefix="wearit-probe-")
    path = Path(scratch.name) / "probe_12mp.jpg"
    path.write_bytes(data)
    ref_main, ref_thumb = references(data)
    print(f"input: {SIZE[0]}x{SIZE[1]} JPEG, {len(data) / 1e6:.2f} MB")
    for vips_threads in ("1", "2"):
        os.environ["VIPS_CONCURRENCY"] = vips_threads
        print(f"\nVIPS_CONCURRENCY={vips_threads}")
        rows: dict[str, float] = {}
        cpu_rows: dict[str, float] = {}
        for name, fn in PIPELINES.items():
            if not name.startswith("pyvips") and vips_threads != "1":
                continue
            fn(data)
            times, cpu = [], []
            for _ in range(args.runs):
                start, start_cpu = time.perf_counter(), time.process_time()
                main_jpeg, thumb_jpeg = fn(data)
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            main_img = Image.open(io.BytesIO(main_jpeg))
            thumb_img = Image.open(io.BytesIO(thumb_jpeg))
            peak = measure_peak(name, str(path), dict(os.environ))
            rows[name] = statistics.median(times)
            cpu_rows[name] = statistics.median(cpu)
            print(
                f"{name:17} wall {statistics.median(times) * 1e3:6.1f} ms"
                f" cpu {statistics.median(cpu) * 1e3:6.1f} ms"
                f"  peak +{peak:6.1f} MB"
                f"  main {main_img.size} PSNR {psnr(main_img, ref_main):5.2f} dB"
                f" {len(main_jpeg) // 1024} KiB"
                f"  thumb {thumb_img.size} PSNR {psnr(thumb_img, ref_thumb):5.2f} dB"
            )
        if "seed" in rows:
            for name in ("wearit.render", "wearit.separate"):
                print(
                    f"{name} vs seed: {rows['seed'] / rows[name]:.2f}x wall,"
                    f" {cpu_rows['seed'] / cpu_rows[name]:.2f}x cpu"
                )
    scratch.cleanup()


if __name__ == "__main__":
    main()
