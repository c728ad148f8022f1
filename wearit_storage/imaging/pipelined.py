"""Resample renditions of a JPEG while it is still being decoded.

The decode of a large JPEG runs on one core (entropy decoding is sequential), so the
renditions are cut into horizontal bands and each band goes to the shared resampling pool
as soon as the source rows it reads are final (:mod:`.incremental` reports them). When the
decode ends only the bands of the last rows are left, and the caller shares them with the
pool. Bands are cut as :func:`.render.split_rows` cuts them; the result equals a single
Lanczos call up to rounding (see there).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future

from PIL import Image, ImageFile

from . import render
from .decode import Source
from .render import Band, Box, Size

#: Source rows one band reads, about: small enough that the decode of the last band's
#: rows (a few ms on a 12 MP photo at 1/4 scale) is all that is left when decoding ends,
#: large enough that the filter rows each band reads twice stay a small overhead.
BAND_SOURCE_ROWS = 96


def resample_while_decoding(
    source: Source, requests: Iterable[tuple[Size, Box]]
) -> list[Image.Image]:
    """Decode ``source`` while resampling each ``(size, box)`` request from its image; the
    renditions in request order.

    The image must be in a working mode and no request may need block-averaging first
    (:func:`.render.reduce_for` would leave it as it is): the processor passes no other.
    """
    assert source.image is not None  # a Pillow-decoded source
    pipeline = _Pipeline(source.image, list(requests))
    try:
        source.decode(pipeline.rows_ready)
    except BaseException:
        pipeline.abandon()
        raise
    return pipeline.finish()


_Queued = tuple[int, Band, Callable[[], Image.Image], Future[Image.Image]]


class _Pipeline:
    def __init__(self, image: ImageFile.ImageFile, requests: Sequence[tuple[Size, Box]]) -> None:
        self._image = image
        self._requests = requests
        # Every band of every request, in the order its rows are decoded.
        self._waiting = sorted(
            (
                (index, band)
                for index, (size, box) in enumerate(requests)
                for band in render.split_rows(size, box, band_count(size, box))
            ),
            key=lambda item: item[1].rows_read(image.height),
        )
        self._queued: list[_Queued] = []
        self._pixels: Image.Image | None = None

    def rows_ready(self, rows: int) -> None:
        """Queue every band whose source rows are all among the first ``rows``."""
        while self._waiting and self._waiting[0][1].rows_read(self._image.height) <= rows:
            index, band = self._waiting.pop(0)
            call = functools.partial(render.resample_band, self._decoded_so_far(), band)
            self._queued.append((index, band, call, render.submit(call)))

    def finish(self) -> list[Image.Image]:
        """The renditions, once the image is fully decoded."""
        self.rows_ready(self._image.height)
        done = render.collect([(call, future) for _, _, call, future in self._queued])
        parts: list[list[tuple[int, Image.Image]]] = [[] for _ in self._requests]
        for (index, band, _, _), part in zip(self._queued, done, strict=True):
            parts[index].append((band.top, part))
        return [
            render.assemble(self._image.mode, size, bands)
            for (size, _), bands in zip(self._requests, parts, strict=True)
        ]

    def abandon(self) -> None:
        """Cancel the bands not started and wait for the others (the decode failed)."""
        for *_, future in self._queued:
            future.cancel()
        for *_, future in self._queued:
            if not future.cancelled():
                future.exception()

    def _decoded_so_far(self) -> Image.Image:
        # Another image over the same pixel memory: resizing the JPEG image itself would
        # make Pillow start a decode of its own, as its tile is not consumed yet.
        if self._pixels is None:
            self._pixels = self._image._new(self._image.im)
        return self._pixels


def band_count(size: Size, box: Box) -> int:
    """How many bands a request is cut into: about ``BAND_SOURCE_ROWS`` source rows each."""
    return max(1, min(size[1], round((box[3] - box[1]) / BAND_SOURCE_ROWS)))
