"""A worker on a host: long-poll a queue, handle each message on a bounded pool, carry out
its verdict (delete, leave, or hide it for a while).

``stop()`` (the CLI calls it on SIGTERM and SIGINT) drains: no new receive starts, messages
a receive returns after the stop are made visible again at once for other workers, and
in-flight messages finish before ``poll`` returns. The receive in progress when the signal
arrives may take up to its long poll (20 s) to return: give the process at least
20 s + one render to stop (ECS's default ``stopTimeout`` is 30 s).

:class:`UploadWorker` is this loop over the upload queue (``wearit-storage worker``); the
same handler runs in Lambda (:mod:`.lambda_handler`).
"""

from __future__ import annotations

import os
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from wearit_storage.errors import StorageError
from wearit_storage.observability import MetricsHook, logger
from wearit_storage.repository import SyncStorageRepository
from wearit_storage.uploads.processor import DEFAULT_LEASE, UploadProcessor
from wearit_storage.workers.messages import MessageHandler, Verdict
from wearit_storage.workers.queue import LONG_POLL_S, MAX_BATCH, QueueMessage, WorkQueue
from wearit_storage.workers.uploads import UploadMessages, WorkerStats

#: How many receives in a row ``run(once=True)`` makes while they bring only S3's test
#: event (sent once when the bucket's notification is configured).
_ONCE_RECEIVES = 3


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def carry_out(queue: WorkQueue, message: QueueMessage, verdict: Verdict) -> None:
    """Delete, leave or hide ``message`` as ``verdict`` says."""
    if verdict.action == "ack":
        queue.delete(message)
    elif verdict.action == "defer":
        queue.come_back_in(message, verdict.delay_s)
    # retry: left alone, it becomes visible again after the visibility timeout.


class QueuePoller:
    """Long-polls ``queue`` and hands each message to ``handler``, ``concurrency`` at once."""

    def __init__(
        self,
        handler: MessageHandler,
        queue: WorkQueue,
        *,
        concurrency: int = 1,
        wait_s: int = LONG_POLL_S,
        name: str = "worker",
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.handler = handler
        self.queue = queue
        self.concurrency = concurrency
        self.wait_s = wait_s
        self.name = name
        self._stopping = threading.Event()
        self._slots = threading.Semaphore(concurrency)
        self._in_flight = 0
        self._count_lock = threading.Lock()

    def stop(self) -> None:
        """Drain: finish what is in flight, receive nothing more. Safe from a signal handler."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def in_flight(self) -> int:
        """Messages being handled right now."""
        with self._count_lock:
            return self._in_flight

    def poll(self, *, once: bool = False) -> None:
        """Handle messages until ``stop()`` (or, with ``once``, after one receive that
        brought more than S3's test event)."""
        logger.info("%s: polling %s with %d slot(s)", self.name, self.queue.url, self.concurrency)
        receives = 0
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="wearit-worker") as pool:
            while not self._stopping.is_set():
                free = self._wait_for_free_slots()
                if self._stopping.is_set():
                    break  # stopped while every slot was busy: receive nothing more
                messages = self.queue.receive(min(MAX_BATCH, free), self.wait_s)
                receives += 1
                futures = [self._submit(pool, message) for message in messages]
                if once:
                    verdicts = [future.result() for future in futures if future is not None]
                    only_tests = bool(verdicts) and all(v.test_event_only for v in verdicts)
                    if not only_tests or receives >= _ONCE_RECEIVES:
                        break
        logger.info("%s stopped", self.name)

    def _submit(self, pool: ThreadPoolExecutor, message: QueueMessage) -> Future[Verdict] | None:
        if self._stopping.is_set():
            # Received after the stop: let another worker have it now.
            self._give_back(message)
            return None
        self._slots.acquire()
        with self._count_lock:
            self._in_flight += 1
        future = pool.submit(self._handle_guarded, message)
        future.add_done_callback(self._release_slot)
        return future

    def _wait_for_free_slots(self) -> int:
        # Block until at least one slot is free, then count them without holding any.
        self._slots.acquire()
        free = 1
        while free < self.concurrency and self._slots.acquire(blocking=False):
            free += 1
        for _ in range(free):
            self._slots.release()
        return free

    def _release_slot(self, _: Future[Verdict]) -> None:
        with self._count_lock:
            self._in_flight -= 1
        self._slots.release()

    def _give_back(self, message: QueueMessage) -> None:
        try:
            self.queue.come_back_in(message, 0)
        except StorageError:
            logger.warning("%s: could not give back message %s", self.name, message.message_id)

    def _handle_guarded(self, message: QueueMessage) -> Verdict:
        try:
            verdict = self.handler.handle(message)
            carry_out(self.queue, message, verdict)
        except Exception:
            # Never lose a pool thread to a bug: the message simply comes back.
            logger.exception("%s: message %s failed unexpectedly", self.name, message.message_id)
            return Verdict.retry()
        return verdict


class UploadWorker(QueuePoller):
    """The upload worker on a host: the upload queue's messages, promoted with
    ``repository``'s direct uploads (``wearit-storage worker``)."""

    def __init__(
        self,
        repository: SyncStorageRepository,
        queue: WorkQueue,
        *,
        concurrency: int = 1,
        wait_s: int = LONG_POLL_S,
        metrics_hook: MetricsHook | None = None,
        worker_id: str | None = None,
        processor: UploadProcessor | None = None,
    ) -> None:
        self.processor = processor or UploadProcessor(
            repository.uploads, worker_id=worker_id or default_worker_id(), lease=DEFAULT_LEASE
        )
        self.messages = UploadMessages(self.processor, metrics_hook=metrics_hook)
        super().__init__(
            self.messages,
            queue,
            concurrency=concurrency,
            wait_s=wait_s,
            name=f"upload worker {self.processor.worker_id}",
        )

    @property
    def stats(self) -> WorkerStats:
        return self.messages.stats

    def handle(self, message: QueueMessage) -> None:
        """Handle one message and carry out its verdict (what each pool thread does)."""
        carry_out(self.queue, message, self.messages.handle(message))

    def run(self, *, once: bool = False) -> WorkerStats:
        """Poll until ``stop()`` (or one receive, see :meth:`QueuePoller.poll`)."""
        self.poll(once=once)
        logger.info("%s: %s", self.name, self.stats.summary())
        return self.stats
