"""botocore configuration, client construction and error translation.

One boto3 client per ``connect()``: boto3 clients are thread-safe and own the urllib3
connection pool, whose size (``max_pool_connections``) equals the concurrency the SDK
allows, so worker threads never wait for (or discard) connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from wearit_storage.errors import (
    ObjectNotFound,
    StorageAccessDenied,
    StorageConfigurationError,
    StorageError,
    StorageUnavailable,
)
from wearit_storage.settings import StorageSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as BotoS3Client

#: botocore computes a checksum for CRC32C only with awscrt installed; SHA-256 is
#: built in, supported by S3 for PutObject and multipart uploads, and verified by S3.
CHECKSUM_ALGORITHM: Final = "SHA256"

_NOT_FOUND_CODES: Final = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchVersion"})
_DENIED_CODES: Final = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "AccountProblem",
    }
)
_UNAVAILABLE_CODES: Final = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "ServiceUnavailable",
        "InternalError",
        "500",
        "502",
        "503",
        "504",
    }
)
CONNECTION_ERRORS: Final = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)


def build_config(settings: StorageSettings) -> Config:
    """The SDK's botocore configuration, with ``settings.botocore_config`` merged over it."""
    config = Config(
        # total_max_attempts counts the first try; botocore's "max_attempts" would not.
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        max_pool_connections=settings.max_concurrency,
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        request_checksum_calculation="when_supported",
        response_checksum_validation="when_supported",
        signature_version="s3v4",
        # Local and S3-compatible endpoints rarely resolve bucket sub-domains.
        s3={"addressing_style": "path" if settings.endpoint_url else "virtual"},
    )
    if settings.botocore_config is not None:
        config = config.merge(settings.botocore_config)
    return config


def boto_session(settings: StorageSettings) -> boto3.session.Session:
    """A private session with the settings' credentials and region: boto3's default
    session is shared global state and not thread-safe."""
    return boto3.session.Session(
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        aws_session_token=settings.session_token,
        region_name=settings.region,
    )


def create_s3_client(settings: StorageSettings) -> BotoS3Client:
    session = boto_session(settings)
    client: BotoS3Client = session.client(
        "s3", endpoint_url=settings.endpoint_url, config=build_config(settings)
    )
    return client


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate_error(exc: Exception, *, operation: str, key: str, bucket: str) -> StorageError:
    """Map a boto error to the SDK hierarchy; the caller does ``raise ... from exc``."""
    if isinstance(exc, StorageError):
        return exc
    where = f"{operation} of {key!r} in bucket {bucket!r}"
    if isinstance(exc, S3UploadFailedError) and isinstance(exc.__cause__, Exception):
        return translate_error(exc.__cause__, operation=operation, key=key, bucket=bucket)
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code == "NoSuchBucket":
            return StorageConfigurationError(
                f"{where} failed: bucket does not exist; check AWS_BUCKET_NAME and the region",
                key=key,
            )
        if code in _NOT_FOUND_CODES:
            return ObjectNotFound(
                f"{where} failed: no such object (or version); check the key or upload it first",
                key=key,
            )
        if code in _DENIED_CODES:
            return StorageAccessDenied(
                f"{where} was denied ({code}); check the IAM policy and credentials in use",
                key=key,
            )
        if code in _UNAVAILABLE_CODES:
            return StorageUnavailable(
                f"{where} kept failing with {code} after retries; try again later",
                key=key,
            )
        return StorageError(f"{where} failed with {code}: {exc}", key=key)
    if isinstance(exc, CONNECTION_ERRORS):
        return StorageUnavailable(
            f"{where} failed: storage endpoint unreachable or too slow ({type(exc).__name__}); "
            "check AWS_ENDPOINT_URL / network and retry later",
            key=key,
        )
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return StorageConfigurationError(
            f"{where} failed: no usable AWS credentials; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY or configure a role",
            key=key,
        )
    if isinstance(exc, BotoCoreError):
        return StorageError(f"{where} failed: {exc}", key=key)
    return StorageError(f"{where} failed unexpectedly: {type(exc).__name__}: {exc}", key=key)
