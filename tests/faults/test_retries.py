"""503 SlowDown and 500 InternalError: retried transparently once, and a persistent 503
surfaces as StorageUnavailable (botocore "standard" retries, two attempts here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.faults.conftest import MAX_ATTEMPTS
from tests.faults.helpers import read
from tests.faults.proxy import FaultKind, FaultProxy, Rule
from tests.sdk.helpers import all_versions
from wearit_storage import StorageUnavailable, SyncS3Client

KEY = "clothing/u/i/photo.jpg"
DATA = b"\xff\xd8 not really a jpeg " * 100
SERVER_ERRORS = [FaultKind.SLOWDOWN, FaultKind.ERROR500]


@pytest.mark.parametrize("kind", SERVER_ERRORS)
def test_one_server_error_on_put_is_retried(
    kind: FaultKind, client: SyncS3Client, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    proxy.script(Rule(kind, operation="PutObject", key=KEY, nth=1))
    stored = client.put_object(DATA, KEY)
    assert [r.fault for r in proxy.matching(operation="PutObject")] == [kind, None]
    assert all_versions(admin, bucket) == [(KEY, stored.version_id, False)]
    assert read(admin, bucket, KEY) == DATA


@pytest.mark.parametrize("kind", SERVER_ERRORS)
def test_one_server_error_on_get_is_retried(
    kind: FaultKind, client: SyncS3Client, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    admin.put_object(Bucket=bucket, Key=KEY, Body=DATA)
    proxy.script(Rule(kind, operation="GetObject", key=KEY, nth=1))
    assert client.download_file(KEY) == DATA
    assert [r.fault for r in proxy.matching(operation="GetObject")] == [kind, None]


@pytest.mark.parametrize("operation", ["PutObject", "GetObject"])
def test_a_persistent_slowdown_is_unavailable(
    operation: str, client: SyncS3Client, proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    admin.put_object(Bucket=bucket, Key=KEY, Body=DATA)
    proxy.script(Rule(FaultKind.SLOWDOWN, operation=operation, key=KEY))
    calls: dict[str, Callable[[], object]] = {
        "PutObject": lambda: client.put_object(DATA, KEY),
        "GetObject": lambda: client.download_file(KEY),
    }
    with pytest.raises(StorageUnavailable):
        calls[operation]()
    assert [r.fault for r in proxy.matching(operation=operation)] == [
        FaultKind.SLOWDOWN
    ] * MAX_ATTEMPTS
