"""Errors a web API can map without reading English: stable codes and HTTP statuses."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from wearit_storage import (
    ErasureIncomplete,
    ExportFailed,
    ImageRejected,
    InvalidStorageKey,
    InvalidStorageRequest,
    ObjectNotFound,
    StorageAccessDenied,
    StorageConfigurationError,
    StorageError,
    StorageNotConnected,
    StorageUnavailable,
    SyncS3Client,
    UploadTooLarge,
)


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (StorageError("m"), "storage_error", 500),
        (ObjectNotFound("m"), "not_found", 404),
        (InvalidStorageKey("m"), "invalid_key", 422),
        (InvalidStorageRequest("m"), "invalid_request", 422),
        (UploadTooLarge("m"), "too_large", 413),
        (StorageAccessDenied("m"), "access_denied", 403),
        (StorageUnavailable("m"), "unavailable", 503),
        (StorageConfigurationError("m"), "configuration_error", 500),
        (StorageNotConnected("m"), "not_connected", 500),
        (ErasureIncomplete("m"), "erasure_incomplete", 500),
        (ExportFailed("m"), "export_failed", 500),
        (ExportFailed("m", cause=StorageUnavailable("m")), "export_failed", 503),
        (ExportFailed("m", cause=StorageAccessDenied("m")), "export_failed", 403),
        (ImageRejected("m", reason="too_large"), "image_rejected", 413),
        (ImageRejected("m", reason="unsupported_format"), "image_rejected", 415),
        (ImageRejected("m", reason="corrupt"), "image_rejected", 422),
        (ImageRejected("m", reason="decompression_bomb"), "image_rejected", 422),
    ],
)
def test_every_error_has_a_stable_code_and_status(
    error: StorageError, code: str, status: int
) -> None:
    assert error.code == code
    assert error.http_status == status


def test_codes_are_unique_per_class() -> None:
    classes: list[type[StorageError]] = [StorageError]
    for parent in classes:
        classes += [c for c in parent.__subclasses__() if c not in classes]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes)), codes


def test_a_missing_object_is_logged_below_error(
    client: SyncS3Client, caplog: pytest.LogCaptureFixture, settings: Any
) -> None:
    with caplog.at_level(logging.DEBUG, logger="wearit_storage"), pytest.raises(ObjectNotFound):
        client.download_file("clothing/u1/c1/missing.jpg")
    (record,) = [r for r in caplog.records if "missing.jpg" in r.getMessage()]
    assert record.levelno == logging.INFO
    assert "error=ObjectNotFound" in record.getMessage()
