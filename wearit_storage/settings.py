"""Typed settings: everything the SDK reads from the environment, in one object.

What cannot come from an environment variable is passed in code beside it: the rendition
policies and erasure retries of a repository (``RepositoryOptions``), a worker's
concurrency, and any botocore option through ``botocore_config``.

Every tunable field is one row: its environment variable, its parser and its range live in
the field's metadata (:class:`Setting`), and both :meth:`StorageSettings.from_env` and the
validation in ``__post_init__`` read that row, so a default, a variable name or a range is
written once.

Bucket precedence (``StorageSettings.from_env``):

1. ``WEARIT_ENV`` set (``dev`` or ``prod``): the matching ``AWS_BUCKET_NAME_DEV`` /
   ``AWS_BUCKET_NAME_PROD`` is required and wins; if ``AWS_BUCKET_NAME`` is also set to a
   *different* name the configuration is contradictory and rejected.
2. ``WEARIT_ENV`` unset: ``AWS_BUCKET_NAME`` is required.

Endpoint: ``AWS_ENDPOINT_URL_S3`` beats ``AWS_ENDPOINT_URL`` (boto's precedence), both read
from the same mapping as everything else.

The replica bucket (``WEARIT_REPLICA_BUCKET_NAME``) needs ``WEARIT_REPLICA_REGION_NAME``
and must differ from the primary bucket; a replica in the primary's own region is
accepted (same-region replication exists) but the buckets must differ.
Credentials: ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` both or neither (neither
means the default AWS credential chain: role, SSO, instance profile...).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from botocore.config import Config

from wearit_storage.errors import StorageConfigurationError
from wearit_storage.imaging.budget import DEFAULT_MEGABYTES as DEFAULT_IMAGE_MEMORY_MB
from wearit_storage.imaging.limits import MAX_UPLOAD_BYTES

MAX_PRESIGN_EXPIRY_S: Final = 7 * 24 * 3600
_ENVIRONMENTS: Final = ("dev", "prod")
_SETTING: Final = "wearit_setting"


def _parse_text(variable: str, raw: str) -> str:
    return raw


# ASCII only: int() and float() also accept "1_0" and digits of other scripts.
_INTEGER: Final = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL: Final = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_REGION: Final = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}", re.ASCII)
_BUCKET: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", re.ASCII)
_IP_ADDRESS: Final = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", re.ASCII)


def _parse_int(variable: str, raw: str) -> int:
    if _INTEGER.fullmatch(raw) is None:
        raise StorageConfigurationError(f"{variable}={raw!r} is not an integer (digits 0-9)")
    return int(raw)


def _parse_float(variable: str, raw: str) -> float:
    if _DECIMAL.fullmatch(raw) is None:
        raise StorageConfigurationError(f"{variable}={raw!r} is not a number (e.g. 2.5)")
    return float(raw)


def check_region(variable: str, value: str) -> str:
    if _REGION.fullmatch(value) is None:
        raise StorageConfigurationError(
            f"{variable}={value!r} is not an AWS region name: use e.g. eu-west-3"
        )
    return value


def check_bucket_name(variable: str, value: str) -> str:
    if _BUCKET.fullmatch(value) is None or ".." in value or _IP_ADDRESS.fullmatch(value):
        raise StorageConfigurationError(
            f"{variable}={value[:70]!r} is not an S3 bucket name: 3-63 characters of a-z, "
            "0-9, '.' and '-', starting and ending with a letter or digit"
        )
    return value


def check_endpoint(variable: str, value: str) -> str:
    parsed = urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise StorageConfigurationError(
            f"{variable}={value!r} is not an endpoint URL: use e.g. http://127.0.0.1:4566"
        )
    return value


def check_queue_url(variable: str, value: str) -> str:
    parsed = urlsplit(value)
    path = [segment for segment in parsed.path.split("/") if segment]
    if parsed.scheme not in ("http", "https") or not parsed.hostname or len(path) != 2:
        raise StorageConfigurationError(
            f"{variable}={value!r} is not an SQS queue URL: use e.g. "
            "https://sqs.eu-west-3.amazonaws.com/123456789012/wearit-storage-prod-uploads"
        )
    return value


_HOST: Final = re.compile(
    r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}", re.ASCII
)
_KEY_PAIR_ID: Final = re.compile(r"[A-Z0-9]{8,32}", re.ASCII)


def check_cdn_domain(variable: str, value: str) -> str:
    if _HOST.fullmatch(value) is None:
        raise StorageConfigurationError(
            f"{variable}={value!r} is not a host name: use the CDN's domain alone, e.g. "
            "images.wearit.com (no scheme, no path)"
        )
    return value


def check_key_pair_id(variable: str, value: str) -> str:
    if _KEY_PAIR_ID.fullmatch(value) is None:
        raise StorageConfigurationError(
            f"{variable}={value!r} is not a CloudFront public key id: use the stack output "
            "CdnPublicKeyIds, e.g. K2JCJMDEHXQW5F"
        )
    return value


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of the settings table: where a field comes from and what it may hold."""

    variable: str
    parse: Callable[[str, str], Any] = _parse_text
    low: float | None = None
    high: float | None = None

    def check(self, value: float) -> None:
        if self.low is not None and self.high is not None and not self.low <= value <= self.high:
            raise StorageConfigurationError(
                f"{self.variable}={value} is out of range: use "
                f"{_number(self.low)}..{_number(self.high)}"
            )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _setting(
    variable: str,
    default: Any = None,
    parse: Callable[[str, str], Any] = _parse_text,
    *,
    low: float | None = None,
    high: float | None = None,
    secret: bool = False,
) -> Any:
    return field(
        default=default,
        repr=not secret,
        metadata={_SETTING: Setting(variable, parse, low, high)},
    )


