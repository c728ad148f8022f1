"""libwebp's advanced decoding structures (``decode.h``, decoder ABI 0x0209), for ctypes.

Only what a scaled RGBA decode into our own buffer needs. The layout follows the C
header field by field; ``WebPInitDecoderConfigInternal`` refuses a config whose ABI major
version differs, and :func:`~wearit_storage.imaging.webp.decode_webp` checks the size
libwebp reports back, so a mismatch fails loudly instead of decoding garbage.
"""

from __future__ import annotations

import ctypes
from typing import Final

DECODER_ABI_VERSION: Final = 0x0209
MODE_RGBA: Final = 1
VP8_STATUS_OK: Final = 0


class BitstreamFeatures(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("has_alpha", ctypes.c_int),
        ("has_animation", ctypes.c_int),
        ("format", ctypes.c_int),
        ("pad", ctypes.c_uint32 * 5),
    ]


class RGBABuffer(ctypes.Structure):
    _fields_ = [
        ("rgba", ctypes.c_void_p),
        ("stride", ctypes.c_int),
        ("size", ctypes.c_size_t),
    ]


class YUVABuffer(ctypes.Structure):
    _fields_ = [
        ("y", ctypes.c_void_p),
        ("u", ctypes.c_void_p),
        ("v", ctypes.c_void_p),
        ("a", ctypes.c_void_p),
        ("y_stride", ctypes.c_int),
        ("u_stride", ctypes.c_int),
        ("v_stride", ctypes.c_int),
        ("a_stride", ctypes.c_int),
        ("y_size", ctypes.c_size_t),
        ("u_size", ctypes.c_size_t),
        ("v_size", ctypes.c_size_t),
        ("a_size", ctypes.c_size_t),
    ]


class BufferUnion(ctypes.Union):
    _fields_ = [("RGBA", RGBABuffer), ("YUVA", YUVABuffer)]


class DecBuffer(ctypes.Structure):
    _fields_ = [
        ("colorspace", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("is_external_memory", ctypes.c_int),
        ("u", BufferUnion),
        ("pad", ctypes.c_uint32 * 4),
        ("private_memory", ctypes.c_void_p),
    ]


class DecoderOptions(ctypes.Structure):
    _fields_ = [
        ("bypass_filtering", ctypes.c_int),
        ("no_fancy_upsampling", ctypes.c_int),
        ("use_cropping", ctypes.c_int),
        ("crop_left", ctypes.c_int),
        ("crop_top", ctypes.c_int),
        ("crop_width", ctypes.c_int),
        ("crop_height", ctypes.c_int),
        ("use_scaling", ctypes.c_int),
        ("scaled_width", ctypes.c_int),
        ("scaled_height", ctypes.c_int),
        ("use_threads", ctypes.c_int),
        ("dithering_strength", ctypes.c_int),
        ("flip", ctypes.c_int),
        ("alpha_dithering_strength", ctypes.c_int),
        ("pad", ctypes.c_uint32 * 5),
    ]


class DecoderConfig(ctypes.Structure):
    _fields_ = [
        ("input", BitstreamFeatures),
        ("output", DecBuffer),
        ("options", DecoderOptions),
    ]


def bind(lib: ctypes.CDLL) -> None:
    """Declare the advanced API's signatures on ``lib`` (``AttributeError`` if absent)."""
    lib.WebPInitDecoderConfigInternal.restype = ctypes.c_int
    lib.WebPInitDecoderConfigInternal.argtypes = [ctypes.POINTER(DecoderConfig), ctypes.c_int]
    lib.WebPDecode.restype = ctypes.c_int
    lib.WebPDecode.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(DecoderConfig)]
    lib.WebPFreeDecBuffer.restype = None
    lib.WebPFreeDecBuffer.argtypes = [ctypes.POINTER(DecBuffer)]
