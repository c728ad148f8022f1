"""The deployed workers: the upload worker function, its event source mapping on the upload
queue, its log group and alarms, and its role, as the templates declare them."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App

from cdk.application import build_app
from cdk.bundle import require_bundle
from cdk.config import ConfigError, load_environments
from cdk.constructs import worker_function
from cdk.constructs.upload_pipeline import VISIBILITY_TIMEOUT
from tests.cdk.helpers import (
    ENVIRONMENTS,
    Templates,
    environments_with,
    resources_of_type,
    role_named,
    statements_by_sid,
)
from wearit_storage.imaging.limits import DEFAULT_LIMITS

HANDLER = "wearit_storage.workers.lambda_handler.upload_handler"


def _only(template: dict[str, Any], cfn_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = resources_of_type(template, cfn_type).items()
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_upload_worker_is_python_3_13_on_arm64_sized_for_the_largest_image(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    _, function = _only(template, "AWS::Lambda::Function")
    props = function["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == HANDLER
    assert props["FunctionName"] == f"wearit-storage-{env}-upload-worker"
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    # Two renders of the largest image the limits admit, within the image budget, fit.
    largest_render_mb = 4 * DEFAULT_LIMITS.max_pixels / 2**20
    assert int(props["Environment"]["Variables"]["WEARIT_IMAGE_MEMORY_MB"]) >= 2 * largest_render_mb
    assert props["MemorySize"] == worker_function.MEMORY_MB
    assert props["MemorySize"] > worker_function.RUNTIME_MB + worker_function.IMAGE_BUDGET_MB
    assert props["Timeout"] == 60
    variables = props["Environment"]["Variables"]
    assert variables["AWS_BUCKET_NAME"] == f"wearit-storage-{env}"
    assert variables["WEARIT_WORKER_CONCURRENCY"] == "2"
    assert int(variables["WEARIT_MESSAGE_DEADLINE_SECONDS"]) < props["Timeout"]
    assert "Ref" in variables["WEARIT_UPLOAD_QUEUE_URL"]


def test_the_function_timeout_is_a_sixth_of_the_queues_visibility_timeout(
    templates: Templates,
) -> None:
    template = templates["WearitStorage-dev"]
    _, function = _only(template, "AWS::Lambda::Function")
    queue = next(
        q
        for q in resources_of_type(template, "AWS::SQS::Queue").values()
        if q["Properties"]["QueueName"] == "wearit-storage-dev-uploads"
    )
    visibility = queue["Properties"]["VisibilityTimeout"]
    assert visibility == VISIBILITY_TIMEOUT.to_seconds()
    assert visibility >= 6 * function["Properties"]["Timeout"]


@pytest.mark.parametrize(("env", "ceiling"), [("dev", 5), ("prod", 50)])
def test_the_event_source_mapping_reports_item_failures_under_a_concurrency_ceiling(
    templates: Templates, env: str, ceiling: int
) -> None:
    template = templates[f"WearitStorage-{env}"]
    function_id, _ = _only(template, "AWS::Lambda::Function")
    _, mapping = _only(template, "AWS::Lambda::EventSourceMapping")
    props = mapping["Properties"]
    assert props["FunctionName"] == {"Ref": function_id}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BatchSize"] == 10
    assert "MaximumBatchingWindowInSeconds" not in props  # the user waits: no batching wait
    assert props["ScalingConfig"] == {"MaximumConcurrency": ceiling}
    queue_id = props["EventSourceArn"]["Fn::GetAtt"][0]
    assert template["Resources"][queue_id]["Properties"]["QueueName"].endswith("-uploads")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_log_group_keeps_logs_a_month_and_the_role_writes_only_there(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    _, log_group = _only(template, "AWS::Logs::LogGroup")
    name = f"/aws/lambda/wearit-storage-{env}-upload-worker"
    assert log_group["Properties"] == {
        "LogGroupName": name,
        "RetentionInDays": 30,
        "Tags": log_group["Properties"]["Tags"],
    }
    role = role_named(template, f"wearit-storage-{env}-upload-worker")
    logs = statements_by_sid(role)["WriteOwnLogs"]
    assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert f"log-group:{name}:*" in str(logs["Resource"])
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_errors_and_throttles_alarm_on_the_alarm_topic(templates: Templates, env: str) -> None:
    template = templates[f"WearitStorage-{env}"]
    function_id, _ = _only(template, "AWS::Lambda::Function")
    alarms = {
        alarm["Properties"]["MetricName"]: alarm["Properties"]
        for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/Lambda"
    }
    assert set(alarms) == {"Errors", "Throttles"}
    for alarm in alarms.values():
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
        assert alarm["Threshold"] == 0
        (action,) = alarm["AlarmActions"]
        assert "Ref" in action
    dlq_alarms = [
        alarm
        for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/SQS"
    ]
    assert dlq_alarms  # the dead-letter alarm stays


def test_workers_none_deploys_no_function_and_the_role_trusts_the_hosts() -> None:
    arn = "arn:aws:iam::123456789012:role/wearit-workers"
    app = App(
        context=environments_with("dev", workers="none", trusted_principal_arn=arn) | {"env": "dev"}
    )
    (primary_stack,) = [s for s in build_app(app) if s.stack_name == "WearitStorage-dev"]
    template = app.synth().get_stack_by_name(primary_stack.stack_name).template
    assert resources_of_type(template, "AWS::Lambda::Function") == {}
    assert resources_of_type(template, "AWS::Lambda::EventSourceMapping") == {}
    role = role_named(template, "wearit-storage-dev-upload-worker")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": arn}
    assert "WriteOwnLogs" not in statements_by_sid(role)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"workers": "ecs"}, r"workers' is 'ecs': use one of \"lambda\", \"none\""),
        ({"worker_max_concurrency": 1}, "worker_max_concurrency' must be a whole number from 2"),
        ({"worker_max_concurrency": True}, "worker_max_concurrency"),
    ],
)
def test_worker_settings_are_validated(overrides: dict[str, object], message: str) -> None:
    context = environments_with("dev", **overrides)
    with pytest.raises(ConfigError, match=message):
        load_environments(context, "dev")


def test_the_function_code_is_the_bundle_built_from_this_checkout(templates: Templates) -> None:
    bundle = require_bundle("arm64")  # raises if missing or built from other sources
    assert (bundle.directory / "wearit_storage" / "workers" / "lambda_handler.py").is_file()
    sizes = [p.stat().st_size for p in bundle.directory.rglob("*") if p.is_file()]
    assert sum(sizes) < 250 * 10**6  # Lambda's limit, unzipped
