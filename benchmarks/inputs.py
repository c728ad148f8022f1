"""Deterministic benchmark inputs with natural-image-like statistics.

Real photos mix detail at every scale: smooth lighting, mid-size shapes, hard edges and
sensor-like fine texture. A flat or purely random image would flatter or punish JPEG and
resampling in ways real uploads never do, so the generator layers all four.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageChops, ImageDraw, ImageFilter

TWELVE_MP_LANDSCAPE = (4000, 3000)
TWELVE_MP_PORTRAIT = (3000, 4000)
EXIF_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class BenchInput:
    name: str
    data: bytes
    description: str


def natural_image(size: tuple[int, int], seed: int) -> Image.Image:
    rng = random.Random(seed)
    width, height = size

    def noise_layer(grid: tuple[int, int], mode: str = "RGB") -> Image.Image:
        bands = len(mode)
        raw = rng.randbytes(grid[0] * grid[1] * bands)
        return Image.frombytes(mode, grid, raw).resize(size, Image.Resampling.BICUBIC)

    lighting = noise_layer((max(2, width // 500), max(2, height // 500)))
    shapes = noise_layer((max(2, width // 40), max(2, height // 40)))
    image = Image.blend(lighting, shapes, 0.35)
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = x0 + rng.randrange(20, width // 3)
        y1 = y0 + rng.randrange(20, height // 3)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), outline=colour, width=rng.randrange(1, 12))
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=rng.randrange(1, 8))
    image = image.filter(ImageFilter.GaussianBlur(0.8))
    grain = Image.frombytes("L", size, rng.randbytes(width * height)).point(
        lambda v: 128 + (v - 128) // 10
    )
    grain_rgb = Image.merge("RGB", (grain, grain, grain))
    return ImageChops.add(image, grain_rgb, scale=1.0, offset=-128)


def jpeg_bytes(image: Image.Image, orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "WearIT Bench Camera"
    if orientation is not None:
        exif[EXIF_ORIENTATION_TAG] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif.tobytes(), subsampling="4:2:0")
    return out.getvalue()


def build_inputs() -> list[BenchInput]:
    landscape = natural_image(TWELVE_MP_LANDSCAPE, seed=1)
    portrait = natural_image(TWELVE_MP_PORTRAIT, seed=2)
    rgba = natural_image((2000, 1500), seed=3).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    png = io.BytesIO()
    rgba.save(png, "PNG")
    heif = pillow_heif.from_pillow(natural_image(TWELVE_MP_LANDSCAPE, seed=4))
    heic = io.BytesIO()
    heif.save(heic, quality=90)
    return [
        BenchInput("jpeg-12mp-landscape", jpeg_bytes(landscape), "4000x3000 JPEG q92"),
        BenchInput("jpeg-12mp-portrait", jpeg_bytes(portrait), "3000x4000 JPEG q92"),
        BenchInput(
            "jpeg-12mp-exif-rotated",
            jpeg_bytes(landscape, orientation=6),
            "4000x3000 JPEG stored sideways, EXIF orientation 6",
        ),
        BenchInput("png-rgba-3mp", png.getvalue(), "2000x1500 RGBA PNG with alpha gradient"),
        BenchInput("heic-12mp", heic.getvalue(), "4000x3000 HEIC q90"),
    ]
