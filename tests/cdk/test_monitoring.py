"""Alarms, alarm topic and dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from cdk.application import build_app
from tests.cdk.helpers import ENVIRONMENTS, Templates, environments_with, resources_of_type
from wearit_storage.categories import USER_CATEGORIES


def alarms(templates: Templates, env: str) -> dict[str, dict[str, Any]]:
    found = resources_of_type(templates[f"WearitStorage-{env}"], "AWS::CloudWatch::Alarm")
    return {logical_id.split("Alarm")[0]: r["Properties"] for logical_id, r in found.items()}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_server_error_alarm_watches_the_bucket_request_metrics(
    templates: Templates, env: str
) -> None:
    props = alarms(templates, env)["MonitoringServerErrors"]
    assert props["MetricName"] == "5xxErrors"
    assert props["Namespace"] == "AWS/S3"
    assert {"Name": "FilterId", "Value": "EntireBucket"} in props["Dimensions"]
    assert {"Name": "BucketName", "Value": f"wearit-storage-{env}"} in props["Dimensions"]
    assert props["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_client_error_rate_alarm_is_a_ratio_of_4xx_to_all_requests(
    templates: Templates, env: str
) -> None:
    props = alarms(templates, env)["MonitoringClientErrorRate"]
    expression = next(m for m in props["Metrics"] if "Expression" in m)
    assert "100 * errors / requests" in expression["Expression"]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in props["Metrics"] if "MetricStat" in m}
    assert names == {"4xxErrors", "AllRequests"}
    assert props["Threshold"] == 10


def test_prod_alarms_on_failed_replication_for_every_rule(templates: Templates) -> None:
    props = alarms(templates, "prod")["MonitoringReplicationFailed"]
    rules = {
        dim["Value"]
        for m in props["Metrics"]
        if "MetricStat" in m
        for dim in m["MetricStat"]["Metric"]["Dimensions"]
        if dim["Name"] == "RuleId"
    }
    assert rules == {f"Replicate-{category}" for category in USER_CATEGORIES}
    assert props["Threshold"] == 0


def test_dev_has_no_replication_alarm_because_it_has_no_replication_metrics(
    templates: Templates,
) -> None:
    assert "MonitoringReplicationFailed" not in alarms(templates, "dev")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alarm_notifies_the_encrypted_tls_only_topic(templates: Templates, env: str) -> None:
    template = templates[f"WearitStorage-{env}"]
    (topic_id,) = resources_of_type(template, "AWS::SNS::Topic")
    for props in alarms(templates, env).values():
        assert props["AlarmActions"] == [{"Ref": topic_id}]
        assert props["OKActions"] == [{"Ref": topic_id}]
    topic = template["Resources"][topic_id]["Properties"]
    assert "KmsMasterKeyId" in topic
    from_our_alarms = {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {
            "aws:SourceArn": {
                "Fn::Join": [
                    "",
                    ["arn:aws:cloudwatch:us-east-1:", {"Ref": "AWS::AccountId"}, ":alarm:*"],
                ]
            }
        },
    }
    (topic_policy,) = resources_of_type(template, "AWS::SNS::TopicPolicy").values()
    statements = topic_policy["Properties"]["PolicyDocument"]["Statement"]
    assert {
        "Sid": "AllowPublishThroughSSLOnly",
        "Action": "sns:Publish",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": "*",
        "Resource": {"Ref": topic_id},
    } in statements
    # The topic's own policy replaces SNS's default one: without an explicit Allow,
    # CloudWatch could not deliver a single alarm.
    assert {
        "Sid": "AlarmsPublish",
        "Action": "sns:Publish",
        "Condition": from_our_alarms,
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Resource": {"Ref": topic_id},
    } in statements
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = template["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert {
        "Sid": "AlarmsEncryptNotifications",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Condition": from_our_alarms,
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Resource": "*",
    } in key["KeyPolicy"]["Statement"]


def test_email_subscription_only_when_configured(templates: Templates) -> None:
    for template in templates.values():
        assert not resources_of_type(template, "AWS::SNS::Subscription")
    app = App(context={**environments_with("dev", alarm_email="oncall@wearit.com"), "env": "dev"})
    stacks = build_app(app)
    Template.from_stack(stacks[1]).has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@wearit.com"}
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_dashboard_shows_size_objects_requests_latency_and_errors(
    templates: Templates, env: str
) -> None:
    (dashboard,) = resources_of_type(
        templates[f"WearitStorage-{env}"], "AWS::CloudWatch::Dashboard"
    ).values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "BucketSizeBytes",
        "NumberOfObjects",
        "AllRequests",
        "FirstByteLatency",
        "TotalRequestLatency",
        "4xxErrors",
        "5xxErrors",
    ):
        assert metric in body, metric
