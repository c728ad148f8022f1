"""Safe, fast image pipeline of the WearIT storage SDK, on libvips.

``ImageProcessor`` has the static API of the design document
(``docs/design-document.fr.rst``: ``resize_image``, ``create_thumbnail``) and adds
``render``, which decodes once and returns every rendition, in JPEG and, when asked, AVIF.

Modules, one job each: ``limits`` (what an upload may be), ``checks`` (byte size, format
allow-list, declared size, bomb ratio), ``jpeg_scan`` (JPEGs whose data is too short for
their header), ``sources`` (one decoder per input family, header first), ``budget`` (what
the decoded pixels of concurrent renders may weigh), ``engine`` (libvips, configured for
a server), ``geometry`` (fit, cover-crop, how much of the source a rendition needs),
``colour`` (16 bits, transparency, ICC to sRGB, EXIF orientation), ``encode`` (JPEG and
AVIF settings) and ``processor`` (the public pipeline).

What every output guarantees, whatever the upload:

- only JPEG, PNG, WebP, AVIF and HEIC/HEIF are opened, each by its one decoder; anything
  else, and empty, oversized, truncated, corrupt or decompression-bomb input, raises
  ``ImageRejected``, decided from the bytes and the header before any pixel is decoded;
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
