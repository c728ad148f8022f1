"""`python -m wearit_local demo` and `up`, run as a user runs them (separate processes)."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.synth import REPO_ROOT
from wearit_local import LocalCredentials, emulator_client, free_port


def run_cli(
    *args: str, timeout: float = 180, cwd: Path = REPO_ROOT, hide: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m wearit_local ARGS`` from ``cwd``; ``hide`` makes a module not importable."""
    hiding = f"sys.modules[{hide!r}] = None; " if hide else ""
    run_main = f"import runpy, sys; {hiding}runpy.run_module('wearit_local', run_name='__main__')"
    return subprocess.run(
        [sys.executable, "-c", run_main, *args],
        cwd=cwd,
        # From anywhere, as from a checkout: wearit_local is not in the installed wheel.
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_demo_runs_the_whole_flow_against_templates_from_cdk_out(cdk_out: Path) -> None:
    result = run_cli("demo", "--cdk-out", str(cdk_out))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "'dev' provisioned from" in out
    for step in (
        "upload clothing photo -> 800 px image + 200x200 thumbnail",
        "fetch the presigned GET URL over HTTP",
        "direct upload to temp/ through a presigned POST",
        "restore the previous avatar version",
        "export the user's files (GDPR): one streamed ZIP + manifest",
        "erase the user (every version, both buckets)",
        "presigned POST with a pinned destination (x-amz-meta-* in the policy)",
        "upload worker: S3 event on SQS -> validate + render -> ack",
        "upload_status(session) -> done",
        "edge delivery: the CDN URL and cookies the app would get",
    ):
        assert f"ok   {step}" in out, step
    assert "600x800 (rotated upright)" in out
    assert "left: primary 0, replica 0, exports 0" in out
    assert "every file and its SHA-256 checked against the bucket" in out
    assert "done: clothing/demo-user-42-async/dress-3/image.jpg" in out
    assert "CloudFront (the app's):   https://images.dev.wearit.com/clothing/demo-user-42/" in out
    assert "Path=/avatars/demo-user-42/; Secure; HttpOnly" in out
    assert "demo passed: 23 steps" in out


def test_demo_without_synthesized_templates_says_what_to_run(tmp_path: Path) -> None:
    result = run_cli("demo", "--cdk-out", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "pass --cdk-out with the cdk.out directory that `make synth` writes in a checkout "
        "of wearit-storage"
    )
    assert "Traceback" not in result.stderr


def test_outside_a_checkout_the_hint_is_cdk_out_and_in_one_make_synth(tmp_path: Path) -> None:
    outside = run_cli("up", cwd=tmp_path)
    assert outside.returncode == 1
    assert "in cdk.out: pass --cdk-out" in outside.stderr
    for marker in ("Makefile", "app.py", "cdk.json"):
        (tmp_path / marker).write_text("")
    checkout = run_cli("up", cwd=tmp_path)
    assert checkout.returncode == 1
    assert checkout.stderr.strip().endswith("in cdk.out: run `make synth`")


@pytest.mark.parametrize("command", ["up", "demo"])
def test_without_moto_one_line_says_what_to_install(command: str, tmp_path: Path) -> None:
    result = run_cli(command, "--cdk-out", str(tmp_path), hide="moto")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "python -m wearit_local: error: the local environment needs the development "
        "requirements (no module named 'moto'): in the checkout, run `make bootstrap` and use "
        "`.venv/bin/python -m wearit_local`, or "
        f"`{sys.executable} -m pip install -c requirements.lock -r requirements-dev.txt`"
    ]


