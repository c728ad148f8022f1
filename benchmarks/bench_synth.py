"""Wall time of `cdk synth` (all stacks) vs a one-bucket app, through the pinned CLI."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
MINIMAL_APP = Path(__file__).resolve().parent / "minimal_app" / "app.py"
RUNS = 3


def synth_seconds(app_command: str | None) -> float:
    with tempfile.TemporaryDirectory() as outdir:
        command = ["npx", "--no-install", "cdk", "synth", "--quiet", "-o", outdir]
        if app_command is not None:
            command += ["-a", app_command]
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True)
        return time.perf_counter() - start


def run() -> dict[str, Any]:
    ours: list[float] = []
    minimal: list[float] = []
    for _ in range(RUNS):  # interleaved, so load on the machine hits both alike
        ours.append(synth_seconds(None))
        minimal.append(synth_seconds(f"{sys.executable} {MINIMAL_APP}"))
    ours_s, minimal_s = statistics.median(ours), statistics.median(minimal)
    return {
        "runs": RUNS,
        "wearit_all_stacks_s": round(ours_s, 2),
        "minimal_one_bucket_s": round(minimal_s, 2),
        "ratio": round(ours_s / minimal_s, 2),
    }
