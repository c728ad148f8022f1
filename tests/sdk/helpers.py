"""Helpers shared by the SDK tests (fixtures live in conftest.py)."""

from __future__ import annotations

import functools
import io
import json
import uuid
from collections.abc import Sequence
from typing import Any

from PIL import Image

from wearit_local.clients import emulator_client
from wearit_local.notifications import PINNED_UPLOADS
from wearit_local.notifications import notify_queue as notify_objects
from wearit_storage.uploads.events import ObjectCreated, parse_message

PRIMARY_REGION = "eu-west-3"
REPLICA_REGION = "eu-central-1"


@functools.cache
def raw_client(endpoint: str, region: str) -> Any:
    return emulator_client("s3", endpoint, region=region)


def make_jpeg(size: tuple[int, int] = (1200, 900), color: str = "navy") -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, color).save(output, format="JPEG", quality=90)
    return output.getvalue()


def all_versions(admin: Any, bucket: str, prefix: str = "") -> list[tuple[str, str, bool]]:
    """(key, version id, is delete marker) of everything under ``prefix``."""
    found: list[tuple[str, str, bool]] = []
    for page in admin.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        found += [(v["Key"], v["VersionId"], False) for v in page.get("Versions", [])]
        found += [(m["Key"], m["VersionId"], True) for m in page.get("DeleteMarkers", [])]
    return found


def upload_queue(endpoint: str, name: str, *, max_receive_count: int = 5) -> tuple[str, str]:
    """A fresh upload queue with its dead-letter queue, as the stack declares them; returns
    (queue URL, DLQ URL). A 1 s visibility timeout lets failed messages come back quickly."""
    sqs = emulator_client("sqs", endpoint, region=PRIMARY_REGION)
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
    url = sqs.create_queue(
        QueueName=name, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": redrive}
    )["QueueUrl"]
    return str(url), str(dlq_url)


def notify_queue(
    endpoint: str, bucket: str, queue_url: str, filters: Sequence[tuple[str, str]] = PINNED_UPLOADS
) -> None:
    """The stack's notification (``wearit_local.notifications``), in the tests' region."""
    notify_objects(endpoint, bucket, queue_url, PRIMARY_REGION, filters)


def object_created(bucket: str, key: str) -> ObjectCreated:
    """The event S3 sends when a POST lands ``key`` (parsed as the worker parses it)."""
    record = {
        "eventName": "ObjectCreated:Post",
        "eventTime": "2026-12-01T00:00:00Z",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key}},
    }
    (event,) = parse_message(json.dumps({"Records": [record]}))
    return event


def create_distribution(cloudfront: Any) -> str:
    """A distribution in moto's CloudFront control API (it serves nothing): its id."""
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": f"wearit-test-{uuid.uuid4().hex}",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "primary",
                        "DomainName": "wearit-storage-dev.s3.us-east-1.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "primary",
                "ViewerProtocolPolicy": "https-only",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )["Distribution"]
    return str(distribution["Id"])
