"""The erasure queue's messages: the bucket's announcement of a request (the first pass)
and the eraser's own delayed message (the second), each run by the
:class:`~wearit_storage.privacy.eraser.Eraser`.

A pass that fails leaves its message to come back (and reach the DLQ after its retries);
a second pass delivered before it is due is deferred until then.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Final

from wearit_storage.categories import Category
from wearit_storage.delivery.invalidation import EdgeInvalidator
from wearit_storage.errors import InvalidStorageKey, MalformedUploadEvent, StorageError
from wearit_storage.observability import Instrumentation, MetricsHook, logger
from wearit_storage.paths import ERASURE_REQUEST_FILENAME, parse_key
from wearit_storage.privacy.eraser import Eraser, ScheduleSecondPass
from wearit_storage.s3.client import SyncS3Client
from wearit_storage.s3.transport import boto_session
from wearit_storage.settings import StorageSettings
from wearit_storage.uploads.events import is_test_event, parse_message
from wearit_storage.workers.messages import Verdict
from wearit_storage.workers.queue import QueueMessage, WorkQueue

#: What the eraser's own message says: ``{"erasure": "second-pass", "user_id": ...}``.
SECOND_ROUND: Final = "second-pass"
#: The metric names the hook receives.
ERASED: Final = "erasure_done"  # the second pass found nothing left
FIRST_ROUND: Final = "erasure_first_pass"
FAILED: Final = "erasure_retried"


def second_pass_message(user_id: str) -> str:
    return json.dumps({"erasure": SECOND_ROUND, "user_id": user_id})


def scheduler(queue: WorkQueue) -> ScheduleSecondPass:
    """The eraser's ``schedule``: a delayed message on its own queue."""

    def schedule(user_id: str, delay: timedelta) -> None:
        queue.send(second_pass_message(user_id), delay_s=int(delay.total_seconds()))

    return schedule


class ErasureMessages:
    """Handles the erasure queue's messages with one eraser."""

    def __init__(self, eraser: Eraser, *, metrics_hook: MetricsHook | None = None) -> None:
        self.eraser = eraser
        self._instrumentation = Instrumentation(metrics_hook)
        self.passes = 0

    @classmethod
    def on_queue(
        cls,
        queue: WorkQueue,
        primary: SyncS3Client,
        replica: SyncS3Client | None,
        settings: StorageSettings,
        *,
        metrics_hook: MetricsHook | None = None,
    ) -> ErasureMessages:
        """What every eraser host runs: second passes scheduled on ``queue`` itself, after
        the settings' delay."""
        eraser = Eraser(
            primary,
            replica,
            schedule=scheduler(queue),
            delay=timedelta(seconds=settings.erasure_second_pass_s),
            edge_invalidator=EdgeInvalidator.from_settings(settings, boto_session(settings)),
        )
        return cls(eraser, metrics_hook=metrics_hook)

    def handle(self, message: QueueMessage) -> Verdict:
        try:
            if is_test_event(message.body):
                return Verdict.ack(test_event_only=True)
            work = _work_of(message.body)
        except (MalformedUploadEvent, InvalidStorageKey) as exc:
            self._failed(message.message_id, exc, message)
            return Verdict.retry()
        for user_id, second in work:
            try:
                if second:
                    result = self.eraser.second_pass(user_id)
                    if result.not_before is not None:
                        wait = (result.not_before - datetime.now(UTC)).total_seconds()
                        return Verdict.defer(max(1, int(wait) + 1))
                    self._instrumentation.event(ERASED, user_id)
                else:
                    self.eraser.first_pass(user_id)
                    self._instrumentation.event(FIRST_ROUND, user_id)
            except StorageError as exc:
                self._failed(user_id, exc, message)
                return Verdict.retry()
            self.passes += 1
        return Verdict.ack()

    def _failed(self, subject: str, exc: Exception, message: QueueMessage) -> None:
        self._instrumentation.event(
            FAILED,
            subject,
            error=type(exc).__name__,
            message=f"{exc} (delivery {message.receive_count}; it will come back)",
            level=logging.WARNING,
        )


def _work_of(body: str) -> list[tuple[str, bool]]:
    """(user id, second pass?) for each request a message carries."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise MalformedUploadEvent(f"erasure message is not JSON: {body[:80]!r}") from exc
    if isinstance(document, dict) and document.get("erasure") == SECOND_ROUND:
        return [(str(document["user_id"]), True)]
    work = []
    for event in parse_message(body):
        parsed = parse_key(event.key)
        if parsed.category is Category.ERASURES and parsed.filename == ERASURE_REQUEST_FILENAME:
            work.append((parsed.owner_id, False))
        else:
            logger.info("eraser: %s is no erasure request: skipped", event.key)
    return work
