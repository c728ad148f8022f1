"""The replica region: a versioned, private bucket that receives the data prefixes.

Deploy this stack before the primary: S3 validates the replication destination (and its
KMS alias) when the primary bucket's replication configuration is created.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk.config import EnvironmentConfig
from cdk.constructs.bucket_rules import replica_lifecycle_rules
from cdk.constructs.delivery import let_cloudfront_read_replica
from cdk.constructs.secure_bucket import SecureBucket, access_log_bucket, rotating_key


class ReplicaStack(Stack):
    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            config.replica_stack_name,
            stack_name=config.replica_stack_name,
            env=Environment(account=config.account, region=config.replica_region),
            description=f"WearIT storage ({config.name}): cross-region replica bucket",
            termination_protection=config.is_production,
            # Stack-level tags (CloudFormation applies them at deploy time; the cloud
            # assembly's manifest lists them, which is how wearit_local finds a stack).
            tags=config.tags,
        )
        key: kms.Key | None = None
        if config.use_kms:
            key = rotating_key(
                self,
                "ReplicaKey",
                description=f"Encrypts replicas in {config.replica_bucket_name}",
                alias=config.replica_key_alias,
            )
        access_logs = access_log_bucket(
            self, bucket_name=config.replica_access_log_bucket_name, retention=config.retention
        )
        self.replica_bucket = SecureBucket(
            self,
            "Replica",
            bucket_name=config.replica_bucket_name,
            encryption_key=key,
            lifecycle_rules=replica_lifecycle_rules(config.retention),
            access_log_bucket=access_logs,
            access_log_prefix="replica/",
        ).bucket
        if config.cdn.enabled:
            let_cloudfront_read_replica(
                self,
                bucket=self.replica_bucket,
                bucket_arn=f"arn:{self.partition}:s3:::{config.replica_bucket_name}",
                key=key,
            )
        CfnOutput(self, "ReplicaBucketName", value=self.replica_bucket.bucket_name)
        CfnOutput(self, "ReplicaRegion", value=config.replica_region)
