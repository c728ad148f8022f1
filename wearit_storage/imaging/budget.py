"""How much pixel memory concurrent image decodes may hold at once.

The thread pool bounds how many uploads run at once; it cannot bound their memory, since a
49 MP PNG needs ~200 MB where a phone JPEG needs ~40 MB. Each render therefore reserves its
estimated cost (from the header, before decoding) and waits until it fits.
"""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

#: glibc's allocator settings of a process that renders on several threads, read once at
#: its start (so set by whatever starts it: the worker functions' environment, a host's
#: unit file). By default glibc gives each thread an arena of its own and keeps what a
#: large render freed in it: a worker's RSS climbs for its first few hundred uploads.
#: Two arenas halve that high-water mark at the same speed (``benchmarks/results/
#: worker_allocator.md``).
ALLOCATOR_ENVIRONMENT: Final = {"MALLOC_ARENA_MAX": "2"}


class MemoryBudget:
    """A thread-safe pool of ``limit_bytes`` that renders reserve from before decoding.

    ``reserve(nbytes)`` blocks until the bytes fit, never fails, and gives them back when
    its block exits. Waiters are admitted in arrival order, so a large image is not starved
    by a stream of small ones (a small one arriving behind it waits too).

    A reservation larger than the whole limit is admitted alone: it waits until nothing
    else is reserved, then runs while later ones wait. It is never rejected here, because
    :class:`~wearit_storage.imaging.ImageLimits` has already refused any image too large to
    decode at all; this way a small budget slows big uploads down instead of refusing them,
    and memory stays within ``max(limit_bytes, largest single image)``.
    """

    def __init__(self, limit_bytes: int) -> None:
        if limit_bytes <= 0:
            raise ValueError(f"limit_bytes must be positive, got {limit_bytes}")
        self._limit = limit_bytes
        self._reserved = 0
        self._queue: collections.deque[object] = collections.deque()
        self._changed = threading.Condition()

    @property
    def limit_bytes(self) -> int:
        return self._limit

    @property
    def reserved_bytes(self) -> int:
        """Bytes held by the reservations currently admitted."""
        with self._changed:
            return self._reserved

    @property
    def waiting(self) -> int:
        """How many reservations are queued, not yet admitted."""
        with self._changed:
            return len(self._queue)

    def __repr__(self) -> str:
        return f"MemoryBudget(limit_bytes={self._limit}, reserved_bytes={self.reserved_bytes})"

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold ``nbytes`` of the budget for the duration of the ``with`` block."""
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, got {nbytes}")
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            try:
                self._changed.wait_for(lambda: self._queue[0] is ticket and self._fits(nbytes))
            finally:
                # Admitted, or interrupted while waiting: either way leave the queue, and let
                # the next in line check whether it fits now.
                self._queue.remove(ticket)
                self._changed.notify_all()
            self._reserved += nbytes
        try:
            yield
        finally:
            with self._changed:
                self._reserved -= nbytes
                self._changed.notify_all()

    def _fits(self, nbytes: int) -> bool:
        return self._reserved + nbytes <= self._limit or self._reserved == 0


@functools.cache
def budget_for(megabytes: int) -> MemoryBudget:
    """The process-wide budget of ``megabytes`` MiB: repositories configured alike share one,
    so two repositories in one worker do not each admit a full budget."""
    return MemoryBudget(megabytes * 2**20)


#: ``WEARIT_IMAGE_MEMORY_MB``'s default: ten 12 MP photos decoded at half scale fit.
DEFAULT_MEGABYTES = 768
#: The budget used when a caller passes none.
DEFAULT_BUDGET = budget_for(DEFAULT_MEGABYTES)
