"""Structural similarity (SSIM) on luminance, with the standard constants and a 7x7
uniform window (as scikit-image's default), computed with numpy integral images."""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image

_WINDOW = 7
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def _luma(image: Image.Image) -> NDArray[np.float64]:
    return np.asarray(image.convert("L"), dtype=np.float64)


def _box_mean(values: NDArray[np.float64]) -> NDArray[np.float64]:
    integral = np.pad(values.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    w = _WINDOW
    total = integral[w:, w:] - integral[:-w, w:] - integral[w:, :-w] + integral[:-w, :-w]
    result: NDArray[np.float64] = total / (w * w)
    return result


def ssim(candidate: Image.Image, reference: Image.Image) -> float:
    if candidate.size != reference.size:
        raise ValueError(f"sizes differ: {candidate.size} vs {reference.size}")
    x, y = _luma(candidate), _luma(reference)
    mx, my = _box_mean(x), _box_mean(y)
    vx = _box_mean(x * x) - mx * mx
    vy = _box_mean(y * y) - my * my
    cov = _box_mean(x * y) - mx * my
    # Sample (not population) statistics, as scikit-image does by default.
    n = _WINDOW * _WINDOW
    vx, vy, cov = vx * n / (n - 1), vy * n / (n - 1), cov * n / (n - 1)
    numerator = (2 * mx * my + _C1) * (2 * cov + _C2)
    denominator = (mx * mx + my * my + _C1) * (vx + vy + _C2)
    return float(np.mean(numerator / denominator))


def ssim_of_jpeg(candidate_jpeg: bytes, reference: Image.Image) -> float:
    with Image.open(io.BytesIO(candidate_jpeg)) as candidate:
        candidate.load()
        if candidate.size != reference.size:
            reference = reference.resize(candidate.size, Image.Resampling.LANCZOS)
        return ssim(candidate, reference)
