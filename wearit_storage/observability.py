"""One log line per operation, plus an optional metrics hook.

Log lines carry the key, the byte count and the duration; never a presigned URL (its
query string is a bearer credential).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, Literal

from wearit_storage.errors import ObjectNotFound

logger: Final = logging.getLogger("wearit_storage")

Outcome = Literal["ok", "error"]


@dataclass(frozen=True, slots=True)
class OperationMetric:
    operation: str
    key: str
    bytes: int
    duration_s: float
    outcome: Outcome
    error: str | None = None  # error class name when outcome == "error"


MetricsHook = Callable[[OperationMetric], None]


@dataclass(slots=True)
class OperationRecord:
    """Mutable while the operation runs; the caller sets ``bytes`` once known, and calls
    :meth:`fail` when the operation ends without an exception but did not do its job
    (an erasure that left versions behind returns a report instead of raising)."""

    bytes: int = 0
    error: str | None = None
    message: str = ""
    level: int = logging.ERROR

    def fail(self, error: str, message: str, *, level: int = logging.ERROR) -> None:
        self.error, self.message, self.level = error, message, level


class Instrumentation:
    def __init__(self, metrics_hook: MetricsHook | None = None) -> None:
        self._hook = metrics_hook

    @contextmanager
    def operation(self, name: str, key: str, nbytes: int = 0) -> Iterator[OperationRecord]:
        record = OperationRecord(bytes=nbytes)
        start = time.perf_counter()
        try:
            yield record
        except BaseException as exc:
            # A missing object is an ordinary answer (a 404), not a failure of the storage.
            level = logging.INFO if isinstance(exc, ObjectNotFound) else logging.ERROR
            record.fail(type(exc).__name__, str(exc), level=level)
            raise
        finally:
            self._report(name, key, record, time.perf_counter() - start)

    def event(
        self,
        name: str,
        key: str,
        duration_s: float = 0.0,
        *,
        error: str | None = None,
        message: str = "",
        level: int = logging.INFO,
    ) -> None:
        """Report something that happened rather than an operation timed here (the upload
        worker's received / done / rejected / retried, with the upload-to-done latency)."""
        record = OperationRecord()
        if error is not None:
            record.fail(error, message, level=level)
        self._report(name, key, record, duration_s)

    def _report(self, name: str, key: str, record: OperationRecord, duration: float) -> None:
        if record.error is None:
            logger.info(
                "storage %s key=%s bytes=%d duration=%.3fs", name, key, record.bytes, duration
            )
            self._emit(OperationMetric(name, key, record.bytes, duration, "ok"))
            return
        logger.log(
            record.level,
            "storage %s failed key=%s bytes=%d duration=%.3fs error=%s: %s",
            name,
            key,
            record.bytes,
            duration,
            record.error,
            record.message,
        )
        self._emit(OperationMetric(name, key, record.bytes, duration, "error", record.error))

    def _emit(self, metric: OperationMetric) -> None:
        if self._hook is None:
            return
        try:
            self._hook(metric)
        except Exception:
            # A broken metrics backend must never fail a user's upload.
            logger.warning(
                "metrics hook raised for %s key=%s", metric.operation, metric.key, exc_info=True
            )


def embedded_metrics_hook(
    namespace: str,
    dimensions: Mapping[str, str],
    *,
    operations: frozenset[str],
    write: Callable[[str], object] | None = None,
) -> MetricsHook:
    """A metrics hook that writes CloudWatch embedded metric format (EMF) lines: in Lambda,
    a JSON line on stdout becomes metrics with no API call and no extra permission
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).

    Only ``operations`` are written (the worker's own events, not every S3 call); each line
    counts one, with its duration, by ``operation`` and ``outcome`` plus ``dimensions``
    (e.g. the function name). The key and the error travel as properties, never dimensions:
    a dimension per key would be a metric per object.
    """
    emit = write or _stdout_line
    names = ["operation", "outcome", *dimensions]

    def hook(metric: OperationMetric) -> None:
        if metric.operation not in operations:
            return
        document = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [names],
                        "Metrics": [
                            {"Name": "Count", "Unit": "Count"},
                            {"Name": "Duration", "Unit": "Seconds"},
                        ],
                    }
                ],
            },
            **dimensions,
            "operation": metric.operation,
            "outcome": metric.outcome,
            "Count": 1,
            "Duration": round(metric.duration_s, 6),
            "key": metric.key,
        }
        if metric.error is not None:
            document["error"] = metric.error
        emit(json.dumps(document, separators=(",", ":")))

    return hook


def _stdout_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
