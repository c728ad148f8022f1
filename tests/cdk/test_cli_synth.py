"""The pinned CDK CLI synthesizes from the repository root, exactly as the README says."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from cdk import bundle
from tests.synth import REPO_ROOT


def _npx() -> str:
    npx = shutil.which("npx")
    assert npx, "npx not on PATH: run `make bootstrap` (installs Node 24 into .venv)"
    return npx


def test_npx_cdk_synth_with_the_pinned_cli(tmp_path: Path) -> None:
    bundle.build("arm64")  # what `make synth` does first (cached by the sources' hash)
    npx = shutil.which("npx")
    assert npx, "npx not on PATH: run `make bootstrap` (installs Node 24 into .venv)"
    pinned = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    installed = json.loads((REPO_ROOT / "node_modules/aws-cdk/package.json").read_text())
    assert installed["version"] == pinned
    env = {k: v for k, v in os.environ.items() if k != "CDK_DEFAULT_ACCOUNT"}
    result = subprocess.run(
        [npx, "--no-install", "cdk", "synth", "--quiet", "-c", "env=prod", "-o", str(tmp_path)],
        cwd=REPO_ROOT,
        env={**env, "CDK_DISABLE_CLI_TELEMETRY": "true"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob("*.template.json")) == [
        "WearitStorage-prod.template.json",
        "WearitStorageReplica-prod.template.json",
    ]


def test_synth_without_the_bundle_fails_with_one_line_naming_the_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CDK_DEFAULT_ACCOUNT"}
    result = subprocess.run(
        [_npx(), "--no-install", "cdk", "synth", "--quiet", "-c", "env=dev", "-o", str(tmp_path)],
        cwd=REPO_ROOT,
        env={
            **env,
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "WEARIT_BUNDLE_DIR": str(tmp_path / "no-bundle-here"),
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if "wearit-storage" in line]
    assert len(ours) == 1, result.stderr
    assert "bundle error: the Lambda bundle for arm64 is missing" in ours[0]
    assert "run `make bundle` first" in ours[0]
