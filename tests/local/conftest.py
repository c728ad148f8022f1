"""The real app synthesized once per session, and moto servers with its environments in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local.drift import Declared, declared_buckets
from wearit_local import (
    MotoServerProcess,
    ProvisionedEnvironment,
    provision_environment,
    running_moto_server,
)

ENVIRONMENTS = ("dev", "prod")


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


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def provisioned(
    request: pytest.FixtureRequest, cdk_out: Path, moto_endpoint: str
) -> ProvisionedEnvironment:
    """Each environment with its bucket policies held, so that they can be compared (object
    requests are then denied: see the canaries)."""
    return provision_environment(
        cdk_out, request.param, s3_endpoint=moto_endpoint, hold_bucket_policies=True
    )


@pytest.fixture(scope="session")
def declared(cdk_out: Path, provisioned: ProvisionedEnvironment) -> list[Declared]:
    return declared_buckets(cdk_out, provisioned.env)
