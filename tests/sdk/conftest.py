"""Fixtures: one moto S3 server over HTTP for the session, fresh versioned buckets per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.sdk.helpers import PRIMARY_REGION, REPLICA_REGION, make_jpeg, raw_client
from wearit_local.server import running_moto_server
from wearit_storage import (
    S3Client,
    StorageRepository,
    StorageSettings,
    SyncS3Client,
    SyncStorageRepository,
)

_DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": PRIMARY_REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
_UNSET_AWS_ENV = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ROLE_ARN")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        # Dummy credentials for the whole session: nothing can sign for a real account.
        for name, value in _DUMMY_AWS_ENV.items():
            patch.setenv(name, value)
        for name in _UNSET_AWS_ENV:
            patch.delenv(name, raising=False)
        with running_moto_server() as endpoint:  # quiet: no log line per request
            yield endpoint


@pytest.fixture(autouse=True)
def _dummy_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _DUMMY_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in _UNSET_AWS_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def admin(moto_endpoint: str) -> Any:
    """A raw boto3 client to arrange and inspect buckets behind the SDK's back."""
    return raw_client(moto_endpoint, PRIMARY_REGION)


def _versioned_bucket(endpoint: str, prefix: str, region: str) -> str:
    creator = raw_client(endpoint, region)
    name = f"{prefix}-{uuid.uuid4().hex[:16]}"
    creator.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    creator.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    return _versioned_bucket(moto_endpoint, "wearit-primary", PRIMARY_REGION)


@pytest.fixture
def replica_bucket(moto_endpoint: str) -> str:
    return _versioned_bucket(moto_endpoint, "wearit-replica", REPLICA_REGION)


@pytest.fixture
def settings(moto_endpoint: str, bucket: str, replica_bucket: str) -> StorageSettings:
    return StorageSettings(
        region=PRIMARY_REGION,
        bucket_name=bucket,
        access_key="testing",
        secret_key="testing",
        endpoint_url=moto_endpoint,
        replica_bucket_name=replica_bucket,
        replica_region=REPLICA_REGION,
        max_attempts=2,
    )


@pytest.fixture
def client(settings: StorageSettings) -> Iterator[SyncS3Client]:
    with SyncS3Client.from_settings(settings) as connected:
        yield connected


@pytest.fixture
def replica_client(settings: StorageSettings) -> Iterator[SyncS3Client]:
    with SyncS3Client.from_settings(settings.replica()) as connected:
        yield connected


@pytest.fixture
def repo(client: SyncS3Client, replica_client: SyncS3Client) -> SyncStorageRepository:
    return SyncStorageRepository(client, replica_client=replica_client, erasure_backoff_s=0.0)


@pytest.fixture
async def async_client(settings: StorageSettings) -> AsyncIterator[S3Client]:
    connected = await S3Client.from_settings(settings)
    yield connected
    await connected.close()


@pytest.fixture
async def async_repo(settings: StorageSettings) -> AsyncIterator[StorageRepository]:
    repository = await StorageRepository.from_settings(settings)
    yield repository
    await repository.close()


@pytest.fixture(scope="session")
def jpeg() -> bytes:
    return make_jpeg()
