"""Downloads cut or corrupted while the body streams: retried whole, or refused, never
returned as data. botocore retries a request only until its headers arrive."""

from __future__ import annotations

import base64
import hashlib
import random
from typing import Any

import pytest
from botocore.config import Config

from tests.faults.conftest import MAX_ATTEMPTS
from tests.faults.proxy import FaultKind, FaultProxy, Rule
from tests.sdk.helpers import PRIMARY_REGION
from wearit_local.clients import emulator_client
from wearit_storage import StorageError, StorageUnavailable, SyncS3Client

KEY = "clothing/u/i/photo.jpg"


@pytest.fixture
def stored(client: SyncS3Client) -> bytes:
    """An object written by the SDK (with its SHA-256), through the proxy, no faults yet."""
    data = random.Random(KEY).randbytes(256 * 1024)
    client.put_object(data, KEY)
    return data


def test_a_download_cut_once_is_retried_whole(
    client: SyncS3Client, proxy: FaultProxy, stored: bytes
) -> None:
    proxy.script(Rule(FaultKind.RESET_MID_BODY, operation="GetObject", key=KEY, nth=1))
    assert client.download_file(KEY) == stored
    assert [r.fault for r in proxy.matching(operation="GetObject")] == [
        FaultKind.RESET_MID_BODY,
        None,
    ]


def test_a_download_cut_on_every_attempt_is_unavailable(
    client: SyncS3Client, proxy: FaultProxy, stored: bytes
) -> None:
    proxy.script(Rule(FaultKind.RESET_MID_BODY, operation="GetObject", key=KEY))
    with pytest.raises(StorageUnavailable):
        client.download_file(KEY)
    gets = proxy.matching(operation="GetObject")
    assert len(gets) >= MAX_ATTEMPTS
    assert all(r.fault is FaultKind.RESET_MID_BODY for r in gets)


def test_a_corrupted_body_is_never_returned_as_data(
    client: SyncS3Client, proxy: FaultProxy, admin: Any, bucket: str, stored: bytes
) -> None:
    # The SDK wrote a SHA-256 that S3 keeps with the object and returns with ChecksumMode.
    head = admin.head_object(Bucket=bucket, Key=KEY, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(stored).digest()).decode()
    proxy.script(Rule(FaultKind.CORRUPT_BODY, operation="GetObject", key=KEY))
    # Control: a client that does not validate receives the flipped byte, same length.
    unchecked = emulator_client(
        "s3",
        proxy.url,
        PRIMARY_REGION,
        config=Config(response_checksum_validation="when_required"),
    )
    tampered = unchecked.get_object(Bucket=bucket, Key=KEY)["Body"].read()
    assert len(tampered) == len(stored)
    assert tampered != stored

    with pytest.raises(StorageError):
        client.download_file(KEY)
