"""Template fixtures over the session's synthesized app (``cloud_assembly_dir``); the helpers
the tests import are in ``tests/cdk/helpers.py``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdk.config import WORKER_RUNTIMES
from tests.cdk.helpers import (
    DISTINCT_PRINCIPALS,
    SIGNING_KEY_SECRET,
    Templates,
    cdn_with,
    environments_with,
    synthesize_primary,
)


@pytest.fixture(scope="session")
def templates(cloud_assembly_dir: Path) -> Templates:
    return {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in sorted(cloud_assembly_dir.glob("*.template.json"))
    }


@pytest.fixture(scope="session")
def distinctly_trusted(
    cloud_assembly_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    """The dev primary template with a different principal configured for every role and
    the CDN's signing key in a secret, by where the workers run (``workers``: ``lambda``,
    ``none``). ``cloud_assembly_dir`` first:
    it builds the workers' bundle the Lambda functions need."""
    return {
        workers: synthesize_primary(
            environments_with(
                "dev",
                workers=workers,
                trusted_principals=principals_for(workers),
                cdn=cdn_with("dev", private_key_secret_arn=SIGNING_KEY_SECRET),
            ),
            "dev",
            tmp_path_factory.mktemp(f"cdk.out-{workers}"),
        )
        for workers in WORKER_RUNTIMES
    }


def principals_for(workers: str) -> dict[str, str]:
    """DISTINCT_PRINCIPALS, without the Lambda-run roles' (refused: Lambda assumes them)."""
    if workers != "lambda":
        return DISTINCT_PRINCIPALS
    return {k: v for k, v in DISTINCT_PRINCIPALS.items() if k not in ("upload_worker", "eraser")}
