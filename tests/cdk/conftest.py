"""Template fixtures over the session's synthesized app (``cloud_assembly_dir``); the helpers
the tests import are in ``tests/cdk/helpers.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cdk.helpers import Templates


@pytest.fixture(scope="session")
def templates(cloud_assembly_dir: Path) -> Templates:
    return {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in sorted(cloud_assembly_dir.glob("*.template.json"))
    }
