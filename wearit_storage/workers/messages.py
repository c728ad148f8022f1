"""What a worker does with one queue message, whichever loop delivered it.

A handler turns a message into a :class:`Verdict`; the loop that received the message
carries it out: the polling worker (:mod:`.poller`) deletes, leaves or hides the message,
the Lambda batch (:mod:`.lambda_batch`) reports it as a success or a batch item failure.
One implementation of what a message means, two ways to run it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from wearit_storage.workers.queue import QueueMessage

Action = Literal["ack", "retry", "defer"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """``ack``: done with it, delete it; ``retry``: leave it to come back after the queue's
    visibility timeout (and reach the DLQ after ``maxReceiveCount`` receives); ``defer``:
    come back in ``delay_s`` (another worker holds the upload)."""

    action: Action
    delay_s: int = 0
    #: Only S3's ``s3:TestEvent``: nothing was there to work on.
    test_event_only: bool = False

    @classmethod
    def ack(cls, *, test_event_only: bool = False) -> Verdict:
        return cls("ack", test_event_only=test_event_only)

    @classmethod
    def retry(cls) -> Verdict:
        return cls("retry")

    @classmethod
    def defer(cls, delay_s: int) -> Verdict:
        return cls("defer", delay_s=delay_s)


class MessageHandler(Protocol):
    """Handles one message; never raises for what the message holds."""

    def handle(self, message: QueueMessage) -> Verdict: ...
