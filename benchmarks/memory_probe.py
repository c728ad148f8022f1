"""Run one contender on one input in this fresh process and print its peak RSS growth."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pillow_heif

from benchmarks.contenders import CONTENDERS

BASELINE = "none"


def high_water_mark_kib() -> int:
    """Peak resident set of this process image. Not ``ru_maxrss``: Linux carries that over
    from the parent across fork and exec, so a big benchmark parent would mask the child."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def main() -> None:
    name, path = sys.argv[1], Path(sys.argv[2])
    pillow_heif.register_heif_opener()
    data = path.read_bytes()
    # The baseline run imports and reads the same things and does no work; the caller
    # subtracts its peak, so interpreter and library start-up cost cancels out.
    if name != BASELINE:
        for _ in range(3):
            CONTENDERS[name](data)
    peak_kib = high_water_mark_kib()
    print(json.dumps({"contender": name, "peak_rss_mib": round(peak_kib / 1024, 1)}))


if __name__ == "__main__":
    main()
