"""Deterministic sample photos for the demo and the benchmarks (no binary files in git).

Real photos mix detail at every scale: smooth lighting, mid-size shapes, hard edges and
sensor-like grain. A flat or purely random image would flatter or punish JPEG and
resampling in ways real uploads never do, so the generator layers all four.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter

TWELVE_MP_LANDSCAPE = (4000, 3000)
EXIF_ORIENTATION = 0x0112
EXIF_MAKE = 0x010F
GPS_IFD = 0x8825


def natural_image(size: tuple[int, int], seed: int) -> Image.Image:
    rng = random.Random(seed)  # noqa: S311 - reproducible pixels, not secrets
    width, height = size

    def noise_layer(grid: tuple[int, int]) -> Image.Image:
        raw = rng.randbytes(grid[0] * grid[1] * 3)
        return Image.frombytes("RGB", grid, raw).resize(size, Image.Resampling.BICUBIC)

    lighting = noise_layer((max(2, width // 500), max(2, height // 500)))
    shapes = noise_layer((max(2, width // 40), max(2, height // 40)))
    image = Image.blend(lighting, shapes, 0.35)
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = x0 + rng.randrange(20, max(21, width // 3))
        y1 = y0 + rng.randrange(20, max(21, height // 3))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), outline=colour, width=rng.randrange(1, 12))
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=rng.randrange(1, 8))
    image = image.filter(ImageFilter.GaussianBlur(0.8))
    grain = Image.frombytes("L", size, rng.randbytes(width * height)).point(
        lambda v: 128 + (v - 128) // 10
    )
    return ImageChops.add(image, Image.merge("RGB", (grain, grain, grain)), offset=-128)


def camera_jpeg(
    image: Image.Image, *, orientation: int | None = None, with_gps: bool = False
) -> bytes:
    """JPEG bytes as a phone would write them: EXIF make, optional orientation and GPS."""
    exif = Image.Exif()
    exif[EXIF_MAKE] = "WearIT Sample Camera"
    if orientation is not None:
        exif[EXIF_ORIENTATION] = orientation
    if with_gps:
        # Latitude/longitude of the Louvre: exactly the kind of data we must never publish.
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 39.0), 3: "E", 4: (2.0, 20.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif.tobytes(), subsampling="4:2:0")
    return out.getvalue()


def sample_photo(
    size: tuple[int, int] = TWELVE_MP_LANDSCAPE, *, seed: int = 1, orientation: int | None = None
) -> bytes:
    return camera_jpeg(natural_image(size, seed), orientation=orientation, with_gps=True)
