"""Per-environment configuration, read from the ``wearit:environments`` block of ``cdk.json``.

Every value is validated before a single construct is created, so a bad ``cdk.json`` fails
``cdk synth`` with one line that names the key and the fix instead of a CloudFormation
error twenty minutes into a deployment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

ENVIRONMENTS_CONTEXT_KEY = "wearit:environments"
SELECTED_ENVIRONMENT_CONTEXT_KEY = "env"
PRODUCTION_ENVIRONMENT = "prod"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", re.ASCII)
# S3 bucket naming rules, minus the dotted (legacy, TLS-hostile) form.
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", re.ASCII)
_REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d", re.ASCII)
_ACCOUNT = re.compile(r"\d{12}", re.ASCII)
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", re.ASCII)
# Suffixes appended to the primary bucket name; the longest must still fit in 63 characters.
_LONGEST_DERIVED_SUFFIX = len("-replica-access-logs")


#: Longest an export archive may be kept: it exists to be downloaded, and every day it stays
#: is another full copy of a user's photos outside erasure's usual reach.
MAX_EXPORT_DAYS = 30
#: How long the upload queue's dead letters are kept (SQS's maximum): a redrive can bring an
#: upload back this long after it was announced.
DEAD_LETTER_RETENTION_DAYS = 14
#: A presigned POST can be used for up to 7 days (SigV4's limit).
MAX_PRESIGN_DAYS = 7
#: An erasure request (the tombstone that refuses a user's late uploads) must outlive every
#: write that can still land: an upload presigned before the erasure, posted as late as its
#: signature allows, then redriven from the dead-letter queue as late as it is kept.
MIN_ERASURE_REQUEST_DAYS = MAX_PRESIGN_DAYS + DEAD_LETTER_RETENTION_DAYS + 1


#: Where the upload workers run: Lambda functions on the queues (``cdk deploy`` runs them),
#: or nothing deployed (``wearit-storage worker`` on the team's own hosts).
WORKER_RUNTIMES = ("lambda", "none")
#: ``ScalingConfig.MaximumConcurrency`` of an SQS event source mapping: 2 to 1000.
MIN_WORKER_CONCURRENCY, MAX_WORKER_CONCURRENCY = 2, 1000


class ConfigError(ValueError):
    """A ``cdk.json`` value is missing or wrong. The message names the key and the fix."""


@dataclass(frozen=True)
class RetentionSettings:
    """How long each kind of data lives. Days, as S3 lifecycle rules count them."""

    noncurrent_version_days: int = 30
    incomplete_multipart_days: int = 7
    temp_upload_days: int = 1
    access_log_days: int = 90
    replica_noncurrent_version_days: int = 30
    #: GDPR export archives (exports/): a copy of everything a user owns, kept only long
    #: enough to be downloaded.
    export_days: int = 3
    #: Erasure requests (erasures/): the tombstones that refuse an erased user's late uploads.
    erasure_request_days: int = 30


@dataclass(frozen=True)
class TrustedPrincipals:
    """Who may assume each role (an IAM role, user or account-root ARN; ``None``: this
    account, i.e. whatever its IAM policies allow). Each role trusts its own: whoever may
    assume the API role may read users' exports, so it must not be the workers' hosts.
    The upload worker and the eraser trust Lambda instead when they run there."""

    api: str | None = None
    tryon_worker: str | None = None
    upload_worker: str | None = None
    eraser: str | None = None


#: CloudFront key groups trust RSA 2048 public keys; two at once let a key be rotated.
CDN_KEY_BITS = 2048
MAX_CDN_PUBLIC_KEYS = 2
_DOMAIN = re.compile(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.ASCII)
_CERTIFICATE_ARN = re.compile(
    r"arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}", re.ASCII
)


@dataclass(frozen=True)
class CdnSettings:
    """The image CDN (``cdk/constructs/delivery.py``): on in prod unless turned off."""

    enabled: bool = False
    #: The viewers' host name (a CNAME to the distribution): CloudFront applies a TLS 1.2
    #: minimum only with a certificate of one's own, never on *.cloudfront.net.
    domain_name: str | None = None
    #: An ACM certificate in us-east-1 for ``domain_name``; none: the stack requests one
    #: (DNS validation: the deployment waits until its CNAME exists).
    certificate_arn: str | None = None
    #: PEM public keys of the trusted key group (the SDK signs with a private one).
    public_keys: tuple[str, ...] = ()
    #: The Secrets Manager secret holding the private key the SDK signs with: the API and
    #: try-on roles may read it (and no other role). None: grant your key source yourself.
    private_key_secret_arn: str | None = None


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that differs between dev and prod."""

    name: str
    account: str | None
    region: str
    replica_region: str
    bucket_name: str
    cors_origins: tuple[str, ...]
    alarm_email: str | None
    trusted_principals: TrustedPrincipals
    use_kms: bool
    replication_time_control: bool
    retention: RetentionSettings
    workers: str = "lambda"
    #: The most worker invocations at once: bounds what a burst of uploads takes of the
    #: account's Lambda concurrency and of S3's request rate on the data prefixes.
    worker_max_concurrency: int = 10
    cdn: CdnSettings = CdnSettings()

    @property
    def lambda_workers(self) -> bool:
        return self.workers == "lambda"

    @property
    def tags(self) -> dict[str, str]:
        """Tags of the environment's stacks and of every resource in them."""
        return {"Project": "wearit", "Environment": self.name}

    @property
    def is_production(self) -> bool:
        """Production has termination protection, https-only CORS origins, and KMS and
        replication time control unless ``cdk.json`` turns them off."""
        return self.name == PRODUCTION_ENVIRONMENT

    @property
    def replica_bucket_name(self) -> str:
        return f"{self.bucket_name}-replica"

    @property
    def access_log_bucket_name(self) -> str:
        return f"{self.bucket_name}-access-logs"

    @property
    def replica_access_log_bucket_name(self) -> str:
        return f"{self.replica_bucket_name}-access-logs"

    @property
    def replica_key_alias(self) -> str:
        return f"alias/{self.replica_bucket_name}"

    @property
    def primary_stack_name(self) -> str:
        return f"WearitStorage-{self.name}"

    @property
    def replica_stack_name(self) -> str:
        return f"WearitStorageReplica-{self.name}"


