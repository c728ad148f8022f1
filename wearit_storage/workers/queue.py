"""A work queue (the upload queue, the erasure queue): long-polling receive, delete, and
visibility changes, typed.

The SQS endpoint is the queue URL's own origin (``https://sqs.<region>.amazonaws.com``, or
the local server's), so one setting per queue (``WEARIT_UPLOAD_QUEUE_URL``) says everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from wearit_storage.errors import (
    StorageAccessDenied,
    StorageConfigurationError,
    StorageUnavailable,
)
from wearit_storage.s3.transport import boto_session, error_code
from wearit_storage.settings import StorageSettings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: SQS's longest long poll: an empty queue costs one request per 20 s per poller.
LONG_POLL_S: Final = 20
#: SQS delivers at most 10 messages per receive.
MAX_BATCH: Final = 10
_DENIED: Final = frozenset({"AccessDenied", "AccessDeniedException", "KMS.AccessDeniedException"})


@dataclass(frozen=True, slots=True)
class QueueMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int  # 1 on the first delivery


def create_sqs_client(settings: StorageSettings, queue_url: str) -> SQSClient:
    """A client for the SQS endpoint that serves ``queue_url``."""
    parsed = urlsplit(queue_url)
    client: SQSClient = boto_session(settings).client(
        "sqs",
        endpoint_url=f"{parsed.scheme}://{parsed.netloc}",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
            connect_timeout=settings.connect_timeout_s,
            # A long poll holds the connection for up to 20 s before answering.
            read_timeout=LONG_POLL_S + settings.read_timeout_s,
            max_pool_connections=settings.max_concurrency + 1,
        ),
    )
    return client


class WorkQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self.url = queue_url

    @classmethod
    def erasures(cls, settings: StorageSettings) -> WorkQueue:
        """The erasure queue, ``WEARIT_ERASURE_QUEUE_URL``."""
        if settings.erasure_queue_url is None:
            raise StorageConfigurationError(
                "WEARIT_ERASURE_QUEUE_URL is not set: set it to the erasure queue's URL (the "
                "ErasureQueueUrl output of the WearitStorage-<env> stack)"
            )
        url = settings.erasure_queue_url
        return cls(create_sqs_client(settings, url), url)

    @classmethod
    def uploads(cls, settings: StorageSettings) -> WorkQueue:
        """The upload queue, ``WEARIT_UPLOAD_QUEUE_URL``."""
        if settings.upload_queue_url is None:
            raise StorageConfigurationError(
                "WEARIT_UPLOAD_QUEUE_URL is not set: set it to the upload queue's URL (the "
                "UploadQueueUrl output of the WearitStorage-<env> stack)"
            )
        url = settings.upload_queue_url
        return cls(create_sqs_client(settings, url), url)

    def close(self) -> None:
        self._client.close()

    @contextmanager
    def _call(self, action: str) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            code = error_code(exc)
            if code in _DENIED:
                raise StorageAccessDenied(
                    f"{action} on {self.url} was denied ({code}): check the worker role's "
                    "sqs:* permissions on this queue and, in prod, kms:Decrypt on its key"
                ) from exc
            raise StorageUnavailable(f"{action} on {self.url} failed ({code}): {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(
                f"{action} on {self.url} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def receive(self, max_messages: int, wait_s: int = LONG_POLL_S) -> list[QueueMessage]:
        """Up to ``max_messages`` (1..10), waiting up to ``wait_s`` for the first one."""
        with self._call("ReceiveMessage"):
            response = self._client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max(1, min(MAX_BATCH, max_messages)),
                WaitTimeSeconds=wait_s,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        return [
            QueueMessage(
                message_id=message.get("MessageId", ""),
                receipt_handle=message.get("ReceiptHandle", ""),
                body=message.get("Body", ""),
                receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
            )
            for message in response.get("Messages", [])
        ]

    def send(self, body: str, *, delay_s: int = 0) -> None:
        """Put a message on the queue, hidden for ``delay_s`` (at most SQS's 15 minutes)."""
        with self._call("SendMessage"):
            self._client.send_message(
                QueueUrl=self.url, MessageBody=body, DelaySeconds=max(0, min(900, delay_s))
            )

    def delete(self, message: QueueMessage) -> None:
        with self._call("DeleteMessage"):
            self._client.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)

    def come_back_in(self, message: QueueMessage, seconds: int) -> None:
        """Hide the message for ``seconds`` more (0: visible to any worker right away)."""
        with self._call("ChangeMessageVisibility"):
            self._client.change_message_visibility(
                QueueUrl=self.url,
                ReceiptHandle=message.receipt_handle,
                VisibilityTimeout=max(0, min(43200, seconds)),
            )
