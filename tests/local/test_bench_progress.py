"""``make bench`` says how long it will take as it goes, and ``--help`` documents --only.

No benchmark runs here: sections are replaced by instant stand-ins (benchmarks are not
tests); what is checked is what the runner prints and records.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks import run
from benchmarks.progress import FIRST_ESTIMATE_S, BenchProgress, duration_text
from tests.synth import REPO_ROOT


def test_help_lists_only_and_every_section_without_the_benchmark_packages() -> None:
    """--help imports no benchmark module: it works where pyvips and numpy are absent."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "--only SECTION" in result.stdout
    for section in run.SECTIONS:
        assert section in result.stdout
    assert "in all: about" in result.stdout


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(4.6, "5 s"), (60, "1 min"), (432, "7 min 12 s"), (3900, "1 h 5 min")],
)
def test_durations_read_as_people_say_them(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_each_section_says_its_expected_time_and_what_is_left() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = BenchProgress(["erasure", "worker"], {"erasure": 100.0}, out, clock=lambda: now[0])
    progress.plan()
    progress.start("erasure")
    now[0] = 90.0
    progress.done("erasure")
    progress.start("worker")
    now[0] = 100.0
    progress.done("worker")
    worker = duration_text(FIRST_ESTIMATE_S["worker"])
    both = duration_text(100 + FIRST_ESTIMATE_S["worker"])
    assert out.getvalue().splitlines() == [
        f"bench 2 section(s): erasure, worker; about {both} in all (--only SECTION runs fewer)",
        f"bench [1/2] erasure: about 1 min 40 s (as the last run); about {both} left in all",
        "bench [1/2] erasure: done in 1 min 30 s",
        f"bench [2/2] worker: about {worker} (first estimate: never timed here); about {worker}"
        " left in all",
        "bench [2/2] worker: done in 10 s",
    ]
    assert progress.durations_s == {"erasure": 90.0, "worker": 10.0}


def test_a_run_records_its_durations_and_the_next_one_estimates_from_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def instant(section: str, moto: Callable[[], str]) -> tuple[dict[str, Any], list[Any]]:
        return {"ran": section}, [{"target": f"{section} target", "measured": "x", "met": True}]

    monkeypatch.setattr(run, "RESULTS", tmp_path)
    monkeypatch.setattr(run, "run_section", instant)
    run.main(["--only", "synth"])
    first = json.loads((tmp_path / "latest.json").read_text())
    assert set(first["durations_s"]) == {"synth"}
    assert "first estimate" in capsys.readouterr().err
    run.main(["--only", "synth", "--only", "worker"])
    err = capsys.readouterr().err
    assert "bench [2/2] synth: about 0 s (as the last run)" in err
    worker = duration_text(FIRST_ESTIMATE_S["worker"])
    assert f"bench [1/2] worker: about {worker} (first estimate: never timed here)" in err
    second = json.loads((tmp_path / "latest.json").read_text())
    assert set(second["durations_s"]) == {"synth", "worker"}
