"""libvips, the image engine, configured once for a server that renders untrusted uploads.

libvips (through ``pyvips`` and the ``pyvips-binary`` wheel) decodes JPEG, PNG, WebP and
AVIF, resamples and encodes. Its work is demand-driven: pixels flow from the decoder
through the resize to the encoder in small regions, on libvips' own worker threads, and
one ``pyvips`` call runs a whole pipeline in C with the GIL released (cffi releases it
around every foreign call), so renders on several Python threads use several cores.

Two process-wide settings, chosen for the upload worker and the API:

- **No operation cache.** libvips memoizes recent operations by their arguments; every
  upload's bytes are new, so the cache could only keep finished uploads' buffers and
  pixels alive (and would hold them outside the memory budget).
- **Threads per render** (:data:`THREADS_PER_RENDER`): each render already runs on one
  Python thread of a pool sized for the machine, and a JPEG's entropy decoding is
  sequential, so a render gains little from more than a couple of libvips workers while
  extra threads contend with the other renders (``make bench``: ``images``). The
  ``VIPS_CONCURRENCY`` environment variable, when set, wins, as libvips documents.
"""

from __future__ import annotations

import os
from typing import Final

import pyvips

#: libvips worker threads per pipeline (render), unless ``VIPS_CONCURRENCY`` says otherwise.
THREADS_PER_RENDER: Final = 2

pyvips.cache_set_max(0)
pyvips.cache_set_max_mem(0)
pyvips.cache_set_max_files(0)
if not os.environ.get("VIPS_CONCURRENCY"):
    pyvips.concurrency_set(THREADS_PER_RENDER)

Error = pyvips.Error
Image = pyvips.Image
GValue = pyvips.GValue


def reason_of(error: pyvips.Error) -> str:
    """The decoder's own words, one line: libvips prefixes them with the failed call."""
    lines = dict.fromkeys(line.strip() for line in str(error).splitlines() if line.strip())
    detail = [line for line in lines if not line.startswith("unable to call")] or list(lines)
    return "; ".join(detail[-2:])[:160]
