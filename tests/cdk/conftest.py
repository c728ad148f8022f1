"""Template fixtures over the session's synthesized app (``cloud_assembly_dir``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from cdk.config import ENVIRONMENTS_CONTEXT_KEY
from tests.synth import cdk_json_context

ENVIRONMENTS = ("dev", "prod")


def environments_with(env: str, **overrides: Any) -> dict[str, Any]:
    """The cdk.json context with some keys of one environment replaced (None deletes)."""
    context = copy.deepcopy(cdk_json_context())
    block = context[ENVIRONMENTS_CONTEXT_KEY][env]
    for key, value in overrides.items():
        if value is None:
            block.pop(key, None)
        else:
            block[key] = value
    return context


@pytest.fixture(scope="session")
def templates(cloud_assembly_dir: Path) -> dict[str, dict[str, Any]]:
    return {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in sorted(cloud_assembly_dir.glob("*.template.json"))
    }


def primary(templates: dict[str, dict[str, Any]], env: str) -> Template:
    return Template.from_json(templates[f"WearitStorage-{env}"])


def replica(templates: dict[str, dict[str, Any]], env: str) -> Template:
    return Template.from_json(templates[f"WearitStorageReplica-{env}"])


def resources_of_type(template: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == cfn_type
    }


def bucket_named(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in resources_of_type(template, "AWS::S3::Bucket").items():
        if resource["Properties"].get("BucketName") == name:
            return logical_id, resource
    raise AssertionError(f"no bucket named {name} in template")


def role_named(template: dict[str, Any], name: str) -> dict[str, Any]:
    for resource in resources_of_type(template, "AWS::IAM::Role").values():
        if resource["Properties"].get("RoleName") == name:
            return resource
    raise AssertionError(f"no role named {name} in template")
