"""The work queues: S3 announces new objects of some kinds on an SQS queue, which a worker
consumes: pinned direct uploads (the upload worker), erasure requests (the eraser).

Declared natively in CloudFormation: the bucket's ``NotificationConfiguration`` is set on
the ``CfnBucket`` by :func:`announce` (``Bucket.add_event_notification`` would deploy a
Lambda-backed custom resource, which these stacks never contain). Each queue's policy
names the bucket by its fixed name, so the bucket can depend on the policies (S3 checks it
may send when the notification is created) without a circular reference.
"""

from __future__ import annotations

from collections.abc import Sequence
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

#: Covers a long weekend (Friday evening to Tuesday morning) with no worker running.
QUEUE_RETENTION = Duration.days(4)
#: SQS's maximum: the dead letters wait for someone to read them. A message keeps its
#: original enqueue time when it moves, so the DLQ must retain longer than the queue.
DLQ_RETENTION = Duration.days(DEAD_LETTER_RETENTION_DAYS)
MAX_RECEIVE_COUNT = 5
CREATED = "s3:ObjectCreated:*"


class AnnouncedQueue(Construct):
    """A queue the bucket announces some new objects on (``filters``: prefix and suffix
    pairs), its dead-letter queue and the alarm on it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_arn: str,
        queue_name: str,
        key: kms.Key | None,
        alarm_topic: sns.ITopic,
        visibility_timeout: Duration,
        filters: Sequence[tuple[str, str]],
        what: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Dev: SQS-managed keys (no KMS cost or throttling in load tests). Prod: the data
        # key, so the events (keys name users) are under the same key as the photos.
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
            visibility_timeout=visibility_timeout,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letter_queue
            ),
            enforce_ssl=True,
            encryption=encryption,
            encryption_master_key=key,
        )
        # Only this bucket, in this account (no confused deputy), may announce objects.
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BucketAnnouncesObjects",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions=from_bucket(bucket_arn, stack.account),
            )
        )
        self.queue_configurations = [
            s3.CfnBucket.QueueConfigurationProperty(
                event=CREATED,
                queue=self.queue.queue_arn,
                filter=s3.CfnBucket.NotificationFilterProperty(
                    s3_key=s3.CfnBucket.S3KeyFilterProperty(
                        rules=[
                            s3.CfnBucket.FilterRuleProperty(name="prefix", value=prefix),
                            s3.CfnBucket.FilterRuleProperty(name="suffix", value=suffix),
                        ]
                    )
                ),
            )
            for prefix, suffix in filters
        ]
        self.dead_letter_alarm = cw.Alarm(
            self,
            "DeadLetterAlarm",
            alarm_description=(
                f"{queue_name}: {what} failed {MAX_RECEIVE_COUNT} times and are in "
                f"{queue_name}-dlq. Read them, fix the cause (the worker's logs), then "
                "redrive them to the queue."
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

    @property
    def policy_resource(self) -> CfnResource:
        """The queue's policy: it must exist before the bucket's notification names it."""
        policy = self.queue.node.find_child("Policy")
        return cast(CfnResource, policy.node.default_child)


def from_bucket(bucket_arn: str, account: str) -> dict[str, dict[str, str]]:
    """Conditions that let only this bucket, in this account, act on a queue or its key."""
    return {
        "ArnEquals": {"aws:SourceArn": bucket_arn},
        "StringEquals": {"aws:SourceAccount": account},
    }


def announce(
    bucket: s3.Bucket, bucket_arn: str, queues: Sequence[AnnouncedQueue], key: kms.Key | None
) -> None:
    """Set the bucket's notification configuration to every queue's filters (the filters
    never overlap: S3 refuses overlapping configurations of one event type)."""
    if key is not None:
        # S3 encrypts each message it sends to a KMS-encrypted queue with that key.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BucketEncryptsItsEvents",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions=from_bucket(bucket_arn, Stack.of(bucket).account),
            )
        )
    cfn_bucket = cast(s3.CfnBucket, bucket.node.default_child)
    cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        queue_configurations=[c for queue in queues for c in queue.queue_configurations]
    )
    for queue in queues:
        cfn_bucket.add_resource_dependency(queue.policy_resource)
