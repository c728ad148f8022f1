"""Safe, fast image pipeline of the WearIT storage SDK.

``ImageProcessor`` keeps the seed's static API (``resize_image``, ``create_thumbnail``)
and adds ``render``, which decodes once and returns both renditions.

Modules, one job each: ``limits`` (what an upload may be), ``decode`` (allow-listed,
header-first opening and JPEG DCT scaling), ``normalize`` (modes, transparency, EXIF
orientation, ICC to sRGB), ``render`` (geometry, resampling, JPEG encoding) and
``processor`` (the public pipeline).

Differences from the seed's ``ImageProcessor``:

- only JPEG, PNG, WebP and HEIC/HEIF are opened; anything else, and empty, oversized,
  truncated, corrupt or decompression-bomb input, raises ``ImageRejected`` (the seed let
  Pillow open any format and raised whatever Pillow raised);
- EXIF orientation is applied (the seed stored sideways phone photos sideways);
- no metadata reaches the outputs (the seed's JPEGs kept the upload's comment; GPS was
  dropped only by accident of Pillow's defaults);
- colours are converted to sRGB from the embedded ICC profile, and transparency is
  flattened onto white (the seed's ``convert("RGB")`` turned it black);
- ``create_thumbnail`` really crops to the centre and returns exactly ``size``;
- JPEGs are progressive as well as optimized.
"""

from __future__ import annotations

from .limits import SUPPORTED_FORMATS, ImageLimits
from .processor import ImageProcessor, Renditions

__all__ = ["SUPPORTED_FORMATS", "ImageLimits", "ImageProcessor", "Renditions"]
