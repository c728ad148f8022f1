"""``wearit-storage worker`` in-process: ``--once``, ``--concurrency``, errors, signals."""

from __future__ import annotations

import json
import signal
import uuid

import pytest

from tests.sdk.helpers import upload_queue
from wearit_local.clients import emulator_client
from wearit_local.http_upload import post_presigned
from wearit_storage import StorageSettings, SyncStorageRepository, UploadDestination
from wearit_storage.cli import main


@pytest.fixture
def worker_env(
    monkeypatch: pytest.MonkeyPatch, settings: StorageSettings, moto_endpoint: str
) -> str:
    queue_url, _ = upload_queue(moto_endpoint, f"cli-{uuid.uuid4().hex[:12]}")
    assert settings.endpoint_url
    for name, value in {
        "AWS_REGION_NAME": settings.region,
        "AWS_BUCKET_NAME": settings.bucket_name,
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "WEARIT_UPLOAD_QUEUE_URL": queue_url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return queue_url


def test_once_processes_what_one_receive_returns_and_restores_the_signal_handlers(
    worker_env: str,
    moto_endpoint: str,
    bucket: str,
    repo: SyncStorageRepository,
    jpeg: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    post = repo.presign_upload(
        "sess-cli", "photo.jpg", destination=UploadDestination("avatars", "user-1")
    )
    assert post_presigned(post, jpeg, "image/jpeg") in (200, 201, 204)
    # Announced by hand, as S3 would: no notification, so no s3:TestEvent in the way.
    sqs = emulator_client("sqs", moto_endpoint, region="eu-west-3")
    sqs.send_message(
        QueueUrl=worker_env,
        MessageBody=json.dumps(
            {
                "Records": [
                    {
                        "eventName": "ObjectCreated:Post",
                        "eventTime": "2026-12-01T00:00:00Z",
                        "s3": {"bucket": {"name": bucket}, "object": {"key": post.key}},
                    }
                ]
            }
        ),
    )
    assert main(["worker", "--once", "--concurrency", "2"]) == 0
    assert "worker stopped: 1 upload(s): 1 done" in capsys.readouterr().out
    status = repo.upload_status("sess-cli")
    assert status.state == "done"
    assert status.main_key == "avatars/user-1/avatar.jpg"
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_concurrency_below_one_is_a_usage_error(worker_env: str) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["worker", "--concurrency", "0"])
    assert raised.value.code == 2


def test_without_a_queue_url_the_error_names_the_variable(
    worker_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WEARIT_UPLOAD_QUEUE_URL")
    assert main(["worker", "--once"]) == 1
    assert "WEARIT_UPLOAD_QUEUE_URL is not set" in capsys.readouterr().err
