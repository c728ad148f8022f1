"""``make synth`` (and ``demo``, ``local-up``) trust their stamp only while ``cdk.out``
holds every environment: a one-environment synth written after it must not hide dev."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.synth import REPO_ROOT

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="needs GNU make")

# What the Makefile's rules depend on, oldest first: sources, install stamps, the synth stamp.
_SOURCES = (
    "Makefile",
    "app.py",
    "cdk.json",
    "pyproject.toml",
    "requirements.txt",
    "requirements-dev.txt",
    "requirements.lock",
    "package.json",
    "package-lock.json",
)
_STAMPS = (
    ".venv/.installed",
    "node_modules/.installed",
    "build/lambda/arm64/.bundle-hash",
    "cdk.out/.synthesized",
)


def checkout_after_synth(root: Path, environments: list[str]) -> Path:
    """A copy of the build inputs whose stamps are all up to date, with a cdk.out whose
    manifest holds the stacks of ``environments`` only."""
    for name in _SOURCES:
        shutil.copy2(REPO_ROOT / name, root / name)
    for package in ("cdk", "wearit_storage"):
        shutil.copytree(
            REPO_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    artifacts = {
        f"WearitStorage-{env}": {
            "type": "aws:cloudformation:stack",
            "properties": {"tags": {"Environment": env}},
        }
        for env in environments
    }
    (root / "cdk.out").mkdir()
    (root / "cdk.out" / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    for path in [*(p for p in root.rglob("*") if p.is_file()), *(root / s for s in _STAMPS)]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        os.utime(path, (1_000_000, 1_000_000))
    for age, stamp in enumerate(_STAMPS, start=1):
        os.utime(root / stamp, (1_000_000 + age, 1_000_000 + age))
    return root


def dry_run(root: Path, target: str, *variables: str) -> str:
    assert MAKE is not None
    result = subprocess.run(
        [MAKE, "-n", target, *variables],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout + result.stderr


def test_a_complete_cdk_out_is_not_synthesized_again(tmp_path: Path) -> None:
    out = dry_run(checkout_after_synth(tmp_path, ["dev", "prod"]), "synth")
    assert "Nothing to be done for 'synth'" in out
    assert "npx cdk synth" not in out


@pytest.mark.parametrize("target", ["synth", "demo", "local-up"])
def test_after_a_prod_only_synth_the_targets_synthesize_again(tmp_path: Path, target: str) -> None:
    out = dry_run(checkout_after_synth(tmp_path, ["prod"]), target)
    assert "cdk.out does not hold every environment (missing: dev): synthesizing again" in out
    assert "npx cdk synth --quiet" in out


def test_local_up_takes_a_free_port_unless_told_one(tmp_path: Path) -> None:
    """No fixed default: 4566 is every AWS emulator's port, and one running there would
    answer the SDK instead of ours."""
    root = checkout_after_synth(tmp_path, ["dev", "prod"])
    (command,) = [line for line in dry_run(root, "local-up").splitlines() if "wearit_local" in line]
    assert command.split()[-2:] == ["wearit_local", "up"]
    (command,) = [
        line
        for line in dry_run(root, "local-up", "PORT=4580").splitlines()
        if "wearit_local" in line
    ]
    assert command.split()[-3:] == ["up", "--port", "4580"]
