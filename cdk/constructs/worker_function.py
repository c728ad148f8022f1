"""A worker that ``cdk deploy`` runs: a Lambda function fed by an SQS queue.

Python 3.13 on arm64 (Graviton: about 20% less per GB-second than x86_64), the code from
the bundle ``python -m cdk.bundle`` builds without Docker, logs as JSON in a log group with
a retention period, an event source mapping that reports batch item failures (a failed
message comes back alone, not with its batch) under a concurrency ceiling, and alarms on
errors and throttles. The role is the caller's: a worker's rights are written once, in
``access_roles``, whether it runs here or on a host.

Plain CloudFormation: the function, its log group, the event source mapping and the
alarms; nothing deploys a custom resource.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.bundle import Bundle
from wearit_storage.imaging.budget import ALLOCATOR_ENVIRONMENT
from wearit_storage.imaging.limits import DEFAULT_LIMITS, MAX_UPLOAD_BYTES

MIB = 2**20
#: What one execution environment holds besides images: Python, boto3 and the image
#: libraries imported, the clients and their connection pools (``make bench``, lambda
#: section, measures it).
RUNTIME_MB = 192
#: Uploads one invocation renders at once (``WEARIT_WORKER_CONCURRENCY``): while one waits
#: on S3, the other renders.
UPLOADS_AT_ONCE = 2
#: What one render may hold, at worst: the decoded pixels of the largest image the limits
#: admit (4 bytes per pixel of ``max_pixels``: 200 MB at 50 MP) plus the working set the
#: image budget reserves beside them (bands, renditions, encoders).
RENDER_MB = math.ceil((4 * DEFAULT_LIMITS.max_pixels + 24 * MIB) / MIB)
#: The image memory budget of one execution environment (``WEARIT_IMAGE_MEMORY_MB``): two
#: worst-case renders at once; a third waits its turn.
IMAGE_BUDGET_MB = UPLOADS_AT_ONCE * RENDER_MB
#: Each upload in flight also holds its bytes twice (the download, and what decodes it).
UPLOAD_BYTES_MB = UPLOADS_AT_ONCE * 2 * math.ceil(MAX_UPLOAD_BYTES / MIB)
#: Runtime + image budget + upload bytes, plus a quarter for what the allocator keeps
#: between renders, rounded up to 64 MB (the README gives today's figure). Lambda gives
#: 1 vCPU per 1,769 MB, so this buys about half of one: rendering is CPU-bound, and more
#: memory would make a render faster at about the same cost, while every S3 round trip
#: would cost more.
MEMORY_MB = 64 * math.ceil((RUNTIME_MB + IMAGE_BUDGET_MB + UPLOAD_BYTES_MB) * 1.25 / 64)
#: The longest one message may take (``WEARIT_MESSAGE_DEADLINE_SECONDS``): a 49 MP render
#: on half a vCPU, and S3 calls that retry. A message is started only while this much of the
#: invocation is left.
MESSAGE_DEADLINE = Duration.seconds(20)
#: A batch of ten messages two at a time: five rounds of at most 20 s would be 100 s, but
#: the deadline stops starting new ones in time; 60 s bounds an invocation that meets a
#: slow S3, and what is not started comes back whole.
TIMEOUT = Duration.seconds(60)
#: Ten messages per invocation, with no batching window: an upload's user waits for it
#: (polling its status), so no message waits for others to fill a batch; under load
#: batches fill by themselves, and ten amortises an invocation's start-up over ten renders.
BATCH_SIZE = 10


@dataclass(frozen=True)
class WorkerSizing:
    """How a worker function is sized: memory, timeout, batch, messages at once, and the
    longest one message may take."""

    memory_mb: int
    timeout: Duration
    batch_size: int
    concurrency: int
    message_deadline: Duration

    @property
    def visibility_timeout(self) -> Duration:
        """AWS's guidance for SQS event sources: at least six times the function's timeout,
        so a message is not delivered again while a retried invocation still works on it."""
        return Duration.seconds(6 * self.timeout.to_seconds())


#: The upload worker, from the figures above.
UPLOAD_WORKER = WorkerSizing(MEMORY_MB, TIMEOUT, BATCH_SIZE, UPLOADS_AT_ONCE, MESSAGE_DEADLINE)
#: The eraser decodes nothing: listings and batched deletes of at most 1,000 keys hold
#: little, so the smallest memory that keeps boto3 quick. One erasure per invocation
#: (rare, and a big user takes seconds of round trips): 5 minutes, a pass's 4 at most.
ERASER = WorkerSizing(256, Duration.minutes(5), 1, 1, Duration.minutes(4))


@dataclass(frozen=True)
class WorkerCode:
    """What runs: the bundle and the handler in it."""

    bundle: Bundle
    handler: str


class QueueWorkerFunction(Construct):
    """A Lambda function that works on ``queue``'s messages, ``max_concurrency`` at most."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        description: str,
        code: WorkerCode,
        sizing: WorkerSizing,
        role: iam.IRole,
        queue: sqs.IQueue,
        environment: Mapping[str, str],
        max_concurrency: int,
        log_retention: logs.RetentionDays,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=log_group_name(function_name),
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            # The hash of what the bundle was built from: the asset changes exactly when
            # the SDK or the lock does, and is not fingerprinted again at every synth.
            code=lambda_.Code.from_asset(
                str(code.bundle.directory), asset_hash=code.bundle.source_hash
            ),
            handler=code.handler,
            memory_size=sizing.memory_mb,
            timeout=sizing.timeout,
            role=role,
            environment={
                **environment,
                **ALLOCATOR_ENVIRONMENT,
                "WEARIT_WORKER_CONCURRENCY": str(sizing.concurrency),
                "WEARIT_MESSAGE_DEADLINE_SECONDS": str(int(sizing.message_deadline.to_seconds())),
            },
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
        )
        # The CDK adds a DependsOn on a role it is given, which the role's GetAtt already
        # implies (cfn-lint W3005).
        cast(lambda_.CfnFunction, self.function.node.default_child).add_deletion_override(
            "DependsOn"
        )
        self.event_source = lambda_.EventSourceMapping(
            self,
            "QueueSource",
            target=self.function,
            event_source_arn=queue.queue_arn,
            batch_size=sizing.batch_size,
            report_batch_item_failures=True,
            max_concurrency=max_concurrency,
        )
        self.alarms = [
            self._alarm(
                "ErrorAlarm",
                self.function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                f"{function_name}: invocations failed (a bug or a broken dependency: their "
                "messages come back, then reach the DLQ). Read the function's log group.",
                alarm_topic,
            ),
            self._alarm(
                "ThrottleAlarm",
                self.function.metric_throttles(period=Duration.minutes(5), statistic="Sum"),
                f"{function_name}: invocations throttled: the account's Lambda concurrency "
                "is exhausted. Raise the account limit or lower worker_max_concurrency.",
                alarm_topic,
            ),
        ]

    def _alarm(
        self, construct_id: str, metric: cw.IMetric, description: str, topic: sns.ITopic
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(topic))
        alarm.add_ok_action(cw_actions.SnsAction(topic))
        return alarm


def log_group_name(function_name: str) -> str:
    """Lambda's own log group name for a function: the role's log rights name it."""
    return f"/aws/lambda/{function_name}"


def log_statement(log_group_arn: str) -> iam.PolicyStatement:
    """Writing a function's own log streams, in its own log group (which the stack creates:
    no ``logs:CreateLogGroup``)."""
    return iam.PolicyStatement(
        sid="WriteOwnLogs",
        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
        resources=[f"{log_group_arn}:*"],
    )
