"""Fixtures: the SDK talks to moto through a fault-injecting proxy; ``admin`` goes direct.

The moto server, the dummy AWS environment, the fresh versioned buckets and the admin
client are the SDK suite's own fixtures (``tests/sdk/conftest.py``), imported so both
suites arrange their buckets the same way; the clients and the repository built there
read ``settings``, which here points at the proxy with short timeouts and two attempts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.proxy import FaultProxy
from tests.sdk.conftest import (
    _dummy_aws_env,
    admin,
    bucket,
    client,
    moto_endpoint,
    replica_bucket,
    replica_client,
    repo,
)
from tests.sdk.helpers import PRIMARY_REGION, REPLICA_REGION
from wearit_storage import StorageSettings

__all__ = [
    "_dummy_aws_env",
    "admin",
    "bucket",
    "client",
    "moto_endpoint",
    "replica_bucket",
    "replica_client",
    "repo",
]

#: Attempts per request (botocore standard retries): one retry, so a fault is visible.
MAX_ATTEMPTS = 2


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy(moto_endpoint) as running:
        yield running


@pytest.fixture
def settings(proxy: FaultProxy, bucket: str, replica_bucket: str) -> StorageSettings:
    """The SDK's settings: every request goes through the proxy."""
    return StorageSettings(
        region=PRIMARY_REGION,
        bucket_name=bucket,
        access_key="testing",
        secret_key="testing",
        endpoint_url=proxy.url,
        replica_bucket_name=replica_bucket,
        replica_region=REPLICA_REGION,
        max_attempts=MAX_ATTEMPTS,
        connect_timeout_s=1.0,
        read_timeout_s=2.0,
    )
