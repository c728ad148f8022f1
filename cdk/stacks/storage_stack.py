"""The primary region: data bucket, access logs, replication, application roles, monitoring."""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.compliance import acknowledge_status_objects
from cdk.config import EnvironmentConfig
from cdk.constructs.access_roles import (
    ApplicationRole,
    BucketAccess,
    api_policy,
    exports_only_for,
    tryon_worker_policy,
    upload_worker_policy,
)
from cdk.constructs.bucket_rules import cors_rules, data_lifecycle_rules
from cdk.constructs.delivery import ImageDelivery, serve_images
from cdk.constructs.monitoring import REQUEST_METRICS_FILTER_ID, StorageMonitoring
from cdk.constructs.replication import CrossRegionReplication, ReplicationTarget, rule_id
from cdk.constructs.secure_bucket import SecureBucket, access_log_bucket, rotating_key
from cdk.constructs.upload_pipeline import UploadPipeline
from cdk.prefixes import REPLICATED_PREFIXES, STATUS_OBJECTS


class StorageStack(Stack):
    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            config.primary_stack_name,
            stack_name=config.primary_stack_name,
            env=Environment(account=config.account, region=config.region),
            description=f"WearIT storage ({config.name}): data bucket, roles and monitoring",
            termination_protection=config.is_production,
            # Stack-level tags (CloudFormation applies them at deploy time; the cloud
            # assembly's manifest lists them, which is how wearit_local finds a stack).
            tags=config.tags,
        )
        self.key: kms.Key | None = None
        if config.use_kms:
            self.key = rotating_key(
                self,
                "DataKey",
                description=f"Encrypts every object in {config.bucket_name}",
                alias=f"alias/{config.bucket_name}",
            )

        self.access_logs = access_log_bucket(
            self, bucket_name=config.access_log_bucket_name, retention=config.retention
        )

        self.replication = CrossRegionReplication(
            self,
            "Replication",
            target=ReplicationTarget(
                source_bucket_name=config.bucket_name,
                source_region=config.region,
                source_key=self.key,
                replica_bucket_name=config.replica_bucket_name,
                replica_region=config.replica_region,
                replica_key_alias=config.replica_key_alias if config.use_kms else None,
                replication_time_control=config.replication_time_control,
            ),
        )

        self.bucket = SecureBucket(
            self,
            "Data",
            bucket_name=config.bucket_name,
            encryption_key=self.key,
            lifecycle_rules=data_lifecycle_rules(config.retention),
            cors=cors_rules(config.cors_origins),
            access_log_bucket=self.access_logs,
            access_log_prefix="data/",
            metrics=[s3.BucketMetrics(id=REQUEST_METRICS_FILTER_ID)],
            replication_role=self.replication.role,
            replication_rules=self.replication.rules(),
        ).bucket

        access = BucketAccess(
            # The literal ARN (not a token) keeps cdk-nag findings and the template readable.
            bucket_arn=self.replication.source_bucket_arn,
            replica_bucket_arn=self.replication.replica_bucket_arn,
            region=config.region,
            kms_key_arn=self.key.key_arn if self.key else None,
        )
        trusted: iam.IPrincipal = (
            iam.ArnPrincipal(config.trusted_principal_arn)
            if config.trusted_principal_arn
            else iam.AccountRootPrincipal()
        )
        api_role_name = f"{config.bucket_name}-api"
        self.api_role = ApplicationRole(
            self,
            "ApiRole",
            role_name=api_role_name,
            description="WearIT API: objects under the six data prefixes, replica erasure",
            trusted_principal=trusted,
            policy=api_policy(access),
        ).role
        # The role's ARN built from its stable name, not a reference to the role: the bucket
        # policy then needs nothing from the role resource.
        api_role_arn = self.format_arn(
            service="iam", region="", resource="role", resource_name=api_role_name
        )
        self.bucket.add_to_resource_policy(
            exports_only_for(api_role_arn, self.replication.source_bucket_arn)
        )
        self.tryon_worker_role = ApplicationRole(
            self,
            "TryOnWorkerRole",
            role_name=f"{config.bucket_name}-tryon-worker",
            description="WearIT try-on workers: read body/ and clothing/, write tryon/",
            trusted_principal=trusted,
            policy=tryon_worker_policy(access),
        ).role

        self.monitoring = StorageMonitoring(
            self,
            "Monitoring",
            bucket_name=config.bucket_name,
            environment=config.name,
            alarm_email=config.alarm_email,
            replica_bucket_name=config.replica_bucket_name,
            # Failure metrics exist only with replication metrics, on with replication time control.
            replication_rule_ids=(
                [rule_id(prefix) for prefix in REPLICATED_PREFIXES]
                if config.replication_time_control
                else []
            ),
        )

        self.uploads = UploadPipeline(
            self,
            "Uploads",
            bucket=self.bucket,
            bucket_arn=self.replication.source_bucket_arn,
            queue_name=f"{config.bucket_name}-uploads",
            key=self.key,
            alarm_topic=self.monitoring.topic,
        )
        self.upload_worker_role = ApplicationRole(
            self,
            "UploadWorkerRole",
            role_name=f"{config.bucket_name}-upload-worker",
            description="WearIT upload workers: the upload queue, temp/, renditions they promote",
            trusted_principal=trusted,
            policy=upload_worker_policy(access, self.uploads.queue.queue_arn),
        ).role
        acknowledge_status_objects(
            self.upload_worker_role, f"{self.replication.source_bucket_arn}/{STATUS_OBJECTS}"
        )

        CfnOutput(self, "BucketName", value=self.bucket.bucket_name)
        CfnOutput(self, "ReplicaBucketName", value=config.replica_bucket_name)
        CfnOutput(self, "AccessLogBucketName", value=self.access_logs.bucket_name)
        CfnOutput(self, "ApiRoleArn", value=self.api_role.role_arn)
        CfnOutput(self, "TryOnWorkerRoleArn", value=self.tryon_worker_role.role_arn)
        CfnOutput(self, "ReplicationRoleArn", value=self.replication.role.role_arn)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(self, "UploadQueueUrl", value=self.uploads.queue.queue_url)
        CfnOutput(self, "UploadDeadLetterQueueUrl", value=self.uploads.dead_letter_queue.queue_url)
        CfnOutput(self, "UploadWorkerRoleArn", value=self.upload_worker_role.role_arn)

        # The image CDN, with its outputs (after the others: their order stays).
        self.delivery: ImageDelivery | None = None
        if config.cdn.enabled:
            self.delivery = serve_images(
                self,
                config,
                bucket=self.bucket,
                bucket_arn=self.replication.source_bucket_arn,
                key=self.key,
            )
