"""`wearit-storage demo` and `local up`, run as a user runs them (separate processes)."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import boto3

from tests.synth import REPO_ROOT


def run_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wearit_storage", *args],
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
    ):
        assert f"ok   {step}" in out, step
    assert "600x800 (rotated upright)" in out
    assert "left: primary 0, replica 0" in out
    assert "demo passed: 13 steps" in out


def test_demo_without_synthesized_templates_says_what_to_run(tmp_path: Path) -> None:
    result = run_cli("demo", "--cdk-out", str(tmp_path))
    assert result.returncode == 1
    assert "run `make synth` first" in result.stderr
    assert "Traceback" not in result.stderr


def test_local_up_prints_working_exports_and_stops_on_ctrl_c(cdk_out: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "wearit_storage", "local", "up", "--cdk-out", str(cdk_out)],
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
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=exports["AWS_REGION_NAME"],
            aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        )
        bucket = exports["AWS_BUCKET_NAME"]
        assert bucket == "wearit-storage-dev"
        versioning = s3.get_bucket_versioning(Bucket=bucket)
        assert versioning["Status"] == "Enabled"
        assert exports["WEARIT_REPLICA_BUCKET_NAME"] == "wearit-storage-dev-replica"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        host, port = endpoint.removeprefix("http://").split(":")
        with socket.socket() as probe:
            assert probe.connect_ex((host, int(port))) != 0, "the server outlived `local up`"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_storage_commands_without_moto_installed_do_not_import_it() -> None:
    code = (
        "import sys; from wearit_storage.cli import build_parser; "
        "from wearit_storage.cli_local import add_local_commands; "
        "build_parser(add_local_commands); print('moto' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    assert result.stdout.strip() == "False"
