"""Give freed pixel memory back to the operating system after a large render.

glibc serves allocations from per-thread arenas and, once its dynamic mmap threshold has
risen (it does after the first large free), keeps even multi-MB blocks there when they are
freed. Ten threads decoding large images each leave their arena holding the last image's
worth of pages, so the process keeps more than the memory budget ever admitted at once.
``malloc_trim(0)`` returns the free pages of every arena. Elsewhere (musl, macOS) this is a
no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

#: Renders whose pixels weigh less than this leave too little behind to be worth a trim.
TRIM_AFTER_BYTES = 32 * 2**20


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    function: Callable[[int], int] = trim
    return function


def release_after(nbytes: int) -> None:
    """Return freed memory to the OS if a render of ``nbytes`` just released its pixels."""
    if nbytes < TRIM_AFTER_BYTES:
        return
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
