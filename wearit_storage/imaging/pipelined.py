"""Resample renditions of a JPEG while it is still being decoded.

The decode of a large JPEG runs on one core (entropy decoding is sequential), so the
renditions are cut into horizontal bands and each band goes to the shared resampling pool
as soon as the source rows it reads are final: rows of the decoded image as
:mod:`.incremental` reports them, or rows of another rendition (a thumbnail is cut from
the main image, which is cheaper) as its bands are finished. When the decode ends only the
bands of the last rows are left, and the caller shares them with the pool.

Bands are cut as :func:`.resampling.split_rows` cuts them, so the result equals a single
Lanczos call up to rounding (see there), and is the same whatever the load: the bands
depend on the sizes only, not on when they run.
"""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass

from PIL import Image, ImageFile

from .decode import Source
from .resampling import Band, Box, Size, resample_band, split_rows, submit

#: Source rows one band reads, about: small enough that the decode of the last band's
#: rows (a few ms on a 12 MP photo at 1/4 scale) is all that is left when decoding ends,
#: large enough that the filter rows each band reads twice stay a small overhead.
BAND_SOURCE_ROWS = 96


@dataclass(frozen=True, slots=True)
class Request:
    """A rendition: ``box`` of its source resampled to ``size``. The source is the decoded
    image, or the rendition named ``source``.

    No request may need block-averaging first (:func:`.resampling.reduce_for` would leave it
    as it is), and the decoded image must be in a working mode: the processor sends no other.
    """

    size: Size
    box: Box
    source: str | None = None


def resample_while_decoding(
    source: Source, requests: Mapping[str, Request], *, overlap: bool
) -> dict[str, Image.Image]:
    """Decode ``source`` and cut every rendition of ``requests`` from it: on the pool while
    it decodes (``overlap``), or on this thread once it is decoded.

    A render alone leaves a core idle through the decode, and the pool puts it to work.
    Beside other renders every core is busy already: handing bands between threads would
    only add waits, so the same bands run here one after another. The pixels are the same
    either way.
    """
    assert source.image is not None  # a Pillow-decoded source
    pipeline = _Pipeline(source.image, requests, pooled=overlap)
    try:
        if overlap:
            source.decode(pipeline.rows_ready)
        else:
            pipeline.rows_ready(source.decode().height)
        return pipeline.finish()
    except BaseException:
        pipeline.abandon()
        raise


class _Pipeline:
    """Which bands can run, given the rows finished so far.

    Bands run on the shared pool (``pooled``), which shares the bookkeeping under
    ``_lock``, or are kept in ``_inline`` for :meth:`finish` to run on the caller's thread.
    """

    def __init__(
        self, image: ImageFile.ImageFile, requests: Mapping[str, Request], *, pooled: bool
    ) -> None:
        self._image = image
        self._pooled = pooled  # bands go to the shared pool, or wait here in _inline
        self._inline: collections.deque[Callable[[], None]] = collections.deque()
        self._requests = dict(requests)
        self._lock = threading.Lock()
        self._outputs = {
            name: Image.new(image.mode, request.size, None)  # every row is pasted
            for name, request in requests.items()
        }
        # Each request's bands, top to bottom: the order their source rows become final.
        self._bands = {
            name: split_rows(r.size, r.box, band_count(r.size, r.box))
            for name, r in requests.items()
        }
        self._next = dict.fromkeys(requests, 0)  # bands queued so far
        self._finished = dict.fromkeys(requests, 0)  # output rows final, from the top
        self._ends: dict[str, dict[int, int]] = {name: {} for name in requests}
        self._decoded = 0
        self._decoded_pixels: Image.Image | None = None
        self._queued: list[tuple[Callable[[], None], Future[None]]] = []
        self._stopped = False

    def rows_ready(self, rows: int) -> None:
        """The decoder's report: the first ``rows`` rows of the image are final."""
        with self._lock:
            if self._decoded_pixels is None:
                # Another image over the same pixel memory: resizing the JPEG image itself
                # would make Pillow start a decode of its own (its tile is not consumed).
                self._decoded_pixels = self._image._new(self._image.im)
            self._decoded = rows
            self._queue_ready()

    def finish(self) -> dict[str, Image.Image]:
        """The renditions, once the image is decoded. Bands the pool has not started run
        on the caller's thread, the last queued first (the pool works from the front)."""
        self.rows_ready(self._image.height)
        while self._inline:
            self._inline.popleft()()
        while True:
            with self._lock:
                queued = list(self._queued)
                complete = self._complete()
            for _, future in queued:
                if future.done() and not future.cancelled():
                    future.result()  # raises what the band raised
            if complete:
                return self._outputs
            stolen = False
            for call, future in reversed(queued):
                # A cancelled future is one run here already (cancel() would say True again).
                if not future.done() and future.cancel():
                    call()
                    stolen = True
            if not stolen:
                running = [future for _, future in queued if not future.done()]
                with self._lock:  # since the snapshot, a band may have finished or queued
                    more = len(self._queued) > len(queued)
                    stalled = not running and not more and not self._complete()
                if stalled:  # only a bug in the band bookkeeping can get here
                    raise RuntimeError("internal error: renditions left with no band to run")
                wait(running, return_when=FIRST_COMPLETED)

    def abandon(self) -> None:
        """Queue nothing more, cancel the bands not started, wait for the others."""
        with self._lock:
            self._stopped = True
            queued = list(self._queued)
        for _, future in queued:
            future.cancel()
        wait([future for _, future in queued])

    def _complete(self) -> bool:
        return all(self._finished[name] == r.size[1] for name, r in self._requests.items())

    def _queue_ready(self) -> None:
        if self._stopped:
            return
        for name, request in self._requests.items():
            if request.source is None:
                rows, height = self._decoded, self._image.height
            else:
                rows, height = self._finished[request.source], self._outputs[request.source].height
            bands = self._bands[name]
            while self._next[name] < len(bands):
                band = bands[self._next[name]]
                if band.rows_read(height) > rows:
                    break
                self._next[name] += 1
                call = functools.partial(self._cut, name, band)
                if self._pooled:
                    self._queued.append((call, submit(call)))
                else:
                    self._inline.append(call)

    def _cut(self, name: str, band: Band) -> None:
        source = self._requests[name].source
        pixels = self._decoded_pixels if source is None else self._outputs[source]
        assert pixels is not None  # set before the first band is queued
        part = resample_band(pixels, band)
        with self._lock:
            # Bands paste disjoint rows, and other bands read only rows already final.
            self._outputs[name].paste(part, (0, band.top))
            ends = self._ends[name]
            ends[band.top] = band.top + band.size[1]
            while self._finished[name] in ends:
                self._finished[name] = ends.pop(self._finished[name])
            self._queue_ready()


def band_count(size: Size, box: Box) -> int:
    """How many bands a request is cut into: about ``BAND_SOURCE_ROWS`` source rows each."""
    return max(1, min(size[1], round((box[3] - box[1]) / BAND_SOURCE_ROWS)))
