"""The primary region: data bucket, access logs, replication, application roles, monitoring."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import ArnFormat, CfnOutput, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.bundle import require_bundle
from cdk.compliance import acknowledge_fixed_name_objects, acknowledge_worker_function
from cdk.config import MIN_WORKER_CONCURRENCY, EnvironmentConfig
from cdk.constructs.access_roles import (
    ApplicationRole,
    BucketAccess,
    api_policy,
    eraser_policy,
    exports_only_for,
    tryon_worker_policy,
    upload_worker_policy,
)
from cdk.constructs.bucket_rules import cors_rules, data_lifecycle_rules
from cdk.constructs.delivery import ImageDelivery, serve_images
from cdk.constructs.monitoring import REQUEST_METRICS_FILTER_ID, StorageMonitoring
from cdk.constructs.replication import CrossRegionReplication, ReplicationTarget, rule_id
from cdk.constructs.secure_bucket import SecureBucket, access_log_bucket, rotating_key
from cdk.constructs.work_queues import AnnouncedQueue, announce
from cdk.constructs.worker_function import (
    ERASER,
    IMAGE_BUDGET_MB,
    UPLOAD_WORKER,
    QueueWorkerFunction,
    WorkerCode,
    WorkerSizing,
    log_group_name,
    log_statement,
)
from cdk.prefixes import (
    ERASURE_REQUEST_OBJECTS,
    ERASURE_STATUS_OBJECTS,
    ERASURES,
    REPLICATED_PREFIXES,
    STATUS_OBJECTS,
    TEMP,
)
from wearit_storage.paths import ERASURE_REQUEST_FILENAME, PINNED_UPLOAD_SUFFIXES

#: The workers' entry points in the bundle (``wearit_storage.workers``).
UPLOAD_HANDLER = "wearit_storage.workers.lambda_handler.upload_handler"
ERASER_HANDLER = "wearit_storage.workers.lambda_handler.eraser_handler"
#: Worker logs name keys (user and item ids): kept a month, long enough to investigate.
WORKER_LOG_RETENTION = logs.RetentionDays.ONE_MONTH


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
        api_role_name = f"{config.bucket_name}-api"
        self.api_role = ApplicationRole(
            self,
            "ApiRole",
            role_name=api_role_name,
            description="WearIT API: reads and writes user data, asks for erasure; deletes "
            "no version",
            trusted_principal=_principal(config.trusted_principals.api),
            policy=api_policy(access, cdn_key_secret_arn=config.cdn.private_key_secret_arn),
        ).role
        acknowledge_fixed_name_objects(
            self.api_role,
            f"{self.replication.source_bucket_arn}/{ERASURE_REQUEST_OBJECTS}",
            owners="erasures/ user folder (a user's erasure request)",
        )
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
            trusted_principal=_principal(config.trusted_principals.tryon_worker),
            policy=tryon_worker_policy(
                access, cdn_key_secret_arn=config.cdn.private_key_secret_arn
            ),
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

        self.uploads = AnnouncedQueue(
            self,
            "Uploads",
            bucket_arn=self.replication.source_bucket_arn,
            queue_name=f"{config.bucket_name}-uploads",
            key=self.key,
            alarm_topic=self.monitoring.topic,
            visibility_timeout=UPLOAD_WORKER.visibility_timeout,
            # Pinned uploads' endings only: the worker's status.json writes go unannounced.
            filters=[(TEMP, suffix) for suffix in PINNED_UPLOAD_SUFFIXES],
            what="uploads",
        )
        self.erasures = AnnouncedQueue(
            self,
            "Erasures",
            bucket_arn=self.replication.source_bucket_arn,
            queue_name=f"{config.bucket_name}-erasures",
            key=self.key,
            alarm_topic=self.monitoring.topic,
            visibility_timeout=ERASER.visibility_timeout,
            # The requests only: the eraser's own status.json writes go unannounced.
            filters=[(ERASURES, f"/{ERASURE_REQUEST_FILENAME}")],
            what="erasure requests",
        )
        announce(
            self.bucket, self.replication.source_bucket_arn, [self.uploads, self.erasures], self.key
        )

        # The image CDN (before the workers: the eraser invalidates erased users' paths).
        self.delivery: ImageDelivery | None = None
        if config.cdn.enabled:
            self.delivery = serve_images(
                self,
                config,
                bucket=self.bucket,
                bucket_arn=self.replication.source_bucket_arn,
                key=self.key,
            )
        distribution = (
            None
            if self.delivery is None
            else (self.delivery.distribution.ref, self.delivery.distribution_arn)
        )

        self.upload_worker_role, self.upload_worker = self._worker(
            config,
            "UploadWorker",
            name=f"{config.bucket_name}-upload-worker",
            description="WearIT upload worker: pinned direct uploads from the upload queue",
            policy=lambda extra: upload_worker_policy(
                access, self.uploads.queue.queue_arn, extra=extra
            ),
            trusted=config.trusted_principals.upload_worker,
            queue=self.uploads,
            handler=UPLOAD_HANDLER,
            sizing=UPLOAD_WORKER,
            environment={
                "WEARIT_UPLOAD_QUEUE_URL": self.uploads.queue.queue_url,
                "WEARIT_IMAGE_MEMORY_MB": str(IMAGE_BUDGET_MB),
            },
            max_concurrency=config.worker_max_concurrency,
        )
        acknowledge_fixed_name_objects(
            self.upload_worker_role,
            f"{self.replication.source_bucket_arn}/{STATUS_OBJECTS}",
            owners="temp/ upload session (random session ids)",
        )
        self.eraser_role, self.eraser = self._worker(
            config,
            "Eraser",
            name=f"{config.bucket_name}-eraser",
            description="WearIT eraser: requested erasures, both buckets, two passes",
            policy=lambda extra: eraser_policy(
                access,
                self.erasures.queue.queue_arn,
                extra=extra,
                distribution_arn=None if distribution is None else distribution[1],
            ),
            trusted=config.trusted_principals.eraser,
            queue=self.erasures,
            handler=ERASER_HANDLER,
            sizing=ERASER,
            environment={
                "WEARIT_ERASURE_QUEUE_URL": self.erasures.queue.queue_url,
                "WEARIT_REPLICA_BUCKET_NAME": config.replica_bucket_name,
                "WEARIT_REPLICA_REGION_NAME": config.replica_region,
                **({} if distribution is None else {"WEARIT_CDN_DISTRIBUTION_ID": distribution[0]}),
            },
            # Erasures are rare, and each one is a burst of deletes: two at a time at most.
            max_concurrency=MIN_WORKER_CONCURRENCY,
        )
        acknowledge_fixed_name_objects(
            self.eraser_role,
            f"{self.replication.source_bucket_arn}/{ERASURE_STATUS_OBJECTS}",
            owners="erasures/ user folder (a user's erasure progress)",
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
        CfnOutput(self, "ErasureQueueUrl", value=self.erasures.queue.queue_url)
        CfnOutput(
            self, "ErasureDeadLetterQueueUrl", value=self.erasures.dead_letter_queue.queue_url
        )
        CfnOutput(self, "EraserRoleArn", value=self.eraser_role.role_arn)
        for worker, output in ((self.upload_worker, "UploadWorker"), (self.eraser, "Eraser")):
            if worker is not None:
                CfnOutput(self, f"{output}FunctionName", value=worker.function.function_name)

    def _worker(
        self,
        config: EnvironmentConfig,
        construct_id: str,
        *,
        name: str,
        description: str,
        policy: Callable[[list[iam.PolicyStatement]], iam.PolicyDocument],
        trusted: str | None,
        queue: AnnouncedQueue,
        handler: str,
        sizing: WorkerSizing,
        environment: dict[str, str],
        max_concurrency: int,
    ) -> tuple[iam.Role, QueueWorkerFunction | None]:
        """A worker's role and, with ``workers: lambda``, the function that runs it. Where it
        runs decides who may assume the role (Lambda, or the team's hosts); its rights are
        the same, plus writing its own logs in Lambda."""
        logs_arn = self.format_arn(
            service="logs",
            resource="log-group",
            resource_name=log_group_name(name),
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        in_lambda = config.lambda_workers
        role = ApplicationRole(
            self,
            f"{construct_id}Role",
            role_name=name,
            description=description,
            trusted_principal=(
                iam.ServicePrincipal("lambda.amazonaws.com") if in_lambda else _principal(trusted)
            ),
            policy=policy([log_statement(logs_arn)] if in_lambda else []),
        ).role
        if not in_lambda:
            return role, None
        function = QueueWorkerFunction(
            self,
            construct_id,
            function_name=name,
            description=description,
            code=WorkerCode(require_bundle("arm64"), handler),
            sizing=sizing,
            role=role,
            queue=queue.queue,
            environment={
                "AWS_REGION_NAME": config.region,
                "AWS_BUCKET_NAME": config.bucket_name,
                **environment,
            },
            max_concurrency=max_concurrency,
            log_retention=WORKER_LOG_RETENTION,
            alarm_topic=self.monitoring.topic,
        )
        acknowledge_worker_function(function, role, log_group_name(name))
        return role, function


def _principal(arn: str | None) -> iam.IPrincipal:
    """A role's configured principal; none: the account (delegated to IAM policies in it)."""
    return iam.ArnPrincipal(arn) if arn else iam.AccountRootPrincipal()
