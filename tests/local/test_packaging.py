"""The SDK wheel holds the SDK only: no moto, no local environment, its type marker."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.synth import REPO_ROOT
from wearit_local import errors
from wearit_storage import StorageError

_NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "cdk.out", "build", "*.egg-info", "__pycache__", ".*cache*"
)


def imported_modules(source: str) -> set[str]:
    """Top-level names of every module ``source`` imports, wherever the import stands."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_sdk_wheel_holds_neither_moto_nor_the_local_environment(tmp_path: Path) -> None:
    # From a copy of the checkout: an in-tree build would leave build/ behind, and files
    # left in build/ by an earlier build would end up in this wheel.
    source = tmp_path / "source"
    shutil.copytree(REPO_ROOT, source, ignore=_NOT_SOURCES)
    # With the virtualenv's pinned setuptools: no download, the same build every time.
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
            "--quiet",
            *("--disable-pip-version-check", "-w", str(tmp_path), str(source)),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("wearit_storage-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        modules = {name: archive.read(name).decode() for name in names if name.endswith(".py")}
    assert "wearit_storage/py.typed" in names
    (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    with zipfile.ZipFile(wheel) as archive:
        assert "License-Expression: MIT" in archive.read(metadata).decode().splitlines()
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "wearit_storage/__init__.py" in modules
    assert not [name for name in names if name.startswith("wearit_local")]
    for name, text in modules.items():
        assert not imported_modules(text) & {"moto", "wearit_local"}, name


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
