"""The upload worker: long-poll the queue, process each message on a bounded pool, ack.

A message is deleted only once every record in it is finished (done, rejected, settled
before, gone or not ours). A record that fails with a ``StorageError`` leaves its message
alone: it becomes visible again after the queue's visibility timeout, and after
``maxReceiveCount`` receives SQS moves it to the dead-letter queue, as it does with a body
that is no S3 event at all. A record another worker holds is put back for the rest of
that worker's lease.

``stop()`` (the CLI calls it on SIGTERM and SIGINT) drains: no new receive starts, messages
a receive returns after the stop are made visible again at once for other workers, and
in-flight messages finish before ``run`` returns. The receive in progress when the signal
arrives may take up to its long poll (20 s) to return: give the process at least
20 s + one render to stop (ECS's default ``stopTimeout`` is 30 s).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from wearit_storage.errors import MalformedUploadEvent, StorageError
from wearit_storage.observability import Instrumentation, MetricsHook, logger
from wearit_storage.repository import SyncStorageRepository
from wearit_storage.uploads.events import parse_message
from wearit_storage.uploads.processor import DEFAULT_LEASE, Outcome, RecordResult, UploadProcessor
from wearit_storage.workers.queue import LONG_POLL_S, MAX_BATCH, QueueMessage, UploadQueue

#: The metric names the hook receives (``OperationMetric.operation``).
RECEIVED: Final = "upload_received"
DONE: Final = "upload_done"  # duration_s: from the upload (S3 event time) to done
REJECTED: Final = "upload_rejected"  # error: the ImageRejected reason
RETRIED: Final = "upload_retried"  # error: why; the message will come back


@dataclass
class WorkerStats:
    """Counts since ``run`` started (thread-safe increments through ``add``)."""

    received: int = 0
    done: int = 0
    rejected: int = 0
    retried: int = 0
    settled_before: int = 0
    ignored: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class UploadWorker:
    def __init__(
        self,
        repository: SyncStorageRepository,
        queue: UploadQueue,
        *,
        concurrency: int = 1,
        wait_s: int = LONG_POLL_S,
        metrics_hook: MetricsHook | None = None,
        worker_id: str | None = None,
        processor: UploadProcessor | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.queue = queue
        self.concurrency = concurrency
        self.wait_s = wait_s
        self.processor = processor or UploadProcessor(
            repository.uploads, worker_id=worker_id or default_worker_id(), lease=DEFAULT_LEASE
        )
        self.stats = WorkerStats()
        self._instrumentation = Instrumentation(metrics_hook)
        self._stopping = threading.Event()
        self._slots = threading.Semaphore(concurrency)

    def stop(self) -> None:
        """Drain: finish what is in flight, receive nothing more. Safe from a signal handler."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self, *, once: bool = False) -> WorkerStats:
        """Process messages until ``stop()`` (or, with ``once``, after one receive)."""
        logger.info(
            "upload worker %s: polling %s with %d slot(s)",
            self.processor.worker_id,
            self.queue.url,
            self.concurrency,
        )
        in_flight: set[Future[None]] = set()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="wearit-upload") as pool:
            while not self._stopping.is_set():
                free = self._wait_for_free_slots()
                if self._stopping.is_set():
                    break  # stopped while every slot was busy: receive nothing more
                messages = self.queue.receive(min(MAX_BATCH, free), self.wait_s)
                for message in messages:
                    if self._stopping.is_set():
                        # Received after the stop: let another worker have it now.
                        self._give_back(message)
                        continue
                    self._slots.acquire()
                    future = pool.submit(self._handle_guarded, message)
                    in_flight.add(future)
                    future.add_done_callback(self._release_slot)
                in_flight = {f for f in in_flight if not f.done()}
                if once:
                    break
        logger.info("upload worker %s stopped: %s", self.processor.worker_id, self.stats)
        return self.stats

    def _wait_for_free_slots(self) -> int:
        # Block until at least one slot is free, then count them without holding any.
        self._slots.acquire()
        free = 1
        while free < self.concurrency and self._slots.acquire(blocking=False):
            free += 1
        for _ in range(free):
            self._slots.release()
        return free

    def _release_slot(self, _: Future[None]) -> None:
        self._slots.release()

    def _give_back(self, message: QueueMessage) -> None:
        try:
            self.queue.come_back_in(message, 0)
        except StorageError:
            logger.warning("upload worker: could not give back message %s", message.message_id)

    def _handle_guarded(self, message: QueueMessage) -> None:
        try:
            self.handle(message)
        except Exception:
            # Never lose a pool thread to a bug: the message simply comes back.
            logger.exception("upload worker: message %s failed unexpectedly", message.message_id)

    def handle(self, message: QueueMessage) -> None:
        """Process every record of one message, then delete it, defer it or leave it."""
        try:
            events = parse_message(message.body)
        except MalformedUploadEvent as exc:
            self._retried(message.message_id, exc, message, "left for the DLQ")
            return  # left on the queue: the DLQ collects it after maxReceiveCount
        retry_in = 0
        for event in events:
            self.stats.add("received")
            self._instrumentation.event(RECEIVED, event.key)
            try:
                result = self.processor.process(event)
            except StorageError as exc:
                self._retried(event.key, exc, message, "it will come back")
                return
            self._report(result, event.event_time)
            if result.outcome is Outcome.BUSY and result.retry_in is not None:
                retry_in = max(retry_in, int(result.retry_in.total_seconds()) + 1)
        if retry_in:
            self.queue.come_back_in(message, retry_in)
        else:
            self.queue.delete(message)

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
                message="image rejected: temp object deleted, outcome recorded",
                level=logging.INFO,
            )
        elif result.outcome is Outcome.SETTLED:
            self.stats.add("settled_before")
            logger.info("upload worker: %s was settled before (%s)", result.key, result.reason)
        elif result.outcome is Outcome.BUSY:
            logger.info("upload worker: %s is held by another worker", result.key)
        else:
            self.stats.add("ignored")
            logger.info("upload worker: %s ignored (%s)", result.key, result.reason or "gone")
