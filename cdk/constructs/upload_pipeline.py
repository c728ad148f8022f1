"""The direct-upload pipeline: S3 announces pinned uploads created under ``temp/`` on an SQS
queue, which the upload worker function (or ``wearit-storage worker`` processes on hosts)
consumes.

Declared natively in CloudFormation: the bucket's ``NotificationConfiguration`` is set on
the ``CfnBucket`` (``Bucket.add_event_notification`` would deploy a Lambda-backed custom
resource, which these stacks never contain). The queue policy names the bucket by its
fixed name, so the bucket can depend on the policy (S3 checks it may send when the
notification is created) without a circular reference.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnResource, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.config import DEAD_LETTER_RETENTION_DAYS
from cdk.constructs.worker_function import VISIBILITY_TIMEOUT as WORKER_VISIBILITY_TIMEOUT
from cdk.prefixes import TEMP
from wearit_storage.paths import PINNED_UPLOAD_SUFFIXES

#: Covers a long weekend (Friday evening to Tuesday morning) with no worker running.
QUEUE_RETENTION = Duration.days(4)
#: SQS's maximum: the dead letters wait for someone to read them. A message keeps its
#: original enqueue time when it moves, so the DLQ must retain longer than the queue.
DLQ_RETENTION = Duration.days(DEAD_LETTER_RETENTION_DAYS)
#: How long a received message stays hidden: six times the worker function's timeout
#: (AWS's guidance for SQS event sources), far above a render, and the wait before a
#: transiently failed upload is tried again.
VISIBILITY_TIMEOUT = WORKER_VISIBILITY_TIMEOUT
MAX_RECEIVE_COUNT = 5
UPLOAD_EVENTS = "s3:ObjectCreated:*"


class UploadPipeline(Construct):
    """The upload queue, its dead-letter queue and alarm, and the bucket notification."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.Bucket,
        bucket_arn: str,
        queue_name: str,
        key: kms.Key | None,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Dev: SQS-managed keys (no KMS cost or throttling in load tests). Prod: the data
        # key, so upload events (keys name users) are under the same key as the photos.
        encryption = sqs.QueueEncryption.KMS if key else sqs.QueueEncryption.SQS_MANAGED
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=f"{queue_name}-dlq",
            retention_period=DLQ_RETENTION,
            enforce_ssl=True,
            encryption=encryption,
            encryption_master_key=key,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=queue_name,
            retention_period=QUEUE_RETENTION,
            visibility_timeout=VISIBILITY_TIMEOUT,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letter_queue
            ),
            enforce_ssl=True,
            encryption=encryption,
            encryption_master_key=key,
        )
        s3_service = iam.ServicePrincipal("s3.amazonaws.com")
        # Only this bucket, in this account (no confused deputy), may announce uploads.
        from_our_bucket = {
            "ArnEquals": {"aws:SourceArn": bucket_arn},
            "StringEquals": {"aws:SourceAccount": stack.account},
        }
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BucketAnnouncesUploads",
                principals=[s3_service],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions=from_our_bucket,
            )
        )
        if key is not None:
            # S3 encrypts each message it sends to a KMS-encrypted queue with that key.
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="BucketEncryptsUploadEvents",
                    principals=[s3_service],
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=["*"],  # in a key policy, "*" is this key
                    conditions=from_our_bucket,
                )
            )

        cfn_bucket = cast(s3.CfnBucket, bucket.node.default_child)
        # One configuration per ending a pinned upload can have (S3 filters on one prefix
        # and one suffix): the worker's own status.json writes are never announced.
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            queue_configurations=[
                s3.CfnBucket.QueueConfigurationProperty(
                    event=UPLOAD_EVENTS,
                    queue=self.queue.queue_arn,
                    filter=s3.CfnBucket.NotificationFilterProperty(
                        s3_key=s3.CfnBucket.S3KeyFilterProperty(
                            rules=[
                                s3.CfnBucket.FilterRuleProperty(name="prefix", value=TEMP),
                                s3.CfnBucket.FilterRuleProperty(name="suffix", value=suffix),
                            ]
                        )
                    ),
                )
                for suffix in PINNED_UPLOAD_SUFFIXES
            ]
        )
        # The queue's policy (enforce_ssl and the statement above) must exist first.
        policy = self.queue.node.find_child("Policy")
        cfn_bucket.add_resource_dependency(cast(CfnResource, policy.node.default_child))

        self.dead_letter_alarm = cw.Alarm(
            self,
            "DeadLetterAlarm",
            alarm_description=(
                f"{queue_name}: uploads failed {MAX_RECEIVE_COUNT} times and are in "
                f"{queue_name}-dlq. Read them, fix the cause (worker logs: upload_retried), "
                "then redrive them to the upload queue."
            ),
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        self.dead_letter_alarm.add_alarm_action(cw_actions.SnsAction(alarm_topic))
        self.dead_letter_alarm.add_ok_action(cw_actions.SnsAction(alarm_topic))
