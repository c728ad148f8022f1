"""The image pipeline as it was before libvips (the hand-made Pillow engine), for
side-by-side rows: taken from the repository's history at :data:`COMMIT`, not copied into
the tree (2,225 lines that use Pillow's private API, which nothing under
``wearit_storage`` may do any more).

``load()`` extracts ``wearit_storage/imaging`` at that commit with ``git archive`` into
``benchmarks/results/tmp/previous_imaging`` (a package of that name, its one absolute
self-import renamed) and imports it. It needs the repository's history: in a shallow
clone the rows say why they are missing instead.
"""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Final

#: The last commit of the Pillow engine (the layout commit before this engine's).
COMMIT: Final = "639e290bd842a9b70c08361ca889a1925abcadbd"
PACKAGE: Final = "previous_imaging"
_ROOT: Final = Path(__file__).resolve().parents[2]
_TARGET: Final = _ROOT / "benchmarks" / "results" / "tmp"


def load() -> ModuleType:
    """The previous ``wearit_storage.imaging``, importable as ``previous_imaging``."""
    package_dir = _TARGET / PACKAGE
    if not (package_dir / "__init__.py").exists():
        archive = subprocess.run(
            ["git", "-C", str(_ROOT), "archive", "--format=tar", COMMIT, "wearit_storage/imaging"],
            check=True,
            capture_output=True,
        ).stdout
        package_dir.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            for member in tar.getmembers():
                if not member.isfile() or not member.name.endswith(".py"):
                    continue
                extracted = tar.extractfile(member)
                assert extracted is not None  # a regular file
                source = extracted.read().decode()
                source = source.replace("wearit_storage.imaging.", f"{PACKAGE}.")
                (package_dir / Path(member.name).name).write_text(source)
    if str(_TARGET) not in sys.path:
        sys.path.insert(0, str(_TARGET))
    return importlib.import_module(PACKAGE)
