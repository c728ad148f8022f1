"""Deterministic benchmark inputs with natural-image-like statistics (see
``wearit_local.samples`` for how they are built)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pillow_heif
from PIL import Image

from wearit_local.samples import TWELVE_MP_LANDSCAPE, camera_jpeg, natural_image

TWELVE_MP_PORTRAIT = (3000, 4000)


@dataclass(frozen=True)
class BenchInput:
    name: str
    data: bytes
    description: str


def jpeg_bytes(image: Image.Image, orientation: int | None = None) -> bytes:
    return camera_jpeg(image, orientation=orientation)


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