def _text(variable: str, *, secret: bool = False) -> Any:
    return _setting(variable, secret=secret)


def _int(variable: str, default: int, low: int, high: int) -> Any:
    return _setting(variable, default, _parse_int, low=low, high=high)


def _seconds(variable: str, default: float, low: float, high: float) -> Any:
    return _setting(variable, default, _parse_float, low=low, high=high)


@dataclass(frozen=True, slots=True)
class StorageSettings:
    # Required; from_env reads AWS_REGION_NAME and selects the bucket (see module doc).
    region: str
    bucket_name: str
    access_key: str | None = _text("AWS_ACCESS_KEY_ID")
    secret_key: str | None = _text("AWS_SECRET_ACCESS_KEY", secret=True)
    # Temporary credentials (SSO, assumed roles, Lambda) are useless without their token.
    session_token: str | None = _text("AWS_SESSION_TOKEN", secret=True)
    endpoint_url: str | None = None
    replica_bucket_name: str | None = _text("WEARIT_REPLICA_BUCKET_NAME")
    replica_region: str | None = _text("WEARIT_REPLICA_REGION_NAME")
    #: The queue S3 announces direct uploads on; only ``wearit-storage worker`` needs it.
    upload_queue_url: str | None = _setting("WEARIT_UPLOAD_QUEUE_URL", parse=check_queue_url)
    #: The queue S3 announces erasure requests on; only ``wearit-storage eraser`` needs it.
    erasure_queue_url: str | None = _setting("WEARIT_ERASURE_QUEUE_URL", parse=check_queue_url)
    #: Uploads a worker handles at once (``wearit-storage worker``, and the messages of
    #: one Lambda batch).
    worker_concurrency: int = _int("WEARIT_WORKER_CONCURRENCY", 1, 1, 64)
    #: The longest one queue message may take: a Lambda worker starts a message only while
    #: this much of its invocation is left, and returns the others whole.
    message_deadline_s: int = _int("WEARIT_MESSAGE_DEADLINE_SECONDS", 20, 1, 900)
    #: How long the eraser waits before its second pass: the longest a write of the user
    #: can still land (replication's 15 minutes; SQS delays a message at most that long).
    #: Lower only where nothing replicates: the local environment, tests.
    erasure_second_pass_s: int = _int("WEARIT_ERASURE_SECOND_PASS_SECONDS", 900, 0, 900)
    #: Worker threads of the async faces = the boto3 connection pool size.
    max_concurrency: int = _int("WEARIT_MAX_CONCURRENCY", 10, 1, 256)
    get_expiry_s: int = _int("WEARIT_GET_EXPIRY_SECONDS", 3600, 1, MAX_PRESIGN_EXPIRY_S)
    #: Body photos are the most sensitive data we hold: their links die quickly.
    body_get_expiry_s: int = _int("WEARIT_BODY_GET_EXPIRY_SECONDS", 300, 1, MAX_PRESIGN_EXPIRY_S)
    upload_expiry_s: int = _int("WEARIT_UPLOAD_EXPIRY_SECONDS", 600, 1, MAX_PRESIGN_EXPIRY_S)
    #: The one byte limit of every upload path (presigned POST, temp upload, render).
    max_upload_bytes: int = _int("WEARIT_MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES, 1, 5 * 1024**3)
    # S3 refuses multipart parts under 5 MiB (except the last one).
    multipart_threshold: int = _int(
        "WEARIT_MULTIPART_THRESHOLD", 8 * 1024**2, 5 * 1024**2, 5 * 1024**3
    )
    connect_timeout_s: float = _seconds("WEARIT_CONNECT_TIMEOUT_SECONDS", 5.0, 0.1, 300)
    read_timeout_s: float = _seconds("WEARIT_READ_TIMEOUT_SECONDS", 30.0, 0.1, 3600)
    #: Attempts in total, the first included (botocore "standard" retries).
    max_attempts: int = _int("WEARIT_MAX_ATTEMPTS", 5, 1, 20)
    #: Pixel memory that concurrent image decodes may hold at once; more waits its turn.
    image_memory_mb: int = _int("WEARIT_IMAGE_MEMORY_MB", DEFAULT_IMAGE_MEMORY_MB, 64, 65536)
    #: The image CDN (``wearit_storage.delivery``): its domain and the key the SDK signs
    #: with, read from one of a file, a Secrets Manager secret or an SSM SecureString.
    cdn_domain: str | None = _setting("WEARIT_CDN_DOMAIN", parse=check_cdn_domain)
    cdn_key_pair_id: str | None = _setting("WEARIT_CDN_KEY_PAIR_ID", parse=check_key_pair_id)
    cdn_private_key_file: str | None = _text("WEARIT_CDN_PRIVATE_KEY_FILE")
    cdn_private_key_secret: str | None = _text("WEARIT_CDN_PRIVATE_KEY_SECRET")
    cdn_private_key_parameter: str | None = _text("WEARIT_CDN_PRIVATE_KEY_PARAMETER")
    #: Signed URLs expire at the next multiple of this after their expiry: one URL per
    #: image version per window, which the phone's cache and the CDN can reuse.
    cdn_url_window_s: int = _int("WEARIT_CDN_URL_WINDOW_SECONDS", 3600, 60, 24 * 3600)
    #: How long the signed cookies of ``signed_cookies(user_id)`` last: a session.
    cdn_cookie_expiry_s: int = _int("WEARIT_CDN_COOKIE_SECONDS", 12 * 3600, 60, 7 * 24 * 3600)
    #: The distribution whose cache an erasure invalidates (stack output CdnDistributionId).
    cdn_distribution_id: str | None = _setting(
        "WEARIT_CDN_DISTRIBUTION_ID", parse=check_key_pair_id
    )
    #: Merged over the SDK's own botocore configuration (proxies, user agent, ...).
    botocore_config: Config | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.region:
            raise StorageConfigurationError("region is empty: set AWS_REGION_NAME")
        if not self.bucket_name:
            raise StorageConfigurationError("bucket_name is empty: set AWS_BUCKET_NAME")
        check_region("AWS_REGION_NAME", self.region)
        check_bucket_name("AWS_BUCKET_NAME", self.bucket_name)
        if self.endpoint_url is not None:
            check_endpoint("AWS_ENDPOINT_URL", self.endpoint_url)
        if self.replica_region is not None:
            check_region("WEARIT_REPLICA_REGION_NAME", self.replica_region)
        if self.replica_bucket_name is not None:
            check_bucket_name("WEARIT_REPLICA_BUCKET_NAME", self.replica_bucket_name)
        if self.upload_queue_url is not None:
            check_queue_url("WEARIT_UPLOAD_QUEUE_URL", self.upload_queue_url)
        if self.erasure_queue_url is not None:
            check_queue_url("WEARIT_ERASURE_QUEUE_URL", self.erasure_queue_url)
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
        self._check_cdn()
        for name, setting in _TABLE.items():
            value = getattr(self, name)
            if isinstance(value, int | float):
                setting.check(value)

    def _check_cdn(self) -> None:
        if self.cdn_domain is not None:
            check_cdn_domain("WEARIT_CDN_DOMAIN", self.cdn_domain)
        if self.cdn_key_pair_id is not None:
            check_key_pair_id("WEARIT_CDN_KEY_PAIR_ID", self.cdn_key_pair_id)
        if self.cdn_distribution_id is not None:
            check_key_pair_id("WEARIT_CDN_DISTRIBUTION_ID", self.cdn_distribution_id)
        sources = [
            variable
            for variable, value in (
                ("WEARIT_CDN_PRIVATE_KEY_FILE", self.cdn_private_key_file),
                ("WEARIT_CDN_PRIVATE_KEY_SECRET", self.cdn_private_key_secret),
                ("WEARIT_CDN_PRIVATE_KEY_PARAMETER", self.cdn_private_key_parameter),
            )
            if value is not None
        ]
        if (self.cdn_domain is None) != (self.cdn_key_pair_id is None):
            raise StorageConfigurationError(
                "WEARIT_CDN_DOMAIN and WEARIT_CDN_KEY_PAIR_ID must be set together (the CDN "
                "and the key it trusts), or both left unset to serve presigned S3 URLs"
            )
        if self.cdn_domain is not None and len(sources) != 1:
            raise StorageConfigurationError(
                "the CDN needs its private key from exactly one of WEARIT_CDN_PRIVATE_KEY_FILE, "
                "WEARIT_CDN_PRIVATE_KEY_SECRET (Secrets Manager) or "
                f"WEARIT_CDN_PRIVATE_KEY_PARAMETER (SSM SecureString); got {len(sources)}"
            )
        if self.cdn_domain is None and sources:
            raise StorageConfigurationError(
                f"{sources[0]} is set without WEARIT_CDN_DOMAIN and WEARIT_CDN_KEY_PAIR_ID: set "
                "them too, or unset it"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageSettings:
        """Read the environment (``os.environ`` when ``environ`` is None).

        Not ``environ=os.environ`` as a default: the default would be rendered by
        ``help()`` and API docs, secrets included.
        """
        source = os.environ if environ is None else environ
        env = {k: v.strip() for k, v in source.items() if v.strip()}
        # Both required values are read before either error is raised, so an empty
        # environment names every missing variable at once, not one per attempt.
        found: dict[str, str] = {}
        problems: list[str] = []
        for name, read in (("region", _region_from), ("bucket_name", _select_bucket)):
            try:
                found[name] = read(env)
            except StorageConfigurationError as exc:
                problems.append(str(exc))
        if problems:
            raise StorageConfigurationError("; ".join(problems))
        values = {
            name: setting.parse(setting.variable, env[setting.variable])
            for name, setting in _TABLE.items()
            if setting.variable in env
        }
        return cls(
            region=found["region"],
            bucket_name=found["bucket_name"],
            endpoint_url=endpoint_from(env),
            **values,
        )

    @classmethod
    def for_bucket(
        cls,
        region: str,
        bucket_name: str,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> StorageSettings:
        """The settings of ``connect(region, bucket_name, access_key, secret_key)``: defaults
        for the rest, the endpoint from the process environment as boto would pick it."""
        return cls(
            region=region,
            bucket_name=bucket_name,
            access_key=access_key,
            secret_key=secret_key,
            endpoint_url=endpoint_from(os.environ),
        )

    def replica(self) -> StorageSettings:
        """The same settings pointed at the replica bucket, in its region."""
        if self.replica_bucket_name is None or self.replica_region is None:
            raise StorageConfigurationError(
                "no replica configured: set WEARIT_REPLICA_BUCKET_NAME and "
                "WEARIT_REPLICA_REGION_NAME"
            )
        return dataclasses.replace(
            self,
            region=self.replica_region,
            bucket_name=self.replica_bucket_name,
            replica_bucket_name=None,
            replica_region=None,
            # URLs are made by the primary's client only (the CDN reads the replica itself).
            cdn_domain=None,
            cdn_key_pair_id=None,
            cdn_private_key_file=None,
            cdn_private_key_secret=None,
            cdn_private_key_parameter=None,
        )

    @property
    def has_replica(self) -> bool:
        return self.replica_bucket_name is not None

    @property
    def has_cdn(self) -> bool:
        """Whether stored images are served as signed CloudFront URLs."""
        return self.cdn_domain is not None


#: The rows of the settings table, by field name.
_TABLE: Final[Mapping[str, Setting]] = {
    f.name: f.metadata[_SETTING]
    for f in dataclasses.fields(StorageSettings)
    if _SETTING in f.metadata
}


#: Where the region is read from, first found wins: the SDK's own variable, then the two
#: standard AWS ones in the AWS CLI's order (Lambda and ECS set AWS_REGION).
REGION_VARIABLES: Final = ("AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION")


def endpoint_from(env: Mapping[str, str]) -> str | None:
    """``AWS_ENDPOINT_URL_S3`` beats ``AWS_ENDPOINT_URL``, as in boto's own configuration."""
    for variable in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        value = env.get(variable, "").strip()
        if value:
            return check_endpoint(variable, value)
    return None


def _region_from(env: Mapping[str, str]) -> str:
    variable = next((v for v in REGION_VARIABLES if v in env), None)
    if variable is None:
        raise StorageConfigurationError(
            "AWS_REGION_NAME is not set: set it to the bucket's region, e.g. eu-west-3 "
            "(AWS_REGION or AWS_DEFAULT_REGION are read when it is absent)"
        )
    return check_region(variable, env[variable])


def _select_bucket(env: Mapping[str, str]) -> str:
    plain = env.get("AWS_BUCKET_NAME")
    wearit_env = env.get("WEARIT_ENV")
    if wearit_env is None:
        if plain is None:
            raise StorageConfigurationError(
                "AWS_BUCKET_NAME is not set: set it, or set WEARIT_ENV=dev|prod together "
                "with AWS_BUCKET_NAME_DEV / AWS_BUCKET_NAME_PROD"
            )
        return check_bucket_name("AWS_BUCKET_NAME", plain)
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
    return check_bucket_name(variable, selected)
