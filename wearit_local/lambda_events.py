"""Lambda's SQS event, made of messages really received from a queue, and its context: how
the demo and the tests play the event source mapping that moto does not run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


def sqs_event(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Received messages as the SQS event source mapping hands them to a function
    (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html)."""
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": message["Attributes"]["ApproximateReceiveCount"],
                    "SentTimestamp": message["Attributes"]["SentTimestamp"],
                    "ApproximateFirstReceiveTimestamp": message["Attributes"][
                        "ApproximateFirstReceiveTimestamp"
                    ],
                },
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": arn.split(":")[3],
            }
            for message in messages
        ]
    }


def receive_all(sqs: Any, queue_url: str, count: int) -> list[dict[str, Any]]:
    """``count`` messages of the queue (long-polling until they are all there)."""
    received: list[dict[str, Any]] = []
    for _ in range(10):
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
        )
        received += response.get("Messages", [])
        if len(received) >= count:
            return received
    raise AssertionError(f"{len(received)} of {count} messages arrived")


@dataclass
class LocalContext:
    """Lambda's context: how much of the invocation is left, counting down in real time,
    and by ``step_ms`` more each time it is asked (to reach the deadline mid-batch)."""

    remaining_ms: int = 60_000
    step_ms: int = 0
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed = int((time.monotonic() - self._started) * 1000)
        left = self.remaining_ms - elapsed
        self.remaining_ms -= self.step_ms
        return max(left, 0)
