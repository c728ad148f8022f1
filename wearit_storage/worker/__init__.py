"""The upload worker: S3 announces uploads under ``temp/`` on an SQS queue; any number of
stateless workers (``wearit-storage worker``) promote them into their pinned destination.

Modules: ``events`` (S3 event JSON), ``queue`` (SQS), ``processor`` (one upload, claimed
and settled idempotently), ``worker`` (the polling loop, its pool and its drain).
"""

from __future__ import annotations

from wearit_storage.worker.events import ObjectCreated, parse_message
from wearit_storage.worker.processor import Outcome, RecordResult, UploadProcessor
from wearit_storage.worker.queue import QueueMessage, UploadQueue, create_sqs_client
from wearit_storage.worker.worker import UploadWorker, WorkerStats

__all__ = [
    "ObjectCreated",
    "Outcome",
    "QueueMessage",
    "RecordResult",
    "UploadProcessor",
    "UploadQueue",
    "UploadWorker",
    "WorkerStats",
    "create_sqs_client",
    "parse_message",
]
