"""The pinned CDK CLI synthesizes from the repository root, exactly as the README says."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.synth import REPO_ROOT


def test_npx_cdk_synth_with_the_pinned_cli(tmp_path: Path) -> None:
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
