"""A bucket announcing pinned uploads to a queue as the stack declares it, for tests and
benchmarks that build a pipeline without provisioning a whole environment."""

from __future__ import annotations

from wearit_local.clients import emulator_client
from wearit_storage.paths import PINNED_UPLOAD_SUFFIXES


def notify_queue(endpoint: str, bucket: str, queue_url: str, region: str) -> None:
    """Every object created under temp/ with a pinned upload's ending goes to the queue (the
    worker's status.json writes do not), as ``cdk/constructs/upload_pipeline.py`` says."""
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
                                {"Name": "prefix", "Value": "temp/"},
                                {"Name": "suffix", "Value": suffix},
                            ]
                        }
                    },
                }
                for suffix in PINNED_UPLOAD_SUFFIXES
            ]
        },
    )
