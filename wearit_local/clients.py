"""boto3 clients pointed at the emulator: one place decides the endpoint and credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class LocalCredentials:
    """Credentials for the emulator; moto accepts any until IAM enforcement is switched on."""

    access_key_id: str = "testing"
    secret_access_key: str = "testing"  # noqa: S105 (moto's documented dummy value)
    session_token: str | None = None


def emulator_client(
    service: str,
    endpoint: str,
    region: str = DEFAULT_REGION,
    *,
    credentials: LocalCredentials | None = None,
    config: Config | None = None,
) -> Any:
    """A boto3 client for ``service`` at ``endpoint`` (moto serves every service there).

    The credentials are always explicit, so neither the machine's AWS profile nor its
    environment variables can point the client at a real account.
    """
    credentials = credentials or LocalCredentials()
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
        config=config,
    )


def error_code(exc: ClientError) -> str:
    """The service's error code of a failed request, e.g. ``NoSuchBucket``."""
    return str(exc.response.get("Error", {}).get("Code", ""))
