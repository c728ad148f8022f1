"""The workers: the SDK run from a queue. S3 announces uploads under ``temp/`` on an SQS
queue; any number of stateless workers (``wearit-storage worker``) promote them into their
pinned destination.

Modules: ``queue`` (SQS), ``poller`` (the polling loop, its pool and its drain). What one
message means is the feature's own: :mod:`wearit_storage.uploads.events` (S3 event JSON)
and :mod:`wearit_storage.uploads.processor` (one upload, claimed and settled idempotently).
"""

from __future__ import annotations

from wearit_storage.uploads.events import ObjectCreated, parse_message
from wearit_storage.uploads.processor import Outcome, RecordResult, UploadProcessor
from wearit_storage.workers.poller import UploadWorker, WorkerStats
from wearit_storage.workers.queue import QueueMessage, UploadQueue, create_sqs_client

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
