"""Small measurement helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    runs: int
    median_ms: float
    p10_ms: float
    p90_ms: float
    min_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Timing:
        ms = sorted(s * 1000 for s in seconds)
        deciles = statistics.quantiles(ms, n=10, method="inclusive")
        return cls(
            runs=len(ms),
            median_ms=round(statistics.median(ms), 2),
            p10_ms=round(deciles[0], 2),
            p90_ms=round(deciles[-1], 2),
            min_ms=round(ms[0], 2),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def time_once(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def interleaved(
    contenders: dict[str, Callable[[], object]], *, warmup: int, runs: int
) -> dict[str, Timing]:
    """Time contenders round-robin so machine noise hits all of them alike."""
    for _ in range(warmup):
        for action in contenders.values():
            action()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(runs):
        for name, action in contenders.items():
            samples[name].append(time_once(action))
    return {name: Timing.of(values) for name, values in samples.items()}
