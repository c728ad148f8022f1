"""Decode a JPEG in steps, telling after each step how many rows are complete.

``ImageFile.load`` decodes a JPEG in one call, so resampling can only start once the whole
picture is decoded. On a 12 MP photo that decode (libjpeg-turbo's entropy decoding, which
cannot be split across threads) is about three quarters of a render, and the second core idles
through it. :func:`load_incrementally` feeds Pillow's own JPEG decoder exactly as ``load``
does, one block at a time, and reads after each block how many rows the decoder has
written, so the caller can resample the top of the picture while its bottom is decoded.

Pillow keeps that count (``ImagingCodecState.y``, incremented after each row is written)
but does not expose it, so it is read from the decoder object's C layout. Before every
decode the layout is checked against what is known (the tile size just given to the
decoder, offsets and a count of 0); if it does not match, or Pillow's decoder API is not
the expected one, the image is decoded by ``load`` and the rows are reported once, at the
end: slower, never wrong. A count that then went backwards, past the height or stopped
short of it would raise :class:`DecoderStateError` (a bug here, not the upload's fault).
"""

from __future__ import annotations

import ctypes
import io
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from PIL import Image, ImageFile, JpegImagePlugin

if TYPE_CHECKING:  # the C module names no such class at run time
    from PIL._imaging import ImagingDecoder

#: Offset of ``ImagingDecoderObject.state`` (decode.c): the object header, then the
#: ``decode`` and ``cleanup`` function pointers.
_STATE = object.__basicsize__ + 2 * ctypes.sizeof(ctypes.c_void_p)
_INT = ctypes.sizeof(ctypes.c_int)
# ImagingCodecStateInstance (Imaging.h): count, state, errcode, x, y, ystep, xsize, ysize,
# xoff, yoff, all C ints.
_ROW, _XSIZE, _YSIZE, _XOFF, _YOFF = (_STATE + n * _INT for n in (4, 6, 7, 8, 9))

Decoder: TypeAlias = "ImagingDecoder | ImageFile.PyDecoder"


class DecoderStateError(RuntimeError):
    """The decoder's row count behaved impossibly: a bug here, never the upload's fault."""


def can_load_incrementally(image: Image.Image) -> bool:
    """A baseline or progressive JPEG (not an MPO) that Pillow would decode in one tile."""
    return (
        sys.implementation.name == "cpython"  # id() is the object's address
        and type(image) is JpegImagePlugin.JpegImageFile
        and len(image.tile) == 1
        and image.tile[0][0] == "jpeg"
        and isinstance(image.fp, io.BytesIO)  # read whole below, without a copy
        # load() would pad a truncated file instead of failing: leave that to it.
        and not ImageFile.LOAD_TRUNCATED_IMAGES
        and hasattr(Image, "_getdecoder")
    )


def load_incrementally(image: ImageFile.ImageFile, on_rows: Callable[[int], None]) -> None:
    """Decode ``image``, calling ``on_rows(n)`` after each step: its first ``n`` rows are
    final. The last call reports every row. Errors are those of ``image.load()``, and
    :class:`DecoderStateError`.

    ``on_rows`` runs on the calling thread between steps (the decoder itself runs without
    the GIL); whatever it starts must not read rows from ``n`` on, still being written.
    """
    rows = None
    if can_load_incrementally(image):
        image.load_prepare()
        codec, extents, offset, args = image.tile[0]
        decoder = Image._getdecoder(image.mode, codec, args, image.decoderconfig)
        try:
            decoder.setimage(image.im, extents)
            rows = _row_counter(decoder, image.size)
            if rows is not None:
                error = _feed(image, decoder, offset, rows, on_rows)
        finally:
            decoder.cleanup()
    if rows is None:
        image.load()  # the tile is untouched: load decodes from the start
    else:
        image.tile = []
        image.fp = None
        if error < 0:
            raise ImageFile._get_oserror(error, encoder=False)
        if rows() != image.height:
            raise DecoderStateError(f"internal error: the JPEG decoder stopped at row {rows()}")
    on_rows(image.height)


def _feed(
    image: ImageFile.ImageFile,
    decoder: Decoder,
    offset: int,
    rows: Callable[[], int],
    on_rows: Callable[[int], None],
) -> int:
    """``ImageFile.load``'s loop, over the upload's bytes: the decoder is handed what it has
    not consumed plus one more block each time. Returns the decoder's error code."""
    assert image.fp is not None
    image.fp.seek(0)
    view = memoryview(image.fp.read())  # BytesIO returns its own bytes when read whole
    start = end = offset
    reported = 0
    while True:
        if end >= len(view):
            raise OSError(f"image file is truncated ({end - start} bytes not processed)")
        end = min(len(view), end + image.decodermaxblock)
        consumed, error = decoder.decode(view[start:end])
        if consumed < 0:
            return error
        start += consumed
        done = rows()
        if not reported <= done <= image.height:
            raise DecoderStateError(f"internal error: the JPEG decoder reported row {done}")
        if done > reported:
            on_rows(done)
            reported = done


def _row_counter(decoder: Decoder, size: tuple[int, int]) -> Callable[[], int] | None:
    """A reader of the decoder's row count, or ``None`` if its layout is not the known one."""
    if isinstance(decoder, ImageFile.PyDecoder):  # a Python object: no such C layout
        return None
    address = id(decoder)

    def field(offset: int) -> int:
        return ctypes.c_int.from_address(address + offset).value

    if tuple(field(n) for n in (_XSIZE, _YSIZE, _XOFF, _YOFF, _ROW)) != (*size, 0, 0, 0):
        return None
    return lambda: field(_ROW)
