"""The SDK's version: the installed distribution's, else the source tree's pyproject.toml."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

DISTRIBUTION = "wearit-storage"
# Neither installed nor in a source tree (e.g. the package directory copied on its own).
UNKNOWN_VERSION = "0+unknown"
_PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def installed_version() -> str:
    """The version pip recorded; ``pyproject.toml``'s when the package is not installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return source_tree_version(_PYPROJECT)


def source_tree_version(pyproject: Path) -> str:
    try:
        project = tomllib.loads(pyproject.read_text())["project"]
    except (OSError, tomllib.TOMLDecodeError, KeyError):
        return UNKNOWN_VERSION
    if project.get("name") != DISTRIBUTION:  # some other project's pyproject.toml
        return UNKNOWN_VERSION
    return str(project.get("version", UNKNOWN_VERSION))
