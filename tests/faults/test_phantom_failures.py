"""Phantom failures: a write that succeeded must not be reported as failed, and an
erasure that reached nothing must not be reported as a (merely incomplete) result."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from tests.faults.helpers import read
from tests.faults.proxy import FaultKind, FaultProxy, Rule
from wearit_storage import StorageSettings, StorageUnavailable, SyncS3Client, SyncStorageRepository

MiB = 1024**2
KEY = "clothing/u/i/large.jpg"


def test_a_multipart_upload_survives_a_failing_follow_up_head(
    settings: StorageSettings, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    body = random.Random(KEY).randbytes(6 * MiB + 1)
    multipart = dataclasses.replace(settings, multipart_threshold=5 * MiB)
    proxy.script(Rule(FaultKind.ERROR500, operation="HeadObject", key=KEY))

    with SyncS3Client.from_settings(multipart) as client:
        stored = client.put_object(body, KEY)

    operations = proxy.stats.operations
    assert (operations["UploadPart"], operations["CompleteMultipartUpload"]) == (2, 1)
    assert stored.version_id is not None
    assert stored.version_id == admin.head_object(Bucket=bucket, Key=KEY)["VersionId"]
    assert read(admin, bucket, KEY) == body


def test_an_erasure_that_reaches_nothing_raises(
    repo: SyncStorageRepository, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    admin.put_object(Bucket=bucket, Key="clothing/u/i/photo.jpg", Body=b"still here")
    proxy.script(Rule(FaultKind.RESET_BEFORE))

    with pytest.raises(StorageUnavailable):
        repo.delete_user_files("u")

    stats = proxy.stats
    assert stats.requests > 0
    assert stats.faults[FaultKind.RESET_BEFORE] == stats.requests
    assert read(admin, bucket, "clothing/u/i/photo.jpg") == b"still here"
