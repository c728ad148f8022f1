"""Is a JPEG's compressed data long enough for the size its header declares?

libjpeg treats data that ends early ("premature end of data segment") as a warning, fills
the missing blocks with the last colour and reports success; Pillow does not surface the
warning. A 630-byte 16x16 JPEG whose header was patched to 7000x7000 thus "decodes" into a
uniform grey picture. Huffman coding spends at least one bit on the DC coefficient of
every block in each scan that carries DC (baseline scans, and the DC scans of progressive
JPEGs; AC scans can skip blocks with end-of-band runs), so a scan shorter than one bit per
block cannot be what the header says. Anything this walk does not understand is left to
the decoder: it only ever refuses data that is provably too short.

In a sequential JPEG each component is coded in one scan, so the walk ends once every
component's scan is judged, and only the bytes a verdict needs are searched: searching a
12 MP photo's whole scan for its end costs more than a tenth of a render. A crafted file
could still add a repeated scan after that point, which libjpeg would decode too; that is
not what an interrupted upload looks like, and what it costs is bounded by the pixel
limits, as for a progressive file's many scans.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from typing import Final

#: Start-of-frame markers of Huffman-coded JPEGs (baseline, extended, progressive,
#: lossless). Arithmetic coding (SOF9-SOF15) can spend less than a bit per block.
_HUFFMAN_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC3})
_ARITHMETIC_FRAMES = frozenset({0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_SOS, _EOI, _PROGRESSIVE = 0xDA, 0xD9, 0xC2
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RST0-7: no length field


@dataclass(frozen=True, slots=True)
class ScanShortfall:
    """A scan that holds fewer bits than it has blocks."""

    blocks: int
    bits: int


def find_shortfall(data: bytes) -> ScanShortfall | None:
    """A DC-carrying scan of ``data`` with less than one bit per block, if any."""
    try:
        return _walk(data)
    except (IndexError, struct.error, ZeroDivisionError):
        return None  # malformed in a way the decoder will judge itself


def _walk(data: bytes) -> ScanShortfall | None:
    if data[:2] != b"\xff\xd8":
        return None
    blocks_of: dict[int, int] = {}
    sequential = False
    unjudged: set[int] = set()  # components whose scan is not judged yet
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _STANDALONE:
            position += 2
            continue
        if marker == _EOI:
            return None
        (length,) = struct.unpack_from(">H", data, position + 2)
        segment = data[position + 4 : position + 2 + length]
        position += 2 + length
        if marker in _ARITHMETIC_FRAMES:
            return None
        if marker in _HUFFMAN_FRAMES:
            blocks_of = _component_blocks(segment)
            if not blocks_of:
                return None
            # A sequential frame codes each component in exactly one scan; a progressive
            # one spreads it over several.
            sequential, unjudged = marker != _PROGRESSIVE, set(blocks_of)
        elif marker == _SOS:
            blocks = _dc_blocks(segment, blocks_of)
            if blocks is not None:
                shortfall = _check_scan(data, position, blocks)
                if shortfall is not None:
                    return shortfall
                unjudged -= set(_scan_components(segment))
                if sequential and not unjudged:
                    return None  # every component's one scan is long enough
            position = _entropy_end(data, position)
    return None


def _component_blocks(frame: bytes) -> dict[int, int]:
    """8x8 blocks per component id, as coded in a non-interleaved scan (the fewest)."""
    height, width, count = struct.unpack_from(">HHB", frame, 1)
    if height == 0 or width == 0:  # height defined later by a DNL marker: not judged
        return {}
    components = [frame[6 + 3 * n : 9 + 3 * n] for n in range(count)]
    sampling = {c[0]: (c[1] >> 4, c[1] & 0x0F) for c in components}
    max_h = max(h for h, _ in sampling.values())
    max_v = max(v for _, v in sampling.values())
    return {
        ident: math.ceil(math.ceil(width * h / max_h) / 8)
        * math.ceil(math.ceil(height * v / max_v) / 8)
        for ident, (h, v) in sampling.items()
    }


def _scan_components(header: bytes) -> list[int]:
    """The component ids a scan lists, repeats included (libjpeg codes each entry)."""
    return [header[1 + 2 * n] for n in range(header[0])]


def _dc_blocks(header: bytes, blocks_of: dict[int, int]) -> int | None:
    """Blocks a scan codes at least one bit for: ``None`` for AC-only progressive scans,
    which may skip blocks with end-of-band runs."""
    spectral_start = header[1 + 2 * header[0]]
    if spectral_start != 0 or not blocks_of:
        return None
    return sum(blocks_of.get(ident, 0) for ident in _scan_components(header))


def _check_scan(data: bytes, position: int, blocks: int) -> ScanShortfall | None:
    """Whether the scan starting at ``position`` ends before one bit per block; only the
    bytes those bits need are searched for the scan's end."""
    needed = position + math.ceil(blocks / 8)
    found = _SEGMENT_MARKER.search(data, position, needed + 1)
    end = found.start() if found is not None else min(len(data), needed)
    bits = 8 * (end - position)
    return ScanShortfall(blocks, bits) if bits < blocks else None


#: A marker that ends entropy-coded data: 0xFF followed by anything but a stuffed zero, a
#: restart marker (RST0-7) or another fill byte. One C-level search instead of a Python
#: loop over every 0xFF of a multi-megabyte scan.
_SEGMENT_MARKER: Final = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _entropy_end(data: bytes, position: int) -> int:
    """Where the entropy-coded data starting at ``position`` ends (at the next marker that
    is neither a stuffed 0xFF00 nor a restart marker, or the end of the data)."""
    found = _SEGMENT_MARKER.search(data, position)
    return len(data) if found is None else found.start()
