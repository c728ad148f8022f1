"""`python -m wearit_local demo` and `up`, run as a user runs them (separate processes)."""

from __future__ import annotations

import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.synth import REPO_ROOT
from wearit_local import LocalCredentials, emulator_client


def run_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wearit_local", *args],
        cwd=REPO_ROOT,
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
        "erase the user (every version, both buckets)",
        "presigned POST with a pinned destination (x-amz-meta-* in the policy)",
        "upload worker: S3 event on SQS -> validate + render -> ack",
        "upload_status(session) -> done",
    ):
        assert f"ok   {step}" in out, step
    assert "600x800 (rotated upright)" in out
    assert "left: primary 0, replica 0" in out
    assert "done: clothing/demo-user-42-async/dress-3/image.jpg" in out
    assert "demo passed: 16 steps" in out


def test_demo_without_synthesized_templates_says_what_to_run(tmp_path: Path) -> None:
    result = run_cli("demo", "--cdk-out", str(tmp_path))
    assert result.returncode == 1
    assert "run `make synth` first" in result.stderr
    assert "Traceback" not in result.stderr


def test_local_up_prints_working_exports_and_stops_on_ctrl_c(cdk_out: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "wearit_local", "up", "--cdk-out", str(cdk_out)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        exports: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = shlex.split(value)[0]
            if line.startswith("# Ctrl-C"):
                break
        endpoint = exports["AWS_ENDPOINT_URL"]
        exported = LocalCredentials(exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"])
        s3 = emulator_client("s3", endpoint, exports["AWS_REGION_NAME"], credentials=exported)
        bucket = exports["AWS_BUCKET_NAME"]
        assert bucket == "wearit-storage-dev"
        versioning = s3.get_bucket_versioning(Bucket=bucket)
        assert versioning["Status"] == "Enabled"
        assert exports["WEARIT_REPLICA_BUCKET_NAME"] == "wearit-storage-dev-replica"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        host, port = endpoint.removeprefix("http://").split(":")
        with socket.socket() as probe:
            assert probe.connect_ex((host, int(port))) != 0, "the server outlived `up`"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_up_on_a_taken_port_fails_with_one_line(cdk_out: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("up", "--cdk-out", str(cdk_out), "--port", str(port), timeout=60)
    assert result.returncode == 1
    assert "exited before answering (is the port in use?)" in result.stderr
    assert "Traceback" not in result.stderr