def load_environments(context: Mapping[str, Any], selected: str | None) -> list[EnvironmentConfig]:
    """Validate the ``wearit:environments`` context and return the environments to synthesize.

    ``selected`` is the value of ``-c env=...``; ``None`` synthesizes every environment.
    """
    raw_environments = context.get(ENVIRONMENTS_CONTEXT_KEY)
    if not isinstance(raw_environments, Mapping) or not raw_environments:
        raise ConfigError(
            f"context '{ENVIRONMENTS_CONTEXT_KEY}' is missing or empty: "
            "add one block per environment (dev, prod) to cdk.json"
        )
    names = sorted(raw_environments)
    if selected is not None and selected not in raw_environments:
        raise ConfigError(
            f"unknown environment '{selected}' (-c {SELECTED_ENVIRONMENT_CONTEXT_KEY}=...): "
            f"valid environments are {', '.join(names)}"
        )
    chosen = [selected] if selected is not None else names
    return [parse_environment(name, raw_environments[name]) for name in chosen]


def parse_environment(name: str, raw: Any) -> EnvironmentConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{_key(name, '')} must be an object of settings")
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"{_key(name, unknown[0])} is not a known setting: "
            f"valid settings are {', '.join(sorted(_KNOWN_KEYS))}"
        )
    # The config (and its is_production) does not exist yet: its settings depend on this.
    is_prod = name == PRODUCTION_ENVIRONMENT
    region = _region(name, "region", raw.get("region", "us-east-1"))
    replica_region = _region(name, "replica_region", raw.get("replica_region", "us-west-2"))
    if replica_region == region:
        raise ConfigError(
            f"{_key(name, 'replica_region')} equals the primary region '{region}': "
            "cross-region replication needs a different region, e.g. us-west-2"
        )
    workers = _choice(name, "workers", raw.get("workers", "lambda"), WORKER_RUNTIMES)
    trusted = _trusted_principals(name, raw.get("trusted_principals", {}))
    _refuse_principals_lambda_ignores(name, workers, trusted)
    return EnvironmentConfig(
        name=name,
        account=_account(name, raw.get("account")),
        region=region,
        replica_region=replica_region,
        bucket_name=_bucket_name(name, raw.get("bucket_name")),
        cors_origins=_cors_origins(name, raw.get("cors_origins"), strict=is_prod),
        alarm_email=_alarm_email(name, raw.get("alarm_email")),
        trusted_principals=trusted,
        use_kms=_bool(name, "use_kms", raw.get("use_kms", is_prod)),
        replication_time_control=_bool(
            name, "replication_time_control", raw.get("replication_time_control", is_prod)
        ),
        retention=_retention(name, raw.get("retention", {})),
        workers=workers,
        worker_max_concurrency=_whole_number(
            name,
            "worker_max_concurrency",
            raw.get("worker_max_concurrency", 10),
            MIN_WORKER_CONCURRENCY,
            MAX_WORKER_CONCURRENCY,
        ),
        cdn=_cdn(
            name, raw.get("cdn", {}), enabled_by_default=is_prod, cors=raw.get("cors_origins")
        ),
    )


_KNOWN_KEYS = frozenset(
    {
        "account",
        "region",
        "replica_region",
        "bucket_name",
        "cors_origins",
        "alarm_email",
        "trusted_principals",
        "use_kms",
        "replication_time_control",
        "retention",
        "workers",
        "worker_max_concurrency",
        "cdn",
    }
)


