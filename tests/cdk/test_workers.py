"""The deployed workers: the upload worker and the eraser functions, their event source
mappings on their queues, their log groups and alarms, and their roles, as the templates
declare them."""

from __future__ import annotations

from typing import Any

import pytest

from cdk.bundle import require_bundle
from cdk.config import ConfigError, load_environments
from cdk.constructs import worker_function
from cdk.constructs.worker_function import ERASER, UPLOAD_WORKER, WorkerSizing
from tests.cdk.helpers import (
    ENVIRONMENTS,
    Templates,
    environments_with,
    function_named,
    only,
    queue_named,
    resources_of_type,
    role_named,
    statements_by_sid,
)
from wearit_storage.imaging.limits import DEFAULT_LIMITS

HANDLERS = {
    "upload-worker": "wearit_storage.workers.lambda_handler.upload_handler",
    "eraser": "wearit_storage.workers.lambda_handler.eraser_handler",
}
#: Each worker: its sizing and the queue it consumes.
WORKERS: dict[str, tuple[WorkerSizing, str]] = {
    "upload-worker": (UPLOAD_WORKER, "uploads"),
    "eraser": (ERASER, "erasures"),
}


def worker(template: dict[str, Any], env: str, name: str) -> tuple[str, dict[str, Any]]:
    return function_named(template, f"wearit-storage-{env}-{name}")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_stack_runs_exactly_the_two_workers(templates: Templates, env: str) -> None:
    template = templates[f"WearitStorage-{env}"]
    functions = resources_of_type(template, "AWS::Lambda::Function")
    assert sorted(f["Properties"]["FunctionName"] for f in functions.values()) == [
        f"wearit-storage-{env}-eraser",
        f"wearit-storage-{env}-upload-worker",
    ]
    for name, handler in HANDLERS.items():
        _, function = worker(template, env, name)
        props = function["Properties"]
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["Handler"] == handler
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["Role"]["Fn::GetAtt"][0].startswith(
            {"upload-worker": "UploadWorkerRole", "eraser": "EraserRole"}[name]
        )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_upload_worker_is_sized_for_the_largest_image(templates: Templates, env: str) -> None:
    _, function = worker(templates[f"WearitStorage-{env}"], env, "upload-worker")
    props = function["Properties"]
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
    # Read by glibc when the runtime starts: two arenas, not one per rendering thread.
    assert variables["MALLOC_ARENA_MAX"] == "2"
    assert "Ref" in variables["WEARIT_UPLOAD_QUEUE_URL"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_eraser_is_small_one_erasure_at_a_time_and_knows_both_buckets(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    _, function = worker(template, env, "eraser")
    props = function["Properties"]
    # It decodes nothing: the smallest memory that keeps boto3 quick, five minutes a pass.
    assert (props["MemorySize"], props["Timeout"]) == (256, 300)
    erasures_id, _ = queue_named(template, f"wearit-storage-{env}-erasures")
    assert props["Environment"]["Variables"] == {
        "AWS_REGION_NAME": "us-east-1",
        "AWS_BUCKET_NAME": f"wearit-storage-{env}",
        "WEARIT_ERASURE_QUEUE_URL": {"Ref": erasures_id},
        "WEARIT_REPLICA_BUCKET_NAME": f"wearit-storage-{env}-replica",
        "WEARIT_REPLICA_REGION_NAME": "us-west-2",
        # The CDN is on in both environments' cdk.json: the eraser invalidates there.
        "WEARIT_CDN_DISTRIBUTION_ID": {"Ref": only(template, "AWS::CloudFront::Distribution")[0]},
        "MALLOC_ARENA_MAX": "2",
        "WEARIT_WORKER_CONCURRENCY": "1",
        "WEARIT_MESSAGE_DEADLINE_SECONDS": "240",
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("name", list(WORKERS))
def test_each_function_timeout_is_a_sixth_of_its_queues_visibility_timeout(
    templates: Templates, env: str, name: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    sizing, work = WORKERS[name]
    _, function = worker(template, env, name)
    _, queue = queue_named(template, f"wearit-storage-{env}-{work}")
    visibility = queue["Properties"]["VisibilityTimeout"]
    assert function["Properties"]["Timeout"] == sizing.timeout.to_seconds()
    assert visibility == sizing.visibility_timeout.to_seconds()
    assert visibility >= 6 * function["Properties"]["Timeout"]
    # A message is started only while its deadline fits in what is left of the invocation.
    deadline = int(
        function["Properties"]["Environment"]["Variables"]["WEARIT_MESSAGE_DEADLINE_SECONDS"]
    )
    assert deadline == sizing.message_deadline.to_seconds() < function["Properties"]["Timeout"]


@pytest.mark.parametrize(
    ("env", "name", "batch", "ceiling"),
    [
        ("dev", "upload-worker", 10, 5),
        ("prod", "upload-worker", 10, 50),
        # Erasures are rare and each a burst of deletes: one per invocation, two at once.
        ("dev", "eraser", 1, 2),
        ("prod", "eraser", 1, 2),
    ],
)
def test_each_event_source_mapping_reports_item_failures_under_a_concurrency_ceiling(
    templates: Templates, env: str, name: str, batch: int, ceiling: int
) -> None:
    template = templates[f"WearitStorage-{env}"]
    function_id, _ = worker(template, env, name)
    (mapping,) = [
        m["Properties"]
        for m in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == batch
    assert "MaximumBatchingWindowInSeconds" not in mapping  # nobody waits for a batch to fill
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": ceiling}
    queue_id, _ = queue_named(template, f"wearit-storage-{env}-{WORKERS[name][1]}")
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert len(resources_of_type(template, "AWS::Lambda::EventSourceMapping")) == 2


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("name", list(WORKERS))
def test_each_log_group_keeps_logs_a_month_and_its_role_writes_only_there(
    templates: Templates, env: str, name: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    log_name = f"/aws/lambda/wearit-storage-{env}-{name}"
    (log_group_id, log_group) = next(
        (lid, g)
        for lid, g in resources_of_type(template, "AWS::Logs::LogGroup").items()
        if g["Properties"]["LogGroupName"] == log_name
    )
    assert log_group["Properties"] == {
        "LogGroupName": log_name,
        "RetentionInDays": 30,
        "Tags": log_group["Properties"]["Tags"],
    }
    _, function = worker(template, env, name)
    assert function["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": log_group_id}
    assert len(resources_of_type(template, "AWS::Logs::LogGroup")) == 2
    role = role_named(template, f"wearit-storage-{env}-{name}")
    logs = statements_by_sid(role)["WriteOwnLogs"]
    assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs["Resource"]["Fn::Join"][1][-1] == f":log-group:{log_name}:*"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_errors_and_throttles_of_each_function_alarm_on_the_alarm_topic(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    alarms = {
        (
            alarm["Properties"]["Dimensions"][0]["Value"]["Ref"],
            alarm["Properties"]["MetricName"],
        ): alarm["Properties"]
        for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/Lambda"
    }
    function_ids = [worker(template, env, name)[0] for name in WORKERS]
    assert set(alarms) == {(f, metric) for f in function_ids for metric in ("Errors", "Throttles")}
    for (function_id, _), alarm in alarms.items():
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["AlarmActions"] == [{"Ref": "MonitoringAlarmTopicAF62D4F1"}]


def test_workers_none_deploys_no_function_and_no_log_rights(
    distinctly_trusted: dict[str, dict[str, Any]],
) -> None:
    """``workers: none``: the team's hosts run the workers (their roles trust the configured
    principals: ``test_roles.py``); nothing of Lambda is deployed or granted."""
    template = distinctly_trusted["none"]
    for cfn_type in (
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Logs::LogGroup",
    ):
        assert resources_of_type(template, cfn_type) == {}
    assert not [
        a
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/Lambda"
    ]
    for name in WORKERS:
        role = role_named(template, f"wearit-storage-dev-{name}")
        assert "WriteOwnLogs" not in statements_by_sid(role)
        assert "logs:" not in str(role["Properties"]["Policies"])
    outputs = template["Outputs"]
    assert "UploadWorkerFunctionName" not in outputs
    assert "EraserFunctionName" not in outputs
    # The queues, and the roles that consume them, stay.
    assert {"UploadQueueUrl", "ErasureQueueUrl", "UploadWorkerRoleArn", "EraserRoleArn"} <= set(
        outputs
    )
    # And with Lambda, the same configuration deploys both.
    assert len(resources_of_type(distinctly_trusted["lambda"], "AWS::Lambda::Function")) == 2


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
