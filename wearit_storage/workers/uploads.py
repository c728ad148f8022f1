"""The upload queue's messages: S3 events announcing direct uploads, each record promoted
by the :class:`~wearit_storage.uploads.processor.UploadProcessor`.

A message is acknowledged only once every record in it is finished (done, rejected,
settled before, gone or not an upload). A record that fails with a ``StorageError`` leaves
its message to come back after the queue's visibility timeout; after ``maxReceiveCount``
receives SQS moves it to the dead-letter queue, as it does with a body that is no S3
event at all. A record another worker holds is deferred for the rest of that worker's
lease.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from wearit_storage.errors import MalformedUploadEvent, StorageError
from wearit_storage.observability import Instrumentation, MetricsHook, logger
from wearit_storage.uploads.events import is_test_event, parse_message
from wearit_storage.uploads.processor import Outcome, RecordResult, UploadProcessor
from wearit_storage.workers.messages import Verdict
from wearit_storage.workers.queue import QueueMessage

#: The metric names the hook receives (``OperationMetric.operation``).
RECEIVED: Final = "upload_received"
DONE: Final = "upload_done"  # duration_s: from the upload (S3 event time) to done
REJECTED: Final = "upload_rejected"  # error: the reason (an image's, or session_closed...)
RETRIED: Final = "upload_retried"  # error: why; the message will come back

TEST_EVENT: Final = "S3 test event"


@dataclass
class WorkerStats:
    """What a worker did since it started: uploads by outcome, and what it skipped (test
    events, objects that are no upload of the worker's), by why. Thread-safe."""

    done: int = 0
    rejected: int = 0
    retried: int = 0
    settled_before: int = 0
    gone: int = 0
    deferred: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def uploads(self) -> int:
        """Upload announcements handled, whatever their outcome; skipped ones excluded."""
        outcomes = (self.done, self.rejected, self.retried, self.settled_before, self.gone)
        return sum(outcomes) + self.deferred

    def add(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def skip(self, why: str) -> None:
        with self._lock:
            self.skipped[why] += 1

    def summary(self) -> str:
        line = (
            f"{self.uploads} upload(s): {self.done} done, {self.rejected} rejected, "
            f"{self.retried} left to retry, {self.deferred} deferred (held by another "
            f"worker), {self.settled_before} already settled, {self.gone} gone"
        )
        if self.skipped:
            line += "; skipped: " + ", ".join(
                f"{count} {why}" for why, count in sorted(self.skipped.items())
            )
        return line


class UploadMessages:
    """Handles the upload queue's messages with one processor; counts and reports."""

    def __init__(
        self, processor: UploadProcessor, *, metrics_hook: MetricsHook | None = None
    ) -> None:
        self.processor = processor
        self.stats = WorkerStats()
        self._instrumentation = Instrumentation(metrics_hook)

    def handle(self, message: QueueMessage) -> Verdict:
        """Process every record of one message; never raises for what the message holds."""
        try:
            if is_test_event(message.body):
                self.stats.skip(TEST_EVENT)
                return Verdict.ack(test_event_only=True)
            events = parse_message(message.body)
        except MalformedUploadEvent as exc:
            self._retried(message.message_id, exc, message, "left for the DLQ")
            return Verdict.retry()
        defer_s = 0
        for event in events:
            if self.processor.announces_upload(event):
                self._instrumentation.event(RECEIVED, event.key)
            try:
                result = self.processor.process(event)
            except StorageError as exc:
                self._retried(event.key, exc, message, "it will come back")
                return Verdict.retry()
            self._report(result, event.event_time)
            if result.outcome is Outcome.BUSY and result.retry_in is not None:
                defer_s = max(defer_s, int(result.retry_in.total_seconds()) + 1)
        return Verdict.defer(defer_s) if defer_s else Verdict.ack()

    def _retried(self, subject: str, exc: Exception, message: QueueMessage, fate: str) -> None:
        """Count and report a message left on the queue for another delivery."""
        self.stats.add("retried")
        self._instrumentation.event(
            RETRIED,
            subject,
            error=type(exc).__name__,
            message=f"{exc} (delivery {message.receive_count}; {fate})",
            level=logging.WARNING,
        )

    def _report(self, result: RecordResult, uploaded_at: datetime) -> None:
        if result.outcome is Outcome.DONE:
            self.stats.add("done")
            latency = (datetime.now(UTC) - uploaded_at).total_seconds()
            self._instrumentation.event(DONE, result.key, max(latency, 0.0))
        elif result.outcome is Outcome.REJECTED:
            self.stats.add("rejected")
            self._instrumentation.event(
                REJECTED,
                result.key,
                error=result.reason or "corrupt",
                message="upload refused: its version deleted, the outcome recorded",
                level=logging.INFO,
            )
        elif result.outcome is Outcome.SETTLED:
            self.stats.add("settled_before")
            logger.info("upload worker: %s was settled before (%s)", result.key, result.reason)
        elif result.outcome is Outcome.BUSY:
            self.stats.add("deferred")
            logger.info("upload worker: %s is held by another worker", result.key)
        elif result.outcome is Outcome.GONE:
            self.stats.add("gone")
        else:
            self.stats.skip(result.reason or "not an upload")
            logger.info("upload worker: %s skipped (%s)", result.key, result.reason)
