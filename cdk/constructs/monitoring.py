"""Alarms and a dashboard over the data bucket's CloudWatch request and storage metrics."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

REQUEST_METRICS_FILTER_ID = "EntireBucket"
FIVE_MINUTES = Duration.minutes(5)
ONE_DAY = Duration.days(1)

SERVER_ERRORS_THRESHOLD = 5
CLIENT_ERROR_RATE_PERCENT = 10
# Below this many requests per period a handful of 404s is noise, not an incident.
CLIENT_ERROR_RATE_MIN_REQUESTS = 100


def s3_request_metric(bucket_name: str, name: str, statistic: str = "Sum") -> cw.Metric:
    return cw.Metric(
        namespace="AWS/S3",
        metric_name=name,
        dimensions_map={"BucketName": bucket_name, "FilterId": REQUEST_METRICS_FILTER_ID},
        statistic=statistic,
        period=FIVE_MINUTES,
    )


def s3_storage_metric(bucket_name: str, name: str, storage_type: str) -> cw.Metric:
    return cw.Metric(
        namespace="AWS/S3",
        metric_name=name,
        dimensions_map={"BucketName": bucket_name, "StorageType": storage_type},
        statistic="Average",
        period=ONE_DAY,
    )


class StorageMonitoring(Construct):
    """SNS alarm topic, error and replication alarms, and an operations dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        environment: str,
        alarm_email: str | None,
        replica_bucket_name: str,
        replication_rule_ids: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Only this account's alarms may use the key and the topic (no confused deputy).
        from_our_alarms = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": (
                    f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"
                )
            },
        }
        cloudwatch = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        self.topic_key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"Encrypts the WearIT {environment} storage alarm topic",
            enable_key_rotation=True,
        )
        # CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key,
        # hence a customer-managed key that grants it exactly what publishing needs.
        self.topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsEncryptNotifications",
                principals=[cloudwatch],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions=from_our_alarms,
            )
        )
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"WearIT storage alarms ({environment})",
            master_key=self.topic_key,
            enforce_ssl=True,
        )
        # enforce_ssl gives the topic a policy of its own, which replaces SNS's default
        # one; without this statement CloudWatch would not be allowed to publish at all.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsPublish",
                principals=[cloudwatch],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=from_our_alarms,
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

        self.alarms = [
            self._server_errors_alarm(bucket_name),
            self._client_error_rate_alarm(bucket_name),
        ]
        if replication_rule_ids:
            self.alarms.append(
                self._replication_failures_alarm(
                    bucket_name, replica_bucket_name, replication_rule_ids
                )
            )
        for alarm in self.alarms:
            alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
            alarm.add_ok_action(cw_actions.SnsAction(self.topic))
        self.dashboard = self._dashboard(bucket_name)

    def _server_errors_alarm(self, bucket_name: str) -> cw.Alarm:
        return cw.Alarm(
            self,
            "ServerErrorsAlarm",
            alarm_description=(
                f"{bucket_name}: S3 returned {SERVER_ERRORS_THRESHOLD}+ 5xx errors in "
                "5 minutes. Check the AWS Health dashboard and the SDK's StorageUnavailable logs."
            ),
            metric=s3_request_metric(bucket_name, "5xxErrors"),
            threshold=SERVER_ERRORS_THRESHOLD,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )

    def _client_error_rate_alarm(self, bucket_name: str) -> cw.Alarm:
        rate = cw.MathExpression(
            expression=(
                f"IF(requests >= {CLIENT_ERROR_RATE_MIN_REQUESTS}, 100 * errors / requests, 0)"
            ),
            using_metrics={
                "errors": s3_request_metric(bucket_name, "4xxErrors"),
                "requests": s3_request_metric(bucket_name, "AllRequests"),
            },
            label="4xx error rate (%)",
            period=FIVE_MINUTES,
        )
        return cw.Alarm(
            self,
            "ClientErrorRateAlarm",
            alarm_description=(
                f"{bucket_name}: more than {CLIENT_ERROR_RATE_PERCENT}% of requests failed "
                "with 4xx for 15 minutes. Look for AccessDenied (IAM drift) or expired URLs."
            ),
            metric=rate,
            threshold=CLIENT_ERROR_RATE_PERCENT,
            evaluation_periods=3,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )

    def _replication_failures_alarm(
        self, bucket_name: str, replica_bucket_name: str, rule_ids: Sequence[str]
    ) -> cw.Alarm:
        failed = {
            f"failed{index}": cw.Metric(
                namespace="AWS/S3",
                metric_name="OperationsFailedReplication",
                dimensions_map={
                    "SourceBucket": bucket_name,
                    "DestinationBucket": replica_bucket_name,
                    "RuleId": rule,
                },
                statistic="Sum",
                period=FIVE_MINUTES,
            )
            for index, rule in enumerate(rule_ids)
        }
        total = cw.MathExpression(
            expression=" + ".join(f"FILL({name}, 0)" for name in failed),
            using_metrics=dict(failed),
            label="Failed replication operations",
            period=FIVE_MINUTES,
        )
        return cw.Alarm(
            self,
            "ReplicationFailedAlarm",
            alarm_description=(
                f"{bucket_name}: objects failed to replicate to "
                f"{replica_bucket_name}. Check the replication role and the replica KMS key."
            ),
            metric=total,
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )

    def _dashboard(self, bucket: str) -> cw.Dashboard:
        dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{bucket}-storage",
            default_interval=Duration.days(7),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Bucket size (bytes)",
                left=[s3_storage_metric(bucket, "BucketSizeBytes", "StandardStorage")],
            ),
            cw.GraphWidget(
                title="Object count",
                left=[s3_storage_metric(bucket, "NumberOfObjects", "AllStorageTypes")],
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Requests",
                left=[
                    s3_request_metric(bucket, name)
                    for name in ("AllRequests", "GetRequests", "PutRequests", "DeleteRequests")
                ],
            ),
            cw.GraphWidget(
                title="Latency (ms, p90)",
                left=[
                    s3_request_metric(bucket, "FirstByteLatency", "p90"),
                    s3_request_metric(bucket, "TotalRequestLatency", "p90"),
                ],
            ),
            cw.GraphWidget(
                title="Errors",
                left=[
                    s3_request_metric(bucket, "4xxErrors"),
                    s3_request_metric(bucket, "5xxErrors"),
                ],
            ),
        )
        dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24),
        )
        return dashboard
