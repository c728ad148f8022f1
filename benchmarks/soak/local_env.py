"""The processes a soak drives: ``python -m wearit_local up`` (which runs the moto server as
its own child) and the SDK's ``wearit-storage worker`` and ``eraser``, each a child
process configured from the exports ``up`` prints, as an operator would paste them.

Every wait here is bounded: the ready line, a drain after SIGTERM, the exit of ``up``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from benchmarks.soak.memory import children_of
from wearit_local.server import free_port

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
#: What ``up`` prints once the server is provisioned and its exports are out.
READY_PREFIX: Final = "# Ctrl-C"
READY_TIMEOUT_S: Final = 180.0
#: SIGTERM drains a worker: the receive in progress (20 s long poll) plus one render.
DRAIN_TIMEOUT_S: Final = 60.0
#: Ctrl-C stops ``up``: its moto child within 5 s (then killed), the rest at once.
STOP_TIMEOUT_S: Final = 30.0


#: The SDK's log lines: ``<time> LEVEL storage <operation> [failed] key=… error=Class: …``.
_LOG_LEVEL: Final = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) ")
_OPERATION: Final = re.compile(r" storage (\w+)")
_ERROR: Final = re.compile(r"error=(\w+)")


class LocalEnvironmentFailed(RuntimeError):
    """``up`` or an SDK child did not start or stop as it should."""


def parse_exports(lines: list[str]) -> dict[str, str]:
    """``export NAME=VALUE`` lines (shell-quoted values) as a mapping."""
    exports: dict[str, str] = {}
    for line in lines:
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exports[name] = shlex.split(value)[0] if value else ""
    return exports


def _pump(stream: IO[str], lines: queue.Queue[str | None], log: IO[str]) -> None:
    """Copy a child's output to its log, handing each line to ``lines`` as well."""
    for line in stream:
        log.write(line)
        log.flush()
        lines.put(line)
    lines.put(None)


@dataclass
class LocalUp:
    process: subprocess.Popen[str]
    exports: dict[str, str]

    @property
    def moto_pid(self) -> int | None:
        children = children_of(self.process.pid)
        return children[0] if children else None

    def stop(self) -> str | None:
        """Ctrl-C, as in a terminal: ``up`` stops its moto child, then exits. Returns what
        went wrong (``None``: it exited by itself), never raises: a run's results are
        written whatever the teardown does. Escalates to SIGTERM, then SIGKILL."""
        for signum, wait_s in ((signal.SIGINT, STOP_TIMEOUT_S), (signal.SIGTERM, 15.0)):
            if self.process.poll() is None:
                self.process.send_signal(signum)
            try:
                status = self.process.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                continue
            if signum is signal.SIGINT:
                return None if status == 0 else f"`local up` exited {status} on Ctrl-C"
            return f"`local up` ignored Ctrl-C for {STOP_TIMEOUT_S:.0f} s; SIGTERM stopped it"
        moto = self.moto_pid
        self.process.kill()
        self.process.wait()
        if moto is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(moto, signal.SIGKILL)
        return "`local up` stopped on neither Ctrl-C nor SIGTERM: killed, with its moto child"


def start_local_up(cdk_out: Path, logs: Path) -> LocalUp:
    """``python -m wearit_local up`` on a free port; returns once it printed its exports."""
    port = free_port()
    log = (logs / "local-up.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wearit_local",
            "up",
            "--cdk-out",
            str(cdk_out),
            "--port",
            str(port),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines, log), daemon=True).start()
    printed: list[str] = []
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None:
            process.kill()
            process.wait()
            raise LocalEnvironmentFailed(
                f"`local up` printed no ready line within {READY_TIMEOUT_S:.0f} s "
                f"(exit status {process.poll()}; see {logs / 'local-up.log'})"
            )
        if line.startswith(READY_PREFIX):
            return LocalUp(process, parse_exports(printed))
        printed.append(line)


@dataclass
class SdkProcess:
    """``python -m wearit_storage COMMAND`` (the ``wearit-storage`` command) as a child."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def problems(self) -> Counter[str]:
        """Its WARNING and ERROR log lines, by level, operation and error class
        (``ERROR erase ErasureIncomplete``)."""
        found: Counter[str] = Counter()
        for line in self.log_path.read_text(errors="replace").splitlines():
            level = _LOG_LEVEL.search(line)
            if level is None:
                continue
            operation = _OPERATION.search(line)
            error = _ERROR.search(line)
            # Lines that are no operation's: their first words (a key would make each unique).
            what = operation.group(1) if operation else " ".join(line[level.end() :].split()[:3])
            found[" ".join(filter(None, (level.group(1), what, error and error.group(1))))] += 1
        return found

    def stop(self) -> tuple[int, str]:
        """SIGTERM (it drains), bounded; the exit status and its last output line."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=DRAIN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = -int(signal.SIGKILL)
        lines = self.log_path.read_text(errors="replace").splitlines()
        summary = next((line for line in reversed(lines) if " stopped" in line), "")
        return code, summary


def start_sdk_process(
    name: str, command: list[str], environment: Mapping[str, str], logs: Path
) -> SdkProcess:
    log_path = logs / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "wearit_storage", *command],
            env={**os.environ, **environment},
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return SdkProcess(name, process, log_path)
