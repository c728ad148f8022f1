"""Snapshots of every synthesized template: any change to the infrastructure shows up as a
reviewable diff. After an intended change: `.venv/bin/pytest tests/cdk --snapshot-update`."""

from __future__ import annotations

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
    assert templates[stack] == json_snapshot
