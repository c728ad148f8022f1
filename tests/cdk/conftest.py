"""Synthesize the real app once per session, from the real cdk.json context."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from cdk.application import build_app
from cdk.config import ENVIRONMENTS_CONTEXT_KEY

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("dev", "prod")


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


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
def cloud_assembly_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # The account must not leak in from the machine, or snapshots would differ per developer.
    saved = os.environ.pop("CDK_DEFAULT_ACCOUNT", None)
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(context=cdk_json_context(), outdir=str(outdir))
    build_app(app)
    app.synth()
    yield outdir
    if saved is not None:
        os.environ["CDK_DEFAULT_ACCOUNT"] = saved


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
