"""``wearit_storage.__version__`` and ``wearit-storage --version``: the pyproject version."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError
from pathlib import Path

import pytest

import wearit_storage
from wearit_storage import _version

REPO_ROOT = Path(__file__).resolve().parents[2]
PYPROJECT_VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_version_is_the_installed_one_which_is_pyprojects() -> None:
    assert wearit_storage.__version__ == PYPROJECT_VERSION


def test_uninstalled_the_version_comes_from_the_source_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_installed(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(_version, "version", not_installed)
    assert _version.installed_version() == PYPROJECT_VERSION


def test_without_a_source_tree_or_with_another_projects_the_version_is_unknown(
    tmp_path: Path,
) -> None:
    assert _version.source_tree_version(tmp_path / "pyproject.toml") == "0+unknown"
    other = tmp_path / "pyproject.toml"
    other.write_text('[project]\nname = "other"\nversion = "9.9"\n')
    assert _version.source_tree_version(other) == "0+unknown"


def test_the_cli_prints_its_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wearit_storage", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, f"wearit-storage {PYPROJECT_VERSION}\n")
