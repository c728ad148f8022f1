"""A batch of SQS messages as Lambda delivers it, handled like the polling worker does.

Lambda's SQS event source mapping hands a function up to ``BatchSize`` messages at once
(https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html) and, with
``ReportBatchItemFailures``, deletes every message the function does not list in
``{"batchItemFailures": [{"itemIdentifier": messageId}]}``. Each message goes through the
same :class:`~wearit_storage.workers.messages.MessageHandler` as on a host, and its
verdict becomes the answer: ``ack`` is left out (deleted), ``retry`` is listed (it comes
back after the visibility timeout, then reaches the DLQ), ``defer`` is listed after its
visibility is changed to the delay.

Messages not yet started when the invocation nears its timeout are listed too: returned
whole, never cut mid-write, never lost. The messages of a batch run ``concurrency`` at a
time, in their order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypedDict

from wearit_storage.errors import StorageError
from wearit_storage.observability import logger
from wearit_storage.workers.messages import MessageHandler, Verdict
from wearit_storage.workers.queue import QueueMessage, WorkQueue


class LambdaContext(Protocol):
    """The part of Lambda's context object this module reads."""

    def get_remaining_time_in_millis(self) -> int: ...


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


def queue_message(record: Mapping[str, Any]) -> QueueMessage:
    """One record of Lambda's SQS event as the poller's :class:`QueueMessage`."""
    attributes = record.get("attributes") or {}
    return QueueMessage(
        message_id=str(record["messageId"]),
        receipt_handle=str(record.get("receiptHandle", "")),
        body=str(record.get("body", "")),
        receive_count=int(attributes.get("ApproximateReceiveCount", 1)),
    )


def handle_batch(
    event: Mapping[str, Any],
    context: LambdaContext,
    handler: MessageHandler,
    *,
    reserve_ms: int,
    concurrency: int = 1,
    queue: Callable[[], WorkQueue] | None = None,
) -> BatchResponse:
    """Handle every message of ``event``; list the ones to come back.

    ``reserve_ms``: the longest one message may take; a message is started only while at
    least that much of the invocation remains. ``queue`` gives the queue a deferred
    message's visibility is changed on (made only when a message is deferred).
    """
    records: Sequence[Mapping[str, Any]] = event.get("Records", [])
    messages = [queue_message(record) for record in records]
    failures: set[str] = set()
    lock = threading.Lock()

    def fail(message: QueueMessage) -> None:
        with lock:
            failures.add(message.message_id)

    def run(message: QueueMessage) -> None:
        left_ms = context.get_remaining_time_in_millis()
        if left_ms < reserve_ms:
            logger.warning(
                "lambda batch: message %s not started, %d ms left: it comes back",
                message.message_id,
                left_ms,
            )
            fail(message)
            return
        try:
            verdict = handler.handle(message)
        except Exception:
            # A bug, not the message's fault: it comes back, and the DLQ keeps it if it
            # keeps failing. The invocation goes on with the others.
            logger.exception("lambda batch: message %s failed unexpectedly", message.message_id)
            fail(message)
            return
        if verdict.action == "ack":
            return
        if verdict.action == "defer" and queue is not None:
            _defer(queue, message, verdict)
        fail(message)

    if concurrency <= 1:
        for message in messages:
            run(message)
    else:
        with ThreadPoolExecutor(concurrency, thread_name_prefix="wearit-batch") as pool:
            list(pool.map(run, messages))
    # In the batch's order: what comes back is easy to match with the event.
    return {
        "batchItemFailures": [
            {"itemIdentifier": m.message_id} for m in messages if m.message_id in failures
        ]
    }


def _defer(queue: Callable[[], WorkQueue], message: QueueMessage, verdict: Verdict) -> None:
    try:
        queue().come_back_in(message, verdict.delay_s)
    except StorageError:
        # Listed as a failure anyway: it comes back after the visibility timeout instead.
        logger.warning("lambda batch: could not defer message %s", message.message_id)
