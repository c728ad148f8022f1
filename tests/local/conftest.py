"""The real app synthesized once per session, and one in-process moto server with dev in it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from wearit_storage.local import (
    MotoServerProcess,
    ProvisionedEnvironment,
    provision_environment,
    running_moto_server,
)


@pytest.fixture(scope="session")
def cdk_out(cloud_assembly_dir: Path) -> Path:
    return cloud_assembly_dir


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """In-process server: tests may inspect moto's stored state. Read-only use, please."""
    with running_moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def scratch_endpoint() -> Iterator[str]:
    """A child-process server (its own state) for tests that change what is provisioned."""
    with MotoServerProcess() as server:
        yield server.endpoint_url


@pytest.fixture(scope="session")
def dev(cdk_out: Path, scratch_endpoint: str) -> ProvisionedEnvironment:
    """dev as the CLI and the demo provision it (bucket policies not held)."""
    return provision_environment(cdk_out, "dev", s3_endpoint=scratch_endpoint)


def raw_template(cdk_out: Path, stack: str) -> dict[str, Any]:
    """The template as JSON, read without wearit_storage.local (tests derive from it)."""
    template: dict[str, Any] = json.loads((cdk_out / f"{stack}.template.json").read_text())
    return template


def manifest_region(cdk_out: Path, stack: str) -> str:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    environment: str = manifest["artifacts"][stack]["environment"]
    return environment.rsplit("/", 1)[1]


def client(service: str, endpoint: str, region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
