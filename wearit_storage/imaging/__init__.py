"""Safe, fast image pipeline of the WearIT storage SDK.

``ImageProcessor`` keeps the seed's static API (``resize_image``, ``create_thumbnail``)
and adds ``render``, which decodes once and returns both renditions.
"""

from __future__ import annotations

from .limits import SUPPORTED_FORMATS, ImageLimits
from .processor import ImageProcessor, Renditions

__all__ = ["SUPPORTED_FORMATS", "ImageLimits", "ImageProcessor", "Renditions"]
