"""The Lambda functions ``cdk deploy`` creates: their entry points.

``upload_handler`` is the upload worker (``Handler: wearit_storage.workers.lambda_handler.
upload_handler``), fed by the upload queue's event source mapping. It runs the same
:class:`~wearit_storage.workers.uploads.UploadMessages` as ``wearit-storage worker`` on a
host: the same processor, idempotency, claims and rejections. ``eraser_handler`` is the
eraser, fed by the erasure queue, running the same
:class:`~wearit_storage.workers.erasures.ErasureMessages` as ``wearit-storage eraser``.

Configuration is the environment, as everywhere (``StorageSettings.from_env``; Lambda sets
``AWS_REGION`` and the role's credentials). What is built from it (the boto3 clients, the
processor) is built once per execution environment, on the first invocation, and reused
by the next ones. Logs go through Python's logging, which Lambda's JSON log format turns
into structured records; metrics are CloudWatch embedded metric format lines on stdout.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any, Final

from wearit_storage.observability import embedded_metrics_hook
from wearit_storage.privacy.eraser import Eraser
from wearit_storage.repository import SyncStorageRepository
from wearit_storage.settings import StorageSettings
from wearit_storage.uploads.processor import UploadProcessor
from wearit_storage.workers.erasures import (
    ERASED,
    FAILED,
    FIRST_ROUND,
    ErasureMessages,
    scheduler,
)
from wearit_storage.workers.lambda_batch import BatchResponse, LambdaContext, handle_batch
from wearit_storage.workers.queue import WorkQueue
from wearit_storage.workers.uploads import DONE, RECEIVED, REJECTED, RETRIED, UploadMessages

#: The CloudWatch namespace of the workers' metrics.
METRICS_NAMESPACE: Final = "WearIT/Storage"
_UPLOAD_METRICS: Final = frozenset({RECEIVED, DONE, REJECTED, RETRIED})


class UploadWorkerEnvironment:
    """What one execution environment of the upload worker keeps between invocations."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.settings = StorageSettings.from_env(environ)
        function = environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        hook = embedded_metrics_hook(
            METRICS_NAMESPACE, {"function": function}, operations=_UPLOAD_METRICS
        )
        self.repository = SyncStorageRepository.from_settings(self.settings, metrics_hook=hook)
        # The log stream names the execution environment: a claim says which one holds it.
        worker_id = f"lambda:{function}:{environ.get('AWS_LAMBDA_LOG_STREAM_NAME', os.getpid())}"
        self.messages = UploadMessages(
            UploadProcessor(self.repository.uploads, worker_id=worker_id), metrics_hook=hook
        )

    @functools.cached_property
    def queue(self) -> WorkQueue:
        """The upload queue, for deferring a message another worker holds (rare)."""
        return WorkQueue.uploads(self.settings)


@functools.cache
def upload_worker() -> UploadWorkerEnvironment:
    """Built from ``os.environ`` on the first invocation, reused by the next ones;
    ``upload_worker.cache_clear()`` starts a new execution environment (tests, the demo)."""
    return UploadWorkerEnvironment(os.environ)


def upload_handler(event: Mapping[str, Any], context: LambdaContext) -> BatchResponse:
    """Promote the uploads of one SQS batch; list the messages that must come back."""
    worker = upload_worker()
    return handle_batch(
        event,
        context,
        worker.messages,
        reserve_ms=worker.settings.message_deadline_s * 1000,
        concurrency=worker.settings.worker_concurrency,
        queue=lambda: worker.queue,
    )


#: The eraser's metrics.
_ERASER_METRICS: Final = frozenset({ERASED, FIRST_ROUND, FAILED})


class EraserEnvironment:
    """What one execution environment of the eraser keeps between invocations."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.settings = StorageSettings.from_env(environ)
        function = environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        hook = embedded_metrics_hook(
            METRICS_NAMESPACE, {"function": function}, operations=_ERASER_METRICS
        )
        self.repository = SyncStorageRepository.from_settings(self.settings, metrics_hook=hook)
        self.queue = WorkQueue.erasures(self.settings)
        eraser = Eraser(
            self.repository.s3_client,
            self.repository.replica_client,
            schedule=scheduler(self.queue),
        )
        self.messages = ErasureMessages(eraser, metrics_hook=hook)


@functools.cache
def eraser() -> EraserEnvironment:
    """Built from ``os.environ`` on the first invocation (``eraser.cache_clear()``: a new
    execution environment)."""
    return EraserEnvironment(os.environ)


def eraser_handler(event: Mapping[str, Any], context: LambdaContext) -> BatchResponse:
    """Run the erasure passes one SQS batch asks for; list the messages that come back."""
    worker = eraser()
    return handle_batch(
        event,
        context,
        worker.messages,
        reserve_ms=worker.settings.message_deadline_s * 1000,
        queue=lambda: worker.queue,
    )
