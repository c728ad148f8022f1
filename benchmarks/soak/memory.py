"""Resident set sizes of the soak's processes, read from ``/proc/PID/status``, and whether
they stayed flat.

"Flat" compares two windows of samples rather than two samples: a worker's RSS at one
instant depends on whether a render is in flight, so each side is the median of the
samples in a window (the one just after the warm-up, the last one before the traffic
stops). Growth is ``end / warm - 1``.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

#: The most an SDK process may grow between the warm-up and the end.
FLAT_GROWTH: Final = 0.10
KIB_PER_MIB: Final = 1024


def status_kib(pid: int, field_name: str) -> int | None:
    """``VmRSS`` or ``VmHWM`` of ``pid`` in KiB; ``None`` once the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    return None


def own_rss_kib() -> int:
    """``VmRSS`` of this process, in KiB (Linux)."""
    kib = status_kib(os.getpid(), "VmRSS")
    if kib is None:
        raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")
    return kib


def children_of(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux: ``/proc/PID/task/*/children``)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in children.read_text().split()]
        except OSError:
            continue
    return found


@dataclass(frozen=True, slots=True)
class Sample:
    at_s: float  # seconds since the traffic started
    rss_mib: Mapping[str, float]


@dataclass
class MemoryLog:
    """RSS samples of named processes; ``sdk`` names the ones that must stay flat."""

    sdk: tuple[str, ...]
    samples: list[Sample] = field(default_factory=list)
    peak_mib: dict[str, float] = field(default_factory=dict)

    def sample(self, at_s: float, pids: Mapping[str, int]) -> Sample:
        rss: dict[str, float] = {}
        for name, pid in pids.items():
            kib = status_kib(pid, "VmRSS")
            if kib is not None:
                rss[name] = round(kib / KIB_PER_MIB, 1)
            hwm = status_kib(pid, "VmHWM")
            if hwm is not None:
                self.peak_mib[name] = round(hwm / KIB_PER_MIB, 1)
        taken = Sample(round(at_s, 1), rss)
        self.samples.append(taken)
        return taken

    def window_median(self, name: str, start_s: float, end_s: float) -> float | None:
        values = [
            s.rss_mib[name]
            for s in self.samples
            if start_s <= s.at_s <= end_s and name in s.rss_mib
        ]
        return round(statistics.median(values), 1) if values else None

    def growth(
        self, warm_up_s: float, end_s: float, window_s: float
    ) -> dict[str, dict[str, float | bool | None]]:
        """Per process: RSS after the warm-up, at the end, growth, and (SDK processes)
        whether it is flat."""
        names = sorted({name for s in self.samples for name in s.rss_mib})
        verdicts: dict[str, dict[str, float | bool | None]] = {}
        for name in names:
            warm = self.window_median(name, warm_up_s, warm_up_s + window_s)
            end = self.window_median(name, end_s - window_s, end_s)
            growth = round(end / warm - 1, 3) if warm and end else None
            verdict: dict[str, float | bool | None] = {
                "after_warm_up_mib": warm,
                "end_mib": end,
                "peak_mib": self.peak_mib.get(name),
                "growth": growth,
            }
            if name in self.sdk:
                verdict["flat"] = growth is not None and growth <= FLAT_GROWTH
            verdicts[name] = verdict
        return verdicts
