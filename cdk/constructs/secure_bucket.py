"""A bucket that cannot be made insecure by forgetting a property.

Every bucket in WearIT (data, replica, access logs) is built here so the non-negotiables are
written once: all four Block Public Access flags, ACLs disabled (``BucketOwnerEnforced``), a
TLS-only bucket policy that also refuses TLS < 1.2, encryption at rest, and retention on
stack deletion. Callers only choose what legitimately differs: encryption key, versioning,
lifecycle, CORS, logging target, replication.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.config import RetentionSettings
from cdk.constructs.bucket_rules import access_log_lifecycle_rules

MINIMUM_TLS_VERSION = 1.2


# Not an s3.Bucket subclass: that changes each bucket's logical ID and replaces retained buckets.
class SecureBucket(Construct):
    """An ``s3.Bucket`` with WearIT's security defaults applied. The bucket is ``.bucket``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        # None means SSE-S3. Server access log buckets must use SSE-S3: the log delivery
        # service cannot write to SSE-KMS buckets.
        encryption_key: kms.IKey | None = None,
        versioned: bool = True,
        lifecycle_rules: Sequence[s3.LifecycleRule] = (),
        cors: Sequence[s3.CorsRule] = (),
        access_log_bucket: s3.IBucket | None = None,
        access_log_prefix: str | None = None,
        metrics: Sequence[s3.BucketMetrics] = (),
        replication_role: iam.IRole | None = None,
        replication_rules: Sequence[s3.ReplicationRule] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        encryption = s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=MINIMUM_TLS_VERSION,
            encryption=encryption,
            encryption_key=encryption_key,
            # Bucket Keys cut KMS request costs by up to 99% for high-volume image traffic.
            bucket_key_enabled=True if encryption_key else None,
            versioned=versioned,
            lifecycle_rules=list(lifecycle_rules) or None,
            cors=list(cors) or None,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix=access_log_prefix,
            metrics=list(metrics) or None,
            replication_role=replication_role,
            replication_rules=list(replication_rules) or None,
            # User photos outlive any stack: deleting the stack must never delete the data.
            removal_policy=RemovalPolicy.RETAIN,
            auto_delete_objects=False,
        )


def access_log_bucket(
    scope: Construct, *, bucket_name: str, retention: RetentionSettings
) -> s3.Bucket:
    """The server-access-log destination of a stack: SSE-S3, unversioned, expiring logs."""
    return SecureBucket(
        scope,
        "AccessLogs",
        bucket_name=bucket_name,
        versioned=False,
        lifecycle_rules=access_log_lifecycle_rules(retention),
    ).bucket


def rotating_key(scope: Construct, construct_id: str, *, description: str, alias: str) -> kms.Key:
    """A customer-managed key with yearly rotation, kept when the stack is deleted."""
    return kms.Key(
        scope, construct_id, description=description, enable_key_rotation=True, alias=alias
    )
