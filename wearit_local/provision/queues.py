"""SQS queues and queue policies (the upload pipeline), from their CloudFormation shape.

Every declared queue property is one entry of :data:`QUEUE_ATTRIBUTES` (the SQS attribute
it becomes and how its value is written) or the name and tags; anything else fails before
the first request. Provisioning again sets the attributes the template declares.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from wearit_local.clients import error_code
from wearit_local.errors import TemplateError

QUEUE = "AWS::SQS::Queue"
QUEUE_POLICY = "AWS::SQS::QueuePolicy"


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


#: CloudFormation property -> (SQS attribute, how the value is written).
QUEUE_ATTRIBUTES: Mapping[str, tuple[str, Callable[[Any], str]]] = {
    "MessageRetentionPeriod": ("MessageRetentionPeriod", _text),
    "VisibilityTimeout": ("VisibilityTimeout", _text),
    "DelaySeconds": ("DelaySeconds", _text),
    "MaximumMessageSize": ("MaximumMessageSize", _text),
    "ReceiveMessageWaitTimeSeconds": ("ReceiveMessageWaitTimeSeconds", _text),
    "RedrivePolicy": ("RedrivePolicy", _json),
    "SqsManagedSseEnabled": ("SqsManagedSseEnabled", _text),
    "KmsMasterKeyId": ("KmsMasterKeyId", _text),
    "KmsDataKeyReusePeriodSeconds": ("KmsDataKeyReusePeriodSeconds", _text),
}
QUEUE_PROPERTIES = frozenset({"QueueName", "Tags", *QUEUE_ATTRIBUTES})
QUEUE_POLICY_PROPERTIES = frozenset({"Queues", "PolicyDocument"})


@dataclass(frozen=True)
class ProvisionedQueue:
    name: str
    url: str
    arn: str
    region: str
    stack: str
    logical_id: str


def attributes_of(props: Mapping[str, Any]) -> dict[str, str]:
    """The SQS attributes a resolved ``AWS::SQS::Queue`` declares."""
    return {
        attribute: write(props[prop])
        for prop, (attribute, write) in QUEUE_ATTRIBUTES.items()
        if prop in props
    }


def provision_queue(
    sqs: Any, stack: str, region: str, logical_id: str, props: Mapping[str, Any]
) -> ProvisionedQueue:
    if "QueueName" not in props:
        raise TemplateError(
            f"{stack}/{logical_id} has no QueueName: the local environment needs "
            "deterministic queue names"
        )
    name = str(props["QueueName"])
    attributes = attributes_of(props)
    tags = {tag["Key"]: tag["Value"] for tag in props.get("Tags", [])}
    try:
        url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if error_code(exc) not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise
        url = str(sqs.create_queue(QueueName=name, Attributes=attributes, tags=tags)["QueueUrl"])
    else:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        if tags:
            sqs.tag_queue(QueueUrl=url, Tags=tags)
    arn = str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )
    return ProvisionedQueue(name, url, arn, region, stack, logical_id)


def put_queue_policy(sqs: Any, props: Mapping[str, Any]) -> list[str]:
    """Apply an ``AWS::SQS::QueuePolicy`` to each of its queues; return their URLs."""
    urls = [str(url) for url in props["Queues"]]
    for url in urls:
        sqs.set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": _json(props["PolicyDocument"])}
        )
    return urls


def dead_letter_queues_first(resources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Queue logical ids, those that a redrive policy names before the queue naming them
    (the redrive target's ARN must exist to resolve it)."""
    return sorted(
        resources, key=lambda lid: "RedrivePolicy" in resources[lid].get("Properties", {})
    )
