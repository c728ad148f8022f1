"""The workers' Lambda bundle: the SDK and its pinned runtime dependencies, built by pip
for Lambda's platform without Docker.

``python -m cdk.bundle`` (``make bundle``) builds ``build/lambda/<arch>/``: the SDK as a
wheel plus every runtime dependency, as ``pip install --target`` lays them out, with the
versions of ``requirements.lock`` and only binary wheels for CPython 3.13 on manylinux
(what Lambda's ``python3.13`` runtime runs: Amazon Linux 2023, glibc 2.34). A bundle knows
the hash of what it was built from (the lock, ``pyproject.toml`` and every file of the
SDK): building again with nothing changed does nothing, and synthesizing with a bundle
built from other sources fails, so ``cdk deploy`` never ships code older than the
checkout.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
#: Where bundles are built: ``build/lambda`` of the checkout, or ``WEARIT_BUNDLE_DIR`` (a
#: CI cache, say).
BUILD_DIR: Final = Path(os.environ.get("WEARIT_BUNDLE_DIR") or REPO_ROOT / "build" / "lambda")
HASH_FILE: Final = ".bundle-hash"
PYTHON_VERSION: Final = "3.13"
#: Lambda's architectures, by the name the CDK and ``uname -m`` use.
ARCHITECTURES: Final = ("arm64", "x86_64")
_PLATFORM_MACHINE: Final = {"arm64": "aarch64", "x86_64": "x86_64"}
#: The manylinux tags pip may pick, oldest first; all run on Amazon Linux 2023.
_MANYLINUX: Final = ("manylinux2014", "manylinux_2_28", "manylinux_2_34")
BUILD_COMMAND: Final = "make bundle"
#: Runtime dependencies PyPI publishes as source only: pure Python, so the wheel pip
#: builds from the source here (``py3-none-any``) runs on Lambda too. pyvips' compiled part
#: (libvips and its binding) comes as a binary wheel, ``pyvips-binary``.
_PURE_SOURCE_ONLY: Final = ("pyvips",)


class BundleError(Exception):
    """The bundle is missing, stale or could not be built; the message says what to run."""


@dataclass(frozen=True)
class Bundle:
    """A built bundle: its directory and the hash of the sources it was built from."""

    directory: Path
    source_hash: str


def bundle_dir(architecture: str) -> Path:
    if architecture not in ARCHITECTURES:
        raise BundleError(f"unknown architecture {architecture!r}: use one of {ARCHITECTURES}")
    return BUILD_DIR / architecture


def source_hash(root: Path = REPO_ROOT) -> str:
    """What a bundle is built from: the lock, the project file and the SDK's files."""
    digest = hashlib.sha256()
    inputs = [root / "requirements.lock", root / "pyproject.toml"]
    inputs += sorted(
        path
        for path in (root / "wearit_storage").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    for path in inputs:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def require_bundle(architecture: str) -> Bundle:
    """The bundle for ``architecture``, built from the current sources; ``BundleError`` (one
    line, naming the command that builds it) when it is missing or stale."""
    directory = bundle_dir(architecture)
    marker = directory / HASH_FILE
    if not marker.is_file():
        raise BundleError(
            f"the Lambda bundle for {architecture} is missing ({directory}): "
            f"run `{BUILD_COMMAND}` first"
        )
    built_from, current = marker.read_text().strip(), source_hash()
    if built_from != current:
        raise BundleError(
            f"the Lambda bundle for {architecture} was built from other sources than this "
            f"checkout's: run `{BUILD_COMMAND}` again"
        )
    return Bundle(directory, current)


def build(architecture: str, *, python: str = sys.executable) -> Bundle:
    """Build the bundle for ``architecture`` unless it is built from these sources already."""
    wanted = source_hash()
    directory = bundle_dir(architecture)
    marker = directory / HASH_FILE
    if marker.is_file() and marker.read_text().strip() == wanted:
        return Bundle(directory, wanted)
    with tempfile.TemporaryDirectory(prefix="wearit-bundle-") as scratch:
        wheels = Path(scratch) / "wheels"
        staging = Path(scratch) / "bundle"
        # From a clean copy of the sources: setuptools' build/ directory would otherwise
        # carry modules deleted since the last build into the wheel.
        sources = Path(scratch) / "sources"
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            (sources / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, sources / name)
        shutil.copytree(
            REPO_ROOT / "wearit_storage",
            sources / "wearit_storage",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        _run(
            [python, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels), str(sources)],
            "build the SDK's wheel",
        )
        (wheel,) = wheels.glob("wearit_storage-*.whl")
        _build_pure_wheels(python, wheels)
        machine = _PLATFORM_MACHINE[architecture]
        platforms = [arg for tag in _MANYLINUX for arg in ("--platform", f"{tag}_{machine}")]
        _run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(staging),
                *platforms,
                "--only-binary=:all:",
                "--python-version",
                PYTHON_VERSION,
                "--implementation",
                "cp",
                "--no-compile",
                "--find-links",
                str(wheels),
                "--constraint",
                str(REPO_ROOT / "requirements.lock"),
                str(wheel),
            ],
            f"install the runtime dependencies for {architecture}",
        )
        # Console scripts are for a shell, not for Lambda.
        shutil.rmtree(staging / "bin", ignore_errors=True)
        (staging / HASH_FILE).write_text(wanted + "\n")
        if directory.exists():
            shutil.rmtree(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), directory)
    return Bundle(directory, wanted)


def _build_pure_wheels(python: str, wheels: Path) -> None:
    """Wheels of the locked versions of :data:`_PURE_SOURCE_ONLY`, refused unless pure."""
    pins = [
        line.strip()
        for line in (REPO_ROOT / "requirements.lock").read_text().splitlines()
        if line.split("==")[0].strip().lower() in _PURE_SOURCE_ONLY
    ]
    _run(
        [python, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels), *pins],
        "build the wheels of " + ", ".join(_PURE_SOURCE_ONLY),
    )
    for name in _PURE_SOURCE_ONLY:
        if not any(wheels.glob(f"{name}-*-py3-none-any.whl")):
            raise BundleError(
                f"{name}'s wheel built here is not pure Python (py3-none-any): it would not "
                "run on Lambda; build it where its native headers are absent"
            )


def size_bytes(directory: Path) -> int:
    """What the bundle weighs unzipped (Lambda's limit: 250 MB)."""
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def _run(command: list[str], what: str) -> None:
    # The command is ours: pip, with paths of this checkout.
    result = subprocess.run(  # noqa: S603
        command, cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise BundleError(f"could not {what}: " + " | ".join(detail))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cdk.bundle", description="Build the workers' Lambda bundle."
    )
    parser.add_argument("architectures", nargs="*", default=["arm64"], choices=ARCHITECTURES)
    args = parser.parse_args(argv)
    try:
        for architecture in args.architectures:
            bundle = build(architecture)
            size = size_bytes(bundle.directory) / 1e6
            print(f"lambda bundle {architecture}: {bundle.directory} ({size:.0f} MB unzipped)")
    except BundleError as error:
        print(f"wearit-storage bundle error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
