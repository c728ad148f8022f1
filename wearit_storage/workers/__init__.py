"""The workers: the SDK run from a queue. S3 announces uploads under ``temp/`` on an SQS
queue; any number of stateless workers (``wearit-storage worker``) promote them into their
pinned destination.

Modules: ``queue`` (SQS), ``messages`` (a message's verdict: ack, retry, defer),
``uploads`` (the upload queue's messages, counted), ``poller`` (the polling loop on a host,
its pool and its drain), ``lambda_batch`` and ``lambda_handler`` (the same handlers run by
Lambda from an SQS event source mapping). What one upload means is the feature's own:
:mod:`wearit_storage.uploads.events` (S3 event JSON) and
:mod:`wearit_storage.uploads.processor` (one upload, claimed and settled idempotently).
"""

from __future__ import annotations

from wearit_storage.uploads.events import ObjectCreated, parse_message
from wearit_storage.uploads.processor import Outcome, RecordResult, UploadProcessor
from wearit_storage.workers.messages import MessageHandler, Verdict
from wearit_storage.workers.poller import QueuePoller, UploadWorker
from wearit_storage.workers.queue import QueueMessage, WorkQueue, create_sqs_client
from wearit_storage.workers.uploads import UploadMessages, WorkerStats

__all__ = [
    "MessageHandler",
    "ObjectCreated",
    "Outcome",
    "QueueMessage",
    "QueuePoller",
    "RecordResult",
    "UploadMessages",
    "UploadProcessor",
    "UploadWorker",
    "Verdict",
    "WorkQueue",
    "WorkerStats",
    "create_sqs_client",
    "parse_message",
]
