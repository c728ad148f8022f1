"""Safe, fast image pipeline of the WearIT storage SDK.

``ImageProcessor`` has the static API of the design document
(``docs/design-document.fr.rst``: ``resize_image``,
``create_thumbnail``) and adds ``render``, which decodes once and returns both renditions.

Modules, one job each: ``limits`` (what an upload may be), ``decode`` (allow-listed,
header-first opening and JPEG DCT scaling), ``jpeg_scan`` (JPEGs whose data is too short
for their header), ``webp`` and ``webp_abi`` (still WebPs rescaled while decoding),
``incremental`` (JPEGs decoded in steps that report finished rows), ``budget`` (what the
decoded pixels of concurrent renders may weigh), ``normalize`` (modes, transparency, EXIF
orientation, ICC to sRGB), ``resampling`` (geometry, banded resampling, JPEG encoding),
``pipelined`` (renditions cut while their JPEG decodes), ``release`` (freed pages back to
the OS) and ``processor`` (the public pipeline).

What every output guarantees, whatever the upload:

- only JPEG, PNG, WebP and HEIC/HEIF are opened; anything else, and empty, oversized,
  truncated, corrupt or decompression-bomb input, raises ``ImageRejected``;
- EXIF orientation is applied (phone photos are stored upright);
- no metadata reaches the outputs (no EXIF, GPS, XMP, comment or ICC profile);
- colours are converted to sRGB from the embedded ICC profile, and transparency is
  flattened onto white;
- ``create_thumbnail`` crops to the centre and returns exactly ``size``;
- JPEGs are progressive as well as optimized.
"""

from __future__ import annotations

from .limits import SUPPORTED_FORMATS, ImageLimits
from .processor import ImageProcessor, Renditions

__all__ = [
    "SUPPORTED_FORMATS",
    "ImageLimits",
    "ImageProcessor",
    "Renditions",
]
