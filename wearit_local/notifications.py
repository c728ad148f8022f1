"""A bucket announcing objects to a queue as the stack declares it, for tests and
benchmarks that build a pipeline without provisioning a whole environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from wearit_local.clients import emulator_client
from wearit_storage.categories import Category
from wearit_storage.paths import ERASURE_REQUEST_FILENAME, PINNED_UPLOAD_SUFFIXES

#: (prefix, suffix) pairs, each one notification, as ``cdk/stacks/storage_stack.py``
#: declares them: pinned uploads' endings under temp/ (the worker's status.json writes
#: are not announced), and erasure requests (the eraser's status.json is not).
PINNED_UPLOADS: Final = tuple((Category.TEMP.prefix, suffix) for suffix in PINNED_UPLOAD_SUFFIXES)
ERASURE_REQUESTS: Final = ((Category.ERASURES.prefix, f"/{ERASURE_REQUEST_FILENAME}"),)


def notify_queue(
    endpoint: str,
    bucket: str,
    queue_url: str,
    region: str,
    filters: Sequence[tuple[str, str]] = PINNED_UPLOADS,
) -> None:
    """Every object created under one of the ``filters`` goes to the queue (and nothing
    else: the bucket's previous notifications are replaced)."""
    sqs = emulator_client("sqs", endpoint, region=region)
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    emulator_client("s3", endpoint, region=region).put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": prefix},
                                {"Name": "suffix", "Value": suffix},
                            ]
                        }
                    },
                }
                for prefix, suffix in filters
            ]
        },
    )
