"""Decode still WebP images straight into the buffer of the Pillow image.

Pillow decodes WebP only through libwebp's animation decoder, which keeps two full RGBA
canvases and hands Pillow a third copy: 12 bytes per pixel while decoding, 16 once Pillow
has copied the frame into its image (a 49 MP WebP: ~750 MB). libwebp's own API decodes
into memory we provide, rescaling while it decodes when asked (the advanced API, see
:mod:`.webp_abi`): the output costs 4 bytes per pixel of the rescaled size, plus, for a
lossless file, libwebp's internal copy of the full-size image (:func:`webp_decode_bytes`).

The library called is the libwebp Pillow itself loaded, found in the process's memory
map, so this adds no dependency; where there is no ``/proc``, the system's libwebp found
by ``ctypes.util.find_library`` is tried instead (a different build from Pillow's). Where
neither binds (a Pillow built with libwebp linked statically and no system library),
``library()`` is ``None`` and callers use Pillow's decoder, with its real cost accounted
for.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

import wearit_storage.imaging.webp_abi as webp_abi

# libwebp-51b0b3f7.so.7.2.0 (wheels), libwebp.so.7 (distributions); not libwebpdemux/mux.
_LIBRARY_NAME = re.compile(r"libwebp(-[0-9a-f]+)?\.so(\.\d+)*$")


def _loaded_paths() -> list[str]:
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    paths = {
        line.split(maxsplit=5)[-1]
        for line in maps.read_text().splitlines()
        if "libwebp" in line and line.count(" ") >= 5
    }
    return sorted(p for p in paths if _LIBRARY_NAME.match(Path(p).name))


@functools.cache
def library() -> ctypes.CDLL | None:
    """The libwebp Pillow uses, ready to call, or ``None`` if it cannot be found."""
    try:
        from PIL import _webp  # noqa: F401  # loads Pillow's libwebp into the process
    except ImportError:
        return None
    for path in [*_loaded_paths(), ctypes.util.find_library("webp")]:
        if path is None:
            continue
        try:
            lib = ctypes.CDLL(path)
            decode, get_info = lib.WebPDecodeRGBAInto, lib.WebPGetInfo
            webp_abi.bind(lib)
        except (OSError, AttributeError):
            continue
        # The simple API, unchanged since libwebp 0.1 (no structs, no ABI version).
        decode.restype = ctypes.c_void_p
        decode.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_int,
        ]
        get_info.restype = ctypes.c_int
        get_info.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_int),
        ]
        return lib
    return None


@dataclass(frozen=True, slots=True)
class WebPHeader:
    """What the RIFF container says, read without decoding (Pillow's opener already
    allocates the decoder's canvases, so sizes are checked before Pillow sees the file)."""

    size: tuple[int, int]
    alpha: bool
    animated: bool
    lossless: bool
    chunks: dict[str, bytes] = field(default_factory=dict)  # ICCP and EXIF payloads


def read_webp_header(data: bytes) -> WebPHeader | None:
    """The header of a WebP file, or ``None`` if its container cannot be read."""
    if len(data) < 20 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    size: tuple[int, int] | None = None
    alpha = animated = lossless = False
    chunks: dict[str, bytes] = {}
    position = 12
    while position + 8 <= len(data):
        name = data[position : position + 4].decode("latin-1")
        (length,) = struct.unpack_from("<I", data, position + 4)
        payload = data[position + 8 : position + 8 + length]
        position += 8 + length + (length & 1)
        if name == "VP8X" and len(payload) >= 10:
            alpha, animated = bool(payload[0] & 0x10), bool(payload[0] & 0x02)
            width = int.from_bytes(payload[4:7], "little") + 1
            size = (width, int.from_bytes(payload[7:10], "little") + 1)
        elif name == "VP8L":
            lossless = True
            if size is None and len(payload) >= 5 and payload[0] == 0x2F:
                (bits,) = struct.unpack_from("<I", payload, 1)
                size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
                alpha = bool(bits >> 28 & 1)
        elif name == "VP8 " and size is None and len(payload) >= 10:
            if payload[3:6] != b"\x9d\x01\x2a":
                return None
            width, height = struct.unpack_from("<HH", payload, 6)
            size = (width & 0x3FFF, height & 0x3FFF)
        elif name in ("ICCP", "EXIF"):
            chunks[name] = payload
    return None if size is None else WebPHeader(size, alpha, animated, lossless, chunks)


def webp_decode_bytes(header: WebPHeader, size: tuple[int, int] | None = None) -> int:
    """Peak memory of :func:`decode_webp` into ``size`` (default: the full size): the
    4-byte-per-pixel output, plus, for lossless files, libwebp's own ARGB copy of the whole
    image (backward references can point anywhere in it, so it cannot decode in strips)."""
    width, height = size or header.size
    internal = 4 * header.size[0] * header.size[1] if header.lossless else 0
    return 4 * width * height + internal


def can_decode_webp(header: WebPHeader) -> bool:
    """Whether a WebP with ``header`` is decoded here rather than by Pillow."""
    return not header.animated and library() is not None


def scaled_size(header: WebPHeader, min_size: tuple[float, float]) -> tuple[int, int]:
    """The size to decode at so that both axes keep at least ``min_size`` (libwebp's
    rescaler averages areas while decoding, like JPEG DCT scaling, but to any size)."""
    width, height = header.size
    factor = min(1.0, max(min_size[0] / width, min_size[1] / height))
    return (max(1, math.ceil(width * factor)), max(1, math.ceil(height * factor)))


def decode_webp(
    header: WebPHeader, data: bytes, size: tuple[int, int] | None = None
) -> Image.Image:
    """Decode a still WebP into an ``RGBA`` image of ``size`` (default: its own), or
    ``RGBX`` without alpha (libwebp fills alpha with 255 then; RGBX tells the pipeline to
    drop it, not flatten it), with the file's ICC profile and EXIF in ``info`` as
    Pillow's opener would put them. A smaller ``size`` is rescaled while decoding, so the
    full-size picture is never held (lossless files excepted: see :func:`webp_decode_bytes`).

    Raises ``OSError`` if libwebp refuses the data or decodes another size. libwebp checks
    the buffer size itself, so a lying header cannot make it write out of bounds.
    """
    lib = library()
    if lib is None:
        raise OSError("libwebp is not available")
    width, height = ctypes.c_int(), ctypes.c_int()
    if not lib.WebPGetInfo(data, len(data), ctypes.byref(width), ctypes.byref(height)):
        raise OSError("libwebp cannot read the WebP header")
    if (width.value, height.value) != header.size:
        found, declared = (width.value, height.value), header.size
        raise OSError(
            f"libwebp finds {found[0]}x{found[1]} pixels, not {declared[0]}x{declared[1]}"
        )
    size = size or header.size
    stride = 4 * size[0]
    pixels = bytearray(stride * size[1])
    target = (ctypes.c_char * len(pixels)).from_buffer(pixels)
    try:
        if size == header.size:
            done = lib.WebPDecodeRGBAInto(
                data, len(data), ctypes.addressof(target), len(pixels), stride
            )
        else:
            done = _decode_scaled(lib, data, size, ctypes.addressof(target), len(pixels))
    finally:
        del target  # release the export so the buffer can be handed to Pillow
    if not done:
        raise OSError("libwebp could not decode the image data")
    # Pillow maps RGBA/RGBX buffers without copying; the image keeps ``pixels`` alive.
    mode = "RGBA" if header.alpha else "RGBX"
    image = Image.frombuffer(mode, size, pixels, "raw", mode, 0, 1)
    if "ICCP" in header.chunks:
        image.info["icc_profile"] = header.chunks["ICCP"]
    if "EXIF" in header.chunks:
        image.info["exif"] = header.chunks["EXIF"]
    return image


def _decode_scaled(
    lib: ctypes.CDLL, data: bytes, size: tuple[int, int], address: int, length: int
) -> bool:
    """libwebp's advanced API: rescale to ``size`` while decoding, into our buffer."""
    config = webp_abi.DecoderConfig()
    if not lib.WebPInitDecoderConfigInternal(ctypes.byref(config), webp_abi.DECODER_ABI_VERSION):
        raise OSError("this libwebp does not speak decoder ABI 0x0209")
    config.options.use_scaling = 1
    config.options.scaled_width, config.options.scaled_height = size
    output = config.output
    output.colorspace = webp_abi.MODE_RGBA
    output.is_external_memory = 1
    output.u.RGBA.rgba = address
    output.u.RGBA.stride = 4 * size[0]
    output.u.RGBA.size = length
    status = lib.WebPDecode(data, len(data), ctypes.byref(config))
    decoded = (output.width, output.height)
    lib.WebPFreeDecBuffer(ctypes.byref(output))  # external memory: frees only its own
    if status != webp_abi.VP8_STATUS_OK:
        return False
    if decoded != size:
        raise OSError(f"libwebp decoded {decoded[0]}x{decoded[1]}, not {size[0]}x{size[1]}")
    return True
