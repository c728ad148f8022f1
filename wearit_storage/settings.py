"""Typed settings, read once from the environment.

Bucket precedence (``StorageSettings.from_env``):

1. ``WEARIT_ENV`` set (``dev`` or ``prod``): the matching ``AWS_BUCKET_NAME_DEV`` /
   ``AWS_BUCKET_NAME_PROD`` is required and wins; if ``AWS_BUCKET_NAME`` is also set to a
   *different* name the configuration is contradictory and rejected.
2. ``WEARIT_ENV`` unset: ``AWS_BUCKET_NAME`` is required.

The replica bucket (``WEARIT_REPLICA_BUCKET_NAME``) needs ``WEARIT_REPLICA_REGION_NAME``
and must differ from the primary bucket; a replica in the primary's own region is
accepted (same-region replication exists) but the buckets must differ.
Credentials: ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` both or neither (neither
means the default AWS credential chain: role, SSO, instance profile...).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from wearit_storage.errors import StorageConfigurationError

DEFAULT_MAX_CONCURRENCY: Final = 10
DEFAULT_GET_EXPIRY_S: Final = 3600
#: Body photos are the most sensitive data we hold: their links die quickly.
DEFAULT_BODY_GET_EXPIRY_S: Final = 300
DEFAULT_UPLOAD_EXPIRY_S: Final = 600
DEFAULT_MAX_UPLOAD_BYTES: Final = 15 * 1024 * 1024
DEFAULT_MULTIPART_THRESHOLD: Final = 8 * 1024 * 1024
DEFAULT_CONNECT_TIMEOUT_S: Final = 5.0
DEFAULT_READ_TIMEOUT_S: Final = 30.0
DEFAULT_MAX_ATTEMPTS: Final = 5
MAX_PRESIGN_EXPIRY_S: Final = 7 * 24 * 3600

_ENVIRONMENTS: Final = ("dev", "prod")


@dataclass(frozen=True, slots=True)
class StorageSettings:
    region: str
    bucket_name: str
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    # Temporary credentials (SSO, assumed roles, Lambda) are useless without their token.
    session_token: str | None = field(default=None, repr=False)
    endpoint_url: str | None = None
    replica_bucket_name: str | None = None
    replica_region: str | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    get_expiry_s: int = DEFAULT_GET_EXPIRY_S
    body_get_expiry_s: int = DEFAULT_BODY_GET_EXPIRY_S
    upload_expiry_s: int = DEFAULT_UPLOAD_EXPIRY_S
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def __post_init__(self) -> None:
        if not self.region:
            raise StorageConfigurationError("region is empty: set AWS_REGION_NAME")
        if not self.bucket_name:
            raise StorageConfigurationError("bucket_name is empty: set AWS_BUCKET_NAME")
        if self.session_token is not None and self.access_key is None:
            raise StorageConfigurationError(
                "AWS_SESSION_TOKEN is set without AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: set "
                "all three (temporary credentials) or none (default credential chain)"
            )
        if (self.access_key is None) != (self.secret_key is None):
            raise StorageConfigurationError(
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (or both "
                "left unset to use the default AWS credential chain)"
            )
        if (self.replica_bucket_name is None) != (self.replica_region is None):
            raise StorageConfigurationError(
                "WEARIT_REPLICA_BUCKET_NAME and WEARIT_REPLICA_REGION_NAME must be set "
                "together: erasure has to reach the replica in its own region"
            )
        if self.replica_bucket_name is not None and self.replica_bucket_name == self.bucket_name:
            raise StorageConfigurationError(
                "WEARIT_REPLICA_BUCKET_NAME equals the primary bucket name; point it at the "
                "replication destination bucket or unset it"
            )
        _check_range("WEARIT_MAX_CONCURRENCY", self.max_concurrency, 1, 256)
        _check_range("WEARIT_GET_EXPIRY_SECONDS", self.get_expiry_s, 1, MAX_PRESIGN_EXPIRY_S)
        _check_range(
            "WEARIT_BODY_GET_EXPIRY_SECONDS", self.body_get_expiry_s, 1, MAX_PRESIGN_EXPIRY_S
        )
        _check_range("WEARIT_UPLOAD_EXPIRY_SECONDS", self.upload_expiry_s, 1, MAX_PRESIGN_EXPIRY_S)
        _check_range("WEARIT_MAX_UPLOAD_BYTES", self.max_upload_bytes, 1, 5 * 1024**3)
        # S3 refuses multipart parts under 5 MiB (except the last one).
        _check_range(
            "WEARIT_MULTIPART_THRESHOLD", self.multipart_threshold, 5 * 1024**2, 5 * 1024**3
        )
        _check_range("WEARIT_MAX_ATTEMPTS", self.max_attempts, 1, 20)
        _check_range("WEARIT_CONNECT_TIMEOUT_SECONDS", self.connect_timeout_s, 0.1, 300)
        _check_range("WEARIT_READ_TIMEOUT_SECONDS", self.read_timeout_s, 0.1, 3600)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageSettings:
        """Read the environment (``os.environ`` when ``environ`` is None).

        Not ``environ=os.environ`` as a default: the default would be rendered by
        ``help()`` and API docs, secrets included.
        """
        source = os.environ if environ is None else environ
        env = {k: v.strip() for k, v in source.items() if v.strip()}
        region = env.get("AWS_REGION_NAME")
        if region is None:
            raise StorageConfigurationError(
                "AWS_REGION_NAME is not set: set it to the bucket's region, e.g. eu-west-3"
            )
        return cls(
            region=region,
            bucket_name=_select_bucket(env),
            access_key=env.get("AWS_ACCESS_KEY_ID"),
            secret_key=env.get("AWS_SECRET_ACCESS_KEY"),
            session_token=env.get("AWS_SESSION_TOKEN") if "AWS_ACCESS_KEY_ID" in env else None,
            endpoint_url=env.get("AWS_ENDPOINT_URL"),
            replica_bucket_name=env.get("WEARIT_REPLICA_BUCKET_NAME"),
            replica_region=env.get("WEARIT_REPLICA_REGION_NAME"),
            max_concurrency=_int(env, "WEARIT_MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY),
            get_expiry_s=_int(env, "WEARIT_GET_EXPIRY_SECONDS", DEFAULT_GET_EXPIRY_S),
            body_get_expiry_s=_int(
                env, "WEARIT_BODY_GET_EXPIRY_SECONDS", DEFAULT_BODY_GET_EXPIRY_S
            ),
            upload_expiry_s=_int(env, "WEARIT_UPLOAD_EXPIRY_SECONDS", DEFAULT_UPLOAD_EXPIRY_S),
            max_upload_bytes=_int(env, "WEARIT_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES),
            multipart_threshold=_int(
                env, "WEARIT_MULTIPART_THRESHOLD", DEFAULT_MULTIPART_THRESHOLD
            ),
            connect_timeout_s=_float(
                env, "WEARIT_CONNECT_TIMEOUT_SECONDS", DEFAULT_CONNECT_TIMEOUT_S
            ),
            read_timeout_s=_float(env, "WEARIT_READ_TIMEOUT_SECONDS", DEFAULT_READ_TIMEOUT_S),
            max_attempts=_int(env, "WEARIT_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS),
        )


def _select_bucket(env: Mapping[str, str]) -> str:
    plain = env.get("AWS_BUCKET_NAME")
    wearit_env = env.get("WEARIT_ENV")
    if wearit_env is None:
        if plain is None:
            raise StorageConfigurationError(
                "AWS_BUCKET_NAME is not set: set it, or set WEARIT_ENV=dev|prod together "
                "with AWS_BUCKET_NAME_DEV / AWS_BUCKET_NAME_PROD"
            )
        return plain
    if wearit_env not in _ENVIRONMENTS:
        raise StorageConfigurationError(
            f"WEARIT_ENV={wearit_env!r} is not supported: use 'dev' or 'prod'"
        )
    variable = f"AWS_BUCKET_NAME_{wearit_env.upper()}"
    selected = env.get(variable)
    if selected is None:
        raise StorageConfigurationError(
            f"WEARIT_ENV={wearit_env} but {variable} is not set: set {variable} to the "
            f"{wearit_env} bucket name"
        )
    if plain is not None and plain != selected:
        raise StorageConfigurationError(
            f"AWS_BUCKET_NAME={plain!r} contradicts {variable}={selected!r} selected by "
            f"WEARIT_ENV={wearit_env}: unset AWS_BUCKET_NAME or make them equal"
        )
    return selected


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise StorageConfigurationError(f"{name}={raw!r} is not an integer") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise StorageConfigurationError(f"{name}={raw!r} is not a number") from None


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise StorageConfigurationError(f"{name}={value} is out of range: use {low}..{high}")
