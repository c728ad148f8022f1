"""S3 buckets: the bucket settings table, and creating and configuring each bucket.

Every ``AWS::S3::Bucket`` property the local environment knows is one row of
:data:`BUCKET_SETTINGS` (how it is applied through the S3 API, how it is read back), one
entry of :data:`NOT_HELD` (declared, but moto cannot keep it), or the bucket's name. The
set of known properties, :data:`BUCKET_PROPERTIES`, is derived from them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from wearit_local import s3_mapping
from wearit_local.clients import error_code
from wearit_local.errors import TemplateError, UnsupportedPropertyError
from wearit_local.provision.results import ProvisionedBucket, SkippedProperty

BUCKET = "AWS::S3::Bucket"
BUCKET_POLICY = "AWS::S3::BucketPolicy"
NAME_PROPERTY = "BucketName"
# us-east-1 is the one region S3 rejects as a LocationConstraint, and the region
# GetBucketLocation reports as no constraint at all.
_NO_LOCATION_CONSTRAINT = "us-east-1"


class Stage(enum.Enum):
    """When a setting is applied while a bucket is provisioned."""

    BEFORE_VERSIONING = "before versioning"  # access and encryption settings
    VERSIONING = "versioning"
    AFTER_VERSIONING = "after versioning"  # the rules: lifecycle, CORS, tags
    # Settings that point at other resources, applied once everything else exists: logging
    # needs its target bucket's policy (moto checks the log-delivery grant against it),
    # replication needs the destination bucket and the role.
    AFTER_ALL_RESOURCES = "after all resources"


class Removal(enum.Enum):
    """How a setting a previous run applied is removed once the template drops it."""

    DELETE = "the setting's delete call"
    PUT_EMPTY = "a put of the empty value"
    NEVER = "not removable"  # a versioned bucket can be suspended, never unversioned


@dataclass(frozen=True)
class BucketSetting:
    """One bucket property: how it is applied through the S3 API and how it is read back."""

    prop: str  # the CloudFormation property
    stage: Stage
    put: str  # boto3 method that applies it, e.g. put_bucket_cors
    argument: str  # that method's request argument
    convert: Callable[[Any], Any]  # CloudFormation shape -> API shape
    get: str  # boto3 method that reads it back
    field: str  # the field of the get's response that holds it
    # The error code the get (and the delete) answer when nothing is set; None where the
    # get answers without ``field`` instead.
    missing_code: str | None
    removal: Removal
    delete: str | None = None  # boto3 method for ``Removal.DELETE``


BUCKET_SETTINGS: tuple[BucketSetting, ...] = (
    BucketSetting(
        "OwnershipControls",
        Stage.BEFORE_VERSIONING,
        "put_bucket_ownership_controls",
        "OwnershipControls",
        s3_mapping.ownership_controls,
        "get_bucket_ownership_controls",
        "OwnershipControls",
        "OwnershipControlsNotFoundError",
        Removal.DELETE,
        "delete_bucket_ownership_controls",
    ),
    BucketSetting(
        "PublicAccessBlockConfiguration",
        Stage.BEFORE_VERSIONING,
        "put_public_access_block",
        "PublicAccessBlockConfiguration",
        s3_mapping.public_access_block,
        "get_public_access_block",
        "PublicAccessBlockConfiguration",
        "NoSuchPublicAccessBlockConfiguration",
        Removal.DELETE,
        "delete_public_access_block",
    ),
    BucketSetting(
        "BucketEncryption",
        Stage.BEFORE_VERSIONING,
        "put_bucket_encryption",
        "ServerSideEncryptionConfiguration",
        s3_mapping.encryption_configuration,
        "get_bucket_encryption",
        "ServerSideEncryptionConfiguration",
        "ServerSideEncryptionConfigurationNotFoundError",
        Removal.DELETE,
        "delete_bucket_encryption",
    ),
    BucketSetting(
        "VersioningConfiguration",
        Stage.VERSIONING,
        "put_bucket_versioning",
        "VersioningConfiguration",
        s3_mapping.versioning_configuration,
        "get_bucket_versioning",
        "Status",
        None,
        Removal.NEVER,
    ),
    BucketSetting(
        "LifecycleConfiguration",
        Stage.AFTER_VERSIONING,
        "put_bucket_lifecycle_configuration",
        "LifecycleConfiguration",
        s3_mapping.lifecycle_configuration,
        "get_bucket_lifecycle_configuration",
        "Rules",
        "NoSuchLifecycleConfiguration",
        Removal.DELETE,
        "delete_bucket_lifecycle",
    ),
    BucketSetting(
        "CorsConfiguration",
        Stage.AFTER_VERSIONING,
        "put_bucket_cors",
        "CORSConfiguration",
        s3_mapping.cors_configuration,
        "get_bucket_cors",
        "CORSRules",
        "NoSuchCORSConfiguration",
        Removal.DELETE,
        "delete_bucket_cors",
    ),
    BucketSetting(
        "Tags",
        Stage.AFTER_VERSIONING,
        "put_bucket_tagging",
        "Tagging",
        s3_mapping.tagging,
        "get_bucket_tagging",
        "TagSet",
        "NoSuchTagSet",
        Removal.DELETE,
        "delete_bucket_tagging",
    ),
    BucketSetting(
        "LoggingConfiguration",
        Stage.AFTER_ALL_RESOURCES,
        "put_bucket_logging",
        "BucketLoggingStatus",
        s3_mapping.logging_status,
        "get_bucket_logging",
        "LoggingEnabled",
        None,
        Removal.PUT_EMPTY,
    ),
    BucketSetting(
        "ReplicationConfiguration",
        Stage.AFTER_ALL_RESOURCES,
        "put_bucket_replication",
        "ReplicationConfiguration",
        s3_mapping.replication_configuration,
        "get_bucket_replication",
        "ReplicationConfiguration",
        "ReplicationConfigurationNotFoundError",
        Removal.DELETE,
        "delete_bucket_replication",
    ),
    # After all resources: S3 checks that the queue exists (moto, like S3, then sends it
    # an s3:TestEvent).
    BucketSetting(
        "NotificationConfiguration",
        Stage.AFTER_ALL_RESOURCES,
        "put_bucket_notification_configuration",
        "NotificationConfiguration",
        s3_mapping.notification_configuration,
        "get_bucket_notification_configuration",
        "QueueConfigurations",
        None,
        Removal.PUT_EMPTY,
    ),
)

# Declared bucket properties moto 5.2 has no API for: it answers the request with 200 and
# keeps nothing. They are recorded in ``ProvisionedEnvironment.skipped`` rather than sent.
NOT_HELD: Mapping[str, str] = {
    "MetricsConfigurations": "moto has no PutBucketMetricsConfiguration (request metrics "
    "are asserted in tests/cdk/test_buckets.py instead)",
}

BUCKET_PROPERTIES = frozenset({NAME_PROPERTY, *(s.prop for s in BUCKET_SETTINGS), *NOT_HELD})


def settings_at(stage: Stage) -> tuple[BucketSetting, ...]:
    return tuple(setting for setting in BUCKET_SETTINGS if setting.stage is stage)


BEFORE_VERSIONING = settings_at(Stage.BEFORE_VERSIONING)
VERSIONING = settings_at(Stage.VERSIONING)
AFTER_VERSIONING = settings_at(Stage.AFTER_VERSIONING)
AFTER_ALL_RESOURCES = settings_at(Stage.AFTER_ALL_RESOURCES)

POLICY_NOT_HELD = (
    "applied to configure logging, then removed: moto ignores its TLS conditions and would "
    "deny every object request (provision with hold_bucket_policies=True to keep it)"
)


def provision_bucket(
    s3: Any, stack: str, region: str, logical_id: str, props: Mapping[str, Any]
) -> tuple[ProvisionedBucket, list[SkippedProperty]]:
    """Create the bucket and apply every setting but those of ``AFTER_ALL_RESOURCES``."""
    if NAME_PROPERTY not in props:
        raise TemplateError(
            f"{stack}/{logical_id} has no {NAME_PROPERTY}: the local environment "
            "needs deterministic bucket names"
        )
    name = str(props[NAME_PROPERTY])
    _create_bucket(s3, name, region, stack)
    apply_settings(s3, name, props, (*BEFORE_VERSIONING, *VERSIONING, *AFTER_VERSIONING))
    skipped = [
        SkippedProperty(name, prop, reason) for prop, reason in NOT_HELD.items() if prop in props
    ]
    return ProvisionedBucket(name, region, stack, logical_id), skipped


def _create_bucket(s3: Any, name: str, region: str, stack: str) -> None:
    request: dict[str, Any] = {"Bucket": name}
    if region != _NO_LOCATION_CONSTRAINT:
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**request)
    except ClientError as exc:
        if error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
        location = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
        if (location or _NO_LOCATION_CONSTRAINT) != region:
            raise TemplateError(
                f"bucket {name} already exists in {location or _NO_LOCATION_CONSTRAINT}, but "
                f"stack {stack} declares it in {region}: restart the local server"
            ) from exc


def apply_settings(
    s3: Any, bucket: str, props: Mapping[str, Any], settings: tuple[BucketSetting, ...]
) -> None:
    """Put each declared setting, in order; remove those a previous run may have applied."""
    for setting in settings:
        try:
            if setting.prop in props:
                getattr(s3, setting.put)(
                    Bucket=bucket, **{setting.argument: setting.convert(props[setting.prop])}
                )
            else:
                _remove(s3, bucket, setting)
        except UnsupportedPropertyError as exc:
            raise UnsupportedPropertyError(f"bucket {bucket}: {exc}") from exc


def _remove(s3: Any, bucket: str, setting: BucketSetting) -> None:
    if setting.removal is Removal.PUT_EMPTY:
        getattr(s3, setting.put)(Bucket=bucket, **{setting.argument: {}})
    elif setting.removal is Removal.DELETE:
        assert setting.delete is not None, setting.prop
        try:
            getattr(s3, setting.delete)(Bucket=bucket)
        except ClientError as exc:  # the setting being absent already is success
            if error_code(exc) != setting.missing_code:
                raise


def put_bucket_policy(s3: Any, props: Mapping[str, Any]) -> str:
    """Apply an ``AWS::S3::BucketPolicy``; return the bucket it applies to."""
    bucket = str(props["Bucket"])
    s3.put_bucket_policy(Bucket=bucket, Policy=s3_mapping.bucket_policy(props["PolicyDocument"]))
    return bucket


def remove_bucket_policy(s3: Any, bucket: str) -> SkippedProperty:
    """Remove a policy moto cannot hold (see :data:`POLICY_NOT_HELD`) and report it."""
    s3.delete_bucket_policy(Bucket=bucket)
    return SkippedProperty(bucket, BUCKET_POLICY, POLICY_NOT_HELD)
