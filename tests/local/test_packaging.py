"""What ``make dist`` builds: a wheel holding the SDK only (no moto, no local environment,
its type marker), an sdist, and a wheel that installs and runs from itself alone."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.synth import REPO_ROOT
from wearit_local import errors
from wearit_storage import StorageError

MAKE = shutil.which("make")


def imported_modules(source: str) -> set[str]:
    """Top-level names of every module ``source`` imports, wherever the import stands."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``make dist`` builds (the README's install instructions start from it), into a
    directory of the test's. ``-o``: the virtualenv is taken as installed, never rebuilt."""
    if MAKE is None:
        pytest.skip("needs GNU make")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [MAKE, "-o", ".venv/.installed", "dist", f"DIST_DIR={out}"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def test_the_sdk_wheel_holds_neither_moto_nor_the_local_environment(dist: Path) -> None:
    (wheel,) = dist.glob("wearit_storage-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        modules = {name: archive.read(name).decode() for name in names if name.endswith(".py")}
    assert "wearit_storage/py.typed" in names
    (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    with zipfile.ZipFile(wheel) as archive:
        lines = archive.read(metadata).decode().splitlines()
    assert "License-Expression: MIT" in lines
    assert "Provides-Extra: fastapi" in lines
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "wearit_storage/__init__.py" in modules
    assert not [name for name in names if name.startswith("wearit_local")]
    for name, text in modules.items():
        assert not imported_modules(text) & {"moto", "wearit_local"}, name


def test_the_sdist_holds_the_sdk_and_what_builds_it_only(dist: Path) -> None:
    (sdist,) = dist.glob("wearit_storage-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "LICENSE", "wearit_storage/py.typed"} <= names
    assert not {name.split("/")[0] for name in names} & {"wearit_local", "tests", "cdk"}


def test_the_built_wheel_installs_and_runs(dist: Path, tmp_path: Path) -> None:
    """Installed from the wheel alone (no index), the package imports from there and its
    command prints the version."""
    (wheel,) = dist.glob("wearit_storage-*.whl")
    site = tmp_path / "site"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--no-deps", "--no-index", "--target", str(site), str(wheel)),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    code = (
        "import sys, wearit_storage, wearit_storage.cli; print(wearit_storage.__file__); "
        "sys.argv = ['wearit-storage', '--version']; wearit_storage.cli.main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    location, version = result.stdout.splitlines()
    assert location.startswith(str(site))
    assert version == f"wearit-storage {wheel.name.split('-')[1]}"


def test_importing_the_sdk_and_its_cli_loads_neither() -> None:
    code = (
        "import sys, wearit_storage, wearit_storage.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'moto', 'wearit_local'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_local_errors_are_not_storage_errors() -> None:
    """Code that handles the SDK's errors never catches the developer tool's."""
    local_errors = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, Exception)
    ]
    assert len(local_errors) > 1
    for error in local_errors:
        assert issubclass(error, errors.LocalEnvironmentError)
        assert not issubclass(error, StorageError)