def _key(env: str, key: str) -> str:
    path = f"{ENVIRONMENTS_CONTEXT_KEY}.{env}"
    return f"cdk.json context '{path}.{key}'" if key else f"cdk.json context '{path}'"


def _account(env: str, value: Any) -> str | None:
    # An unset account keeps the stacks account-agnostic until `cdk deploy` resolves it.
    account = value if value is not None else os.environ.get("CDK_DEFAULT_ACCOUNT")
    if account is None:
        return None
    account = str(account)
    if not _ACCOUNT.fullmatch(account):
        raise ConfigError(
            f"{_key(env, 'account')} must be a 12-digit AWS account id, got {account!r}"
        )
    return account


def _region(env: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not _REGION.fullmatch(value):
        raise ConfigError(
            f"{_key(env, key)} must be an AWS region such as us-east-1, got {value!r}"
        )
    return value


def _bucket_name(env: str, value: Any) -> str:
    if not value:
        raise ConfigError(
            f"{_key(env, 'bucket_name')} is missing: set it to the bucket's global name, "
            f'e.g. "wearit-storage-{env}"'
        )
    max_length = 63 - _LONGEST_DERIVED_SUFFIX
    if not isinstance(value, str) or not _BUCKET_NAME.fullmatch(value) or len(value) > max_length:
        raise ConfigError(
            f"{_key(env, 'bucket_name')} {value!r} is not a valid bucket name: use 3-{max_length} "
            "lowercase letters, digits and hyphens (replica and log buckets append suffixes)"
        )
    return value


def _cors_origins(env: str, value: Any, *, strict: bool) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ConfigError(
            f"{_key(env, 'cors_origins')} must be a non-empty list of origins, "
            'e.g. ["https://app.example.com"]'
        )
    origins: list[str] = []
    for origin in value:
        if strict and origin == "*":
            raise ConfigError(
                f"{_key(env, 'cors_origins')} contains '*': production must list its exact "
                "https:// origins"
            )
        if strict and isinstance(origin, str) and origin.startswith("http://"):
            raise ConfigError(
                f"{_key(env, 'cors_origins')} contains {origin!r}: production origins must use "
                "https://"
            )
        if not isinstance(origin, str) or not (origin == "*" or _ORIGIN.fullmatch(origin)):
            raise ConfigError(
                f"{_key(env, 'cors_origins')} entry {origin!r} is not an origin: use "
                "scheme://host[:port] with no path or trailing slash"
            )
        origins.append(origin)
    return tuple(origins)


def _alarm_email(env: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _EMAIL.fullmatch(value):
        raise ConfigError(
            f"{_key(env, 'alarm_email')} {value!r} is not an e-mail address: "
            "use name@domain or remove the key to skip the subscription"
        )
    return value


def _trusted_principals(env: str, value: Any) -> TrustedPrincipals:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{_key(env, 'trusted_principals')} must be an object: one ARN (or null) per role"
        )
    roles = list(TrustedPrincipals.__dataclass_fields__)
    unknown = sorted(set(value) - set(roles))
    if unknown:
        raise ConfigError(
            f"{_key(env, 'trusted_principals.' + unknown[0])} is not a role: the roles are "
            + ", ".join(roles)
        )
    return TrustedPrincipals(**{role: _principal(env, role, value.get(role)) for role in roles})


def _refuse_principals_lambda_ignores(env: str, workers: str, trusted: TrustedPrincipals) -> None:
    """Lambda assumes the workers' roles when it runs them: a principal set for one of
    them would be silently ignored, and whoever set it would believe it is trusted."""
    if workers != "lambda":
        return
    for role in ("upload_worker", "eraser"):
        if getattr(trusted, role) is not None:
            raise ConfigError(
                f"{_key(env, 'trusted_principals.' + role)} is set, but with workers "
                "'lambda' only Lambda assumes that role: remove it, or set workers to "
                "'none' to run the workers on your own hosts"
            )


def _principal(env: str, role: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(
        r"arn:aws[a-z-]*:iam::\d{12}:(root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+)", value
    ):
        raise ConfigError(
            f"{_key(env, 'trusted_principals.' + role)} {value!r} must be an IAM role, user "
            "or account-root ARN, e.g. arn:aws:iam::123456789012:role/wearit-api-task"
        )
    return value


def _bool(env: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{_key(env, key)} must be true or false, got {value!r}")
    return value


def _choice(env: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(
            f"{_key(env, key)} is {value!r}: use one of " + ", ".join(f'"{c}"' for c in choices)
        )
    return str(value)


def _whole_number(env: str, key: str, value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(
            f"{_key(env, key)} must be a whole number from {low} to {high}, got {value!r}"
        )
    return value


def _retention(env: str, value: Any) -> RetentionSettings:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{_key(env, 'retention')} must be an object of day counts")
    defaults = RetentionSettings()
    days: dict[str, int] = {}
    for field_name in RetentionSettings.__dataclass_fields__:
        raw = value.get(field_name, getattr(defaults, field_name))
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
            raise ConfigError(
                f"{_key(env, 'retention.' + field_name)} must be a whole number of days >= 1, "
                f"got {raw!r}"
            )
        days[field_name] = raw
    if days["export_days"] > MAX_EXPORT_DAYS:
        raise ConfigError(
            f"{_key(env, 'retention.export_days')} is {days['export_days']}: an export is a "
            f"full copy of a user's data, keep it at most {MAX_EXPORT_DAYS} days"
        )
    if days["erasure_request_days"] < MIN_ERASURE_REQUEST_DAYS:
        raise ConfigError(
            f"{_key(env, 'retention.erasure_request_days')} is {days['erasure_request_days']}: "
            "an erasure request must outlive every upload that can still land (a "
            f"{MAX_PRESIGN_DAYS}-day presign, then {DEAD_LETTER_RETENTION_DAYS} days in the "
            "dead-letter queue): "
            f"keep it at least {MIN_ERASURE_REQUEST_DAYS} days"
        )
    unknown = sorted(set(value) - set(days))
    if unknown:
        raise ConfigError(
            f"{_key(env, 'retention.' + unknown[0])} is not a known retention setting: valid "
            f"settings are {', '.join(sorted(days))}"
        )
    return RetentionSettings(**days)


_CDN_KEYS = frozenset(
    {"enabled", "domain_name", "certificate_arn", "public_keys", "private_key_secret_arn"}
)
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+")


def _cdn(env: str, value: Any, *, enabled_by_default: bool, cors: Any) -> CdnSettings:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{_key(env, 'cdn')} must be an object of CDN settings")
    unknown = sorted(set(value) - _CDN_KEYS)
    if unknown:
        raise ConfigError(
            f"{_key(env, 'cdn.' + unknown[0])} is not a known CDN setting: valid settings are "
            f"{', '.join(sorted(_CDN_KEYS))}"
        )
    enabled = _bool(env, "cdn.enabled", value.get("enabled", enabled_by_default))
    if not enabled:
        return CdnSettings()
    domain = value.get("domain_name")
    if not isinstance(domain, str) or not _DOMAIN.fullmatch(domain):
        raise ConfigError(
            f"{_key(env, 'cdn.domain_name')} must be the images' host name, e.g. "
            f'"images.wearit.com", got {domain!r} (or set "enabled": false)'
        )
    certificate = value.get("certificate_arn")
    if certificate is not None and (
        not isinstance(certificate, str) or not _CERTIFICATE_ARN.fullmatch(certificate)
    ):
        raise ConfigError(
            f"{_key(env, 'cdn.certificate_arn')} {certificate!r} must be an ACM certificate ARN "
            "in us-east-1 (CloudFront reads certificates there only), or null to request one"
        )
    if isinstance(cors, Sequence) and "*" in cors:
        raise ConfigError(
            f"{_key(env, 'cors_origins')} contains '*': the CDN sends signed cookies, so its "
            "CORS answer must name each origin; list them"
        )
    secret = value.get("private_key_secret_arn")
    if secret is not None and (not isinstance(secret, str) or not _SECRET_ARN.fullmatch(secret)):
        raise ConfigError(
            f"{_key(env, 'cdn.private_key_secret_arn')} {secret!r} must be a Secrets Manager "
            "secret ARN (aws secretsmanager describe-secret --secret-id NAME shows it), or null"
        )
    return CdnSettings(
        enabled=True,
        domain_name=domain,
        certificate_arn=certificate,
        public_keys=_public_keys(env, value.get("public_keys")),
        private_key_secret_arn=secret,
    )


def _public_keys(env: str, value: Any) -> tuple[str, ...]:
    key = _key(env, "cdn.public_keys")
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or not 1 <= len(value) <= MAX_CDN_PUBLIC_KEYS
    ):
        raise ConfigError(
            f"{key} must list 1 or {MAX_CDN_PUBLIC_KEYS} PEM public keys (two while rotating)"
        )
    keys: list[str] = []
    for index, pem in enumerate(value):
        try:
            public_key = load_pem_public_key(pem.encode()) if isinstance(pem, str) else None
        except ValueError:
            public_key = None
        if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size != CDN_KEY_BITS:
            raise ConfigError(
                f"{key} entry {index} is not an RSA {CDN_KEY_BITS} public key in PEM: make one "
                "with `openssl rsa -pubout` from the private key the SDK signs with"
            )
        keys.append(pem.strip() + "\n")
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{key} lists the same key twice")
    return tuple(keys)