@contextmanager
def _local_up(cdk_out: Path, *options: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``python -m wearit_local up`` until it prints its ready line (``# Ctrl-C ...``);
    yields the process and the lines printed before. A process the test left running is
    killed on the way out."""
    process = subprocess.Popen(
        [sys.executable, "-m", "wearit_local", "up", "--cdk-out", str(cdk_out), *options],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed: list[str] = []
        for line in process.stdout:
            if line.startswith("# Ctrl-C"):
                break
            printed.append(line)
        yield process, printed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_local_up_prints_working_exports_and_stops_on_ctrl_c(cdk_out: Path) -> None:
    with _local_up(cdk_out) as (process, printed):
        preamble = [line for line in printed if line.startswith("# ")]
        exports: dict[str, str] = {}
        for line in printed:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = shlex.split(value)[0]
        # What moto does not enforce: said once, briefly (not a line per bucket).
        not_enforced = [line for line in preamble if "not enforced here" in line]
        assert len(not_enforced) == 1
        assert "CORS on simple requests" in not_enforced[0]
        assert all(len(line) < 400 for line in preamble)
        assert exports["AWS_REGION"] == exports["AWS_DEFAULT_REGION"] == exports["AWS_REGION_NAME"]
        endpoint = exports["AWS_ENDPOINT_URL"]
        exported = LocalCredentials(exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"])
        s3 = emulator_client("s3", endpoint, exports["AWS_REGION_NAME"], credentials=exported)
        bucket = exports["AWS_BUCKET_NAME"]
        assert bucket == "wearit-storage-dev"
        versioning = s3.get_bucket_versioning(Bucket=bucket)
        assert versioning["Status"] == "Enabled"
        assert exports["WEARIT_REPLICA_BUCKET_NAME"] == "wearit-storage-dev-replica"
        # The eraser's queue, and what reads it.
        sqs = emulator_client("sqs", endpoint, exports["AWS_REGION_NAME"], credentials=exported)
        erasures = exports["WEARIT_ERASURE_QUEUE_URL"]
        assert sqs.get_queue_attributes(QueueUrl=erasures, AttributeNames=["QueueArn"])
        assert erasures.endswith("/wearit-storage-dev-erasures")
        assert any("wearit-storage eraser" in line for line in preamble)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        host, port = endpoint.removeprefix("http://").split(":")
        with socket.socket() as probe:
            assert probe.connect_ex((host, int(port))) != 0, "the server outlived `up`"


_SERVER_MODULES = frozenset({b"moto.server", b"wearit_local.moto_child"})


def _moto_servers_on(port: int) -> list[int]:
    """Pids of the moto servers on PORT still running (``python -m wearit_local.moto_child``,
    which runs ``moto.server`` with wearit_local's patches)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:  # the process ended while we looked
            continue
        if _SERVER_MODULES.intersection(argv) and str(port).encode() in argv:
            pids.append(int(cmdline.parent.name))
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the moto child through /proc")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_local_up_stops_its_server_on_a_stop_signal(
    cdk_out: Path, stop_signal: signal.Signals
) -> None:
    port = free_port()
    try:
        with _local_up(cdk_out, "--port", str(port)) as (process, _):
            assert _moto_servers_on(port), "the moto child is not running before the signal"
            process.send_signal(stop_signal)
            assert process.wait(timeout=30) == 0
            assert process.stderr is not None
            assert process.stderr.read().strip() == f"stopped ({stop_signal.name})"
            # The child is reaped before `up` exits; give /proc a moment to agree.
            deadline = time.monotonic() + 5
            while _moto_servers_on(port) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _moto_servers_on(port), "the moto server outlived `up`"
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", port)) != 0, "the port is still served"
    finally:
        for pid in _moto_servers_on(port):  # never leave a leaked server to the next test
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the moto child through /proc")
def test_local_up_fails_when_its_server_dies(cdk_out: Path) -> None:
    port = free_port()
    with _local_up(cdk_out, "--port", str(port)) as (process, _):
        (server,) = _moto_servers_on(port)
        os.kill(server, signal.SIGKILL)
        assert process.wait(timeout=30) == 1
        assert process.stderr is not None
        assert process.stderr.read().strip() == (
            f"python -m wearit_local: error: the moto server on http://127.0.0.1:{port} exited "
            "on its own (status -9)"
        )


def test_up_on_a_taken_port_fails_with_one_line(cdk_out: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("up", "--cdk-out", str(cdk_out), "--port", str(port), timeout=60)
    assert result.returncode == 1
    assert "exited before answering (is the port in use?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_is_plain_text() -> None:
    from wearit_local.cli import build_parser

    assert "``" not in build_parser().format_help()
