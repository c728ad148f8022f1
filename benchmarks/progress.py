"""What ``make bench`` says while it runs: the plan, then each section's expected time and
what is left, from the last run's timings (``durations_s`` in ``results/latest.json``).

A section no run has timed yet is estimated from :data:`FIRST_ESTIMATE_S`, labelled as such.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Final, TextIO

#: First estimates, in seconds on this shared 2-core machine, used until a run records the
#: section's real duration. event_loop, erasure, worker and synth were timed by a partial
#: run (2026-12-03, load average 6-9: 5 s, 4 min, 78 s, 100 s); images, image_memory and
#: export are estimated from their sizes and their last results' rates.
FIRST_ESTIMATE_S: Final = {
    "images": 360,
    "image_memory": 480,
    "event_loop": 10,
    "erasure": 240,
    "export": 180,
    "worker": 90,
    "lambda": 120,
    "delivery": 30,  # CloudFront signatures only, no server: estimated
    "synth": 100,
}


def duration_text(seconds: float) -> str:
    """``45 s``, ``7 min 12 s``, ``1 h 5 min``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class BenchProgress:
    """Prints the plan, then a line when each section starts and when it ends."""

    def __init__(
        self,
        sections: Sequence[str],
        last_durations_s: Mapping[str, float],
        out: TextIO,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sections = list(sections)
        self.last = dict(last_durations_s)
        self.out = out
        self.clock = clock
        self.durations_s: dict[str, float] = {}
        self._started = 0.0

    def estimate(self, section: str) -> tuple[float, str]:
        if section in self.last:
            return self.last[section], "as the last run"
        return FIRST_ESTIMATE_S.get(section, 300), "first estimate: never timed here"

    def estimates_text(self) -> str:
        """Every section's estimate and the total, as ``--help`` shows them."""
        lines = [
            f"  {section:<13} about {duration_text(self.estimate(section)[0])} "
            f"({self.estimate(section)[1]})"
            for section in self.sections
        ]
        total = sum(self.estimate(section)[0] for section in self.sections)
        return "\n".join(
            ["how long (shared 2-core machine):", *lines, f"  in all: about {duration_text(total)}"]
        )

    def plan(self) -> None:
        total = sum(self.estimate(section)[0] for section in self.sections)
        self._say(
            f"{len(self.sections)} section(s): {', '.join(self.sections)}; about "
            f"{duration_text(total)} in all (--only SECTION runs fewer)"
        )

    def start(self, section: str) -> None:
        expected, basis = self.estimate(section)
        left = sum(self.estimate(s)[0] for s in self.sections if s not in self.durations_s)
        self._say(
            f"{self._position(section)} {section}: about {duration_text(expected)} ({basis}); "
            f"about {duration_text(left)} left in all"
        )
        self._started = self.clock()

    def done(self, section: str) -> None:
        self.durations_s[section] = round(self.clock() - self._started, 1)
        self._say(
            f"{self._position(section)} {section}: done in "
            f"{duration_text(self.durations_s[section])}"
        )

    def _position(self, section: str) -> str:
        return f"[{self.sections.index(section) + 1}/{len(self.sections)}]"

    def _say(self, line: str) -> None:
        self.out.write(f"bench {line}\n")
        self.out.flush()
