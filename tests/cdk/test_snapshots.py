"""Snapshots of every synthesized template: any change to the infrastructure shows up as a
reviewable diff. After an intended change: `.venv/bin/pytest tests/cdk --snapshot-update`.

The workers' code is an asset named by the hash of the SDK's sources: any edit of the SDK
changes it, so snapshots hold a placeholder for it (``tests/cdk/test_workers.py`` checks
that the asset is the bundle built from this checkout)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

STACKS = (
    "WearitStorageReplica-dev",
    "WearitStorage-dev",
    "WearitStorageReplica-prod",
    "WearitStorage-prod",
)


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_every_stack_is_snapshotted(templates: dict[str, Any]) -> None:
    assert sorted(templates) == sorted(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_template_matches_snapshot(
    templates: dict[str, Any], stack: str, json_snapshot: SnapshotAssertion
) -> None:
    assert without_asset_hashes(templates[stack]) == json_snapshot


def without_asset_hashes(template: dict[str, Any]) -> dict[str, Any]:
    text = re.sub(r'"[0-9a-f]{64}\.zip"', '"<workers bundle>.zip"', json.dumps(template))
    normalized: dict[str, Any] = json.loads(text)
    return normalized
