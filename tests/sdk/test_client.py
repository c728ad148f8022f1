"""SyncS3Client against moto: integrity, key validation, error translation, transport."""

from __future__ import annotations

import dataclasses
import logging
import re
import socket
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ResponseStreamingError,
)

from tests.sdk.helpers import PRIMARY_REGION
from wearit_storage import (
    InvalidStorageKey,
    ObjectNotFound,
    OperationMetric,
    StorageAccessDenied,
    StorageConfigurationError,
    StorageError,
    StorageNotConnected,
    StorageSettings,
    StorageUnavailable,
    SyncS3Client,
)
from wearit_storage.s3.transport import translate_error
from wearit_storage.settings import endpoint_from

KEY = "clothing/u1/c1/photo.jpg"


def test_round_trip_sends_checksum_and_content_type(
    client: SyncS3Client, admin: Any, bucket: str
) -> None:
    stored = client.put_object(b"\xff\xd8 not really a jpeg", KEY, "image/jpeg")
    assert stored.version_id is not None
    assert stored.size == 20
    head = admin.head_object(Bucket=bucket, Key=KEY, ChecksumMode="ENABLED")
    assert head["ContentType"] == "image/jpeg"
    assert head["ChecksumSHA256"]  # S3 stored (and verified) the checksum we sent
    assert client.download_file(KEY) == b"\xff\xd8 not really a jpeg"


def test_upload_file_returns_a_presigned_get_url(client: SyncS3Client, bucket: str) -> None:
    url = client.upload_file(b"data", KEY, content_type="image/png")
    assert f"/{bucket}/{KEY}?" in url
    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=3600" in url


def test_large_bodies_use_multipart_transfer(settings: StorageSettings, admin: Any) -> None:
    operations: list[str] = []
    client = SyncS3Client.from_settings(
        dataclasses.replace(settings, multipart_threshold=5 * 1024 * 1024)
    )
    client.boto_client.meta.events.register(
        "before-call.s3", lambda model, **_: operations.append(model.name)
    )
    body = bytes(range(256)) * (11 * 4096)  # 11 MiB -> 3 parts
    stored = client.put_object(body, KEY)
    assert "CreateMultipartUpload" in operations
    assert operations.count("UploadPart") == 3
    assert "PutObject" not in operations
    # The version id comes from the completion response: no follow-up HeadObject that
    # could fail after the object is stored and turn a success into an error.
    assert "HeadObject" not in operations
    assert client.download_file(KEY) == body
    head = admin.head_object(Bucket=settings.bucket_name, Key=KEY)
    assert head["ContentType"] == "image/jpeg"
    # The version id is known even for multipart writes, so a rollback can remove them.
    assert stored.version_id == head["VersionId"]
    client.close()


def test_a_download_cut_mid_body_is_retried_then_unavailable(
    settings: StorageSettings, admin: Any, bucket: str
) -> None:
    admin.put_object(Bucket=bucket, Key=KEY, Body=b"0123456789" * 1000)
    cuts = 0

    def cut_the_body(response: Any, **kwargs: Any) -> None:
        nonlocal cuts
        if cuts < limit:
            cuts += 1
            response["Body"]._raw_stream = _CutStream()

    with SyncS3Client.from_settings(dataclasses.replace(settings, max_attempts=3)) as client:
        client.boto_client.meta.events.register("after-call.s3.GetObject", _body_hook(cut_the_body))
        limit = 2
        assert client.download_file(KEY) == b"0123456789" * 1000  # third GET succeeds
        cuts, limit = 0, 3
        with pytest.raises(StorageUnavailable, match="cut or corrupted in transit 3 times"):
            client.download_file(KEY)


def _body_hook(change: Any) -> Any:
    def hook(parsed: dict[str, Any], **kwargs: Any) -> None:
        change(parsed)

    return hook


class _CutStream:
    """A body whose connection resets while it streams, as botocore reports it (a real
    reset through a proxy is in tests/faults)."""

    def read(self, amt: int | None = None) -> bytes:
        raise ResponseStreamingError(error="Connection broken: reset mid-body")

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not used")

    def close(self) -> None:
        pass


def test_small_bodies_use_a_single_put(client: SyncS3Client) -> None:
    operations: list[str] = []
    client.boto_client.meta.events.register(
        "before-call.s3", lambda model, **_: operations.append(model.name)
    )
    client.put_object(b"x" * 1000, KEY)
    assert operations == ["PutObject"]


def test_invalid_keys_are_rejected_before_any_request(client: SyncS3Client) -> None:
    sent: list[str] = []
    client.boto_client.meta.events.register("before-send.s3", lambda **kw: sent.append("x"))
    for call in (
        lambda: client.put_object(b"x", "../etc/passwd.jpg"),
        lambda: client.upload_file(b"x", "clothing/u1/photo.jpg"),
        lambda: client.download_file("clothing/u1/c1/../../x.jpg"),
        lambda: client.delete_file("avatars/u1/x/y.jpg"),
        lambda: client.generate_presigned_url("clothing/ü/c1/a.jpg"),
    ):
        with pytest.raises(InvalidStorageKey):
            call()
    assert sent == []


def test_missing_key_is_object_not_found_naming_the_key(client: SyncS3Client) -> None:
    with pytest.raises(ObjectNotFound, match=re.escape(KEY)) as info:
        client.download_file(KEY)
    assert info.value.key == KEY
    assert isinstance(info.value.__cause__, ClientError)


def test_missing_bucket_is_a_configuration_error(settings: StorageSettings) -> None:
    missing = dataclasses.replace(settings, bucket_name="no-such-bucket-here")
    with (
        SyncS3Client.from_settings(missing) as client,
        pytest.raises(StorageConfigurationError, match="bucket does not exist"),
    ):
        client.download_file(KEY)


def test_delete_file_adds_a_delete_marker_and_returns_true(
    client: SyncS3Client, admin: Any, bucket: str
) -> None:
    client.put_object(b"x", KEY)
    assert client.delete_file(KEY) is True
    markers = admin.list_object_versions(Bucket=bucket, Prefix=KEY).get("DeleteMarkers", [])
    assert len(markers) == 1
    with pytest.raises(ObjectNotFound):
        client.download_file(KEY)


def test_delete_file_failure_returns_false_logs_and_reports(
    settings: StorageSettings, caplog: pytest.LogCaptureFixture
) -> None:
    metrics: list[OperationMetric] = []
    missing = dataclasses.replace(settings, bucket_name="no-such-bucket-here")
    with (
        SyncS3Client.from_settings(missing, metrics_hook=metrics.append) as client,
        caplog.at_level(logging.ERROR, logger="wearit_storage"),
    ):
        assert client.delete_file(KEY) is False
    assert any(r.levelno == logging.ERROR and KEY in r.getMessage() for r in caplog.records)
    assert [(m.operation, m.outcome) for m in metrics] == [("delete", "error")]


def test_not_connected_client_says_so() -> None:
    client = SyncS3Client()
    with pytest.raises(StorageNotConnected, match="connect"):
        client.download_file(KEY)


def test_unreachable_endpoint_is_storage_unavailable() -> None:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        unreachable = StorageSettings(
            region=PRIMARY_REGION,
            bucket_name="bucket",
            endpoint_url=f"http://127.0.0.1:{port}",
            max_attempts=1,
            connect_timeout_s=0.5,
            read_timeout_s=0.5,
        )
        with SyncS3Client.from_settings(unreachable) as client:
            with pytest.raises(StorageUnavailable, match="unreachable") as info:
                client.download_file(KEY)
            assert isinstance(info.value.__cause__, EndpointConnectionError)
            assert client.delete_file(KEY) is False


def test_explicit_endpoint_beats_the_environment(
    settings: StorageSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    assert settings.endpoint_url is not None
    with SyncS3Client.from_settings(settings) as client:
        assert client.boto_client.meta.endpoint_url == settings.endpoint_url
        client.put_object(b"x", KEY)


def test_s3_specific_endpoint_variable_beats_the_generic_one() -> None:
    assert endpoint_from({"AWS_ENDPOINT_URL": "http://generic:1"}) == "http://generic:1"
    both = {"AWS_ENDPOINT_URL": "http://generic:1", "AWS_ENDPOINT_URL_S3": "http://s3:1"}
    assert endpoint_from(both) == "http://s3:1"
    assert endpoint_from({}) is None


def test_connect_with_four_values_takes_the_endpoint_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, bucket: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    with SyncS3Client() as client:
        client.connect(PRIMARY_REGION, bucket)  # credentials from the (dummy) env chain
        client.put_object(b"x", KEY)
        assert client.boto_client.meta.config.s3["addressing_style"] == "path"


def test_transport_configuration(settings: StorageSettings) -> None:
    tuned = dataclasses.replace(settings, endpoint_url=None, max_concurrency=7, max_attempts=4)
    with SyncS3Client.from_settings(tuned) as client:
        config = client.boto_client.meta.config
        assert config.max_pool_connections == 7
        assert config.retries == {"mode": "standard", "total_max_attempts": 4}
        assert config.signature_version == "s3v4"
        assert config.request_checksum_calculation == "when_supported"
        assert config.s3["addressing_style"] == "virtual"  # real S3: no endpoint override
        assert client.boto_client.meta.region_name == settings.region


def test_a_botocore_config_is_merged_over_the_sdk_configuration(
    settings: StorageSettings,
) -> None:
    extra = Config(user_agent_extra="wearit-api/1.2", connect_timeout=1.5)
    with SyncS3Client.from_settings(dataclasses.replace(settings, botocore_config=extra)) as client:
        config = client.boto_client.meta.config
        assert "wearit-api/1.2" in (config.user_agent_extra or "")
        assert config.connect_timeout == 1.5  # the caller's value wins
        assert config.retries == {"mode": "standard", "total_max_attempts": 2}  # ours stays
        client.put_object(b"x", KEY)


def test_half_credentials_are_refused(settings: StorageSettings) -> None:
    with pytest.raises(StorageConfigurationError, match="together"):
        SyncS3Client().connect(settings.region, settings.bucket_name, "key-only", None)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("NoSuchKey", ObjectNotFound),
        ("404", ObjectNotFound),
        ("NoSuchVersion", ObjectNotFound),
        ("AccessDenied", StorageAccessDenied),
        ("403", StorageAccessDenied),
        ("InvalidAccessKeyId", StorageAccessDenied),
        ("SlowDown", StorageUnavailable),
        ("ServiceUnavailable", StorageUnavailable),
        ("NoSuchBucket", StorageConfigurationError),
        ("SomethingNew", StorageError),
    ],
)
def test_client_error_codes_map_to_the_hierarchy(code: str, expected: type[StorageError]) -> None:
    exc = ClientError({"Error": {"Code": code, "Message": "m"}}, "GetObject")
    translated = translate_error(exc, operation="download", key=KEY, bucket="b")
    assert type(translated) is expected
    assert KEY in str(translated)
    assert translated.key == KEY


def test_timeouts_map_to_unavailable() -> None:
    exc = ConnectTimeoutError(endpoint_url="http://x")
    assert isinstance(
        translate_error(exc, operation="upload", key=KEY, bucket="b"), StorageUnavailable
    )


def test_access_denied_from_the_server_is_translated(client: SyncS3Client) -> None:
    def deny(**kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")

    client.boto_client.meta.events.register("before-call.s3.GetObject", deny)
    with pytest.raises(StorageAccessDenied, match="IAM policy"):
        client.download_file(KEY)


def test_one_info_line_per_operation_with_key_bytes_and_duration(
    client: SyncS3Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="wearit_storage"):
        client.put_object(b"12345", KEY)
        client.download_file(KEY)
    lines = [r.getMessage() for r in caplog.records if r.name == "wearit_storage"]
    assert len(lines) == 2
    assert lines[0].startswith(f"storage upload key={KEY} bytes=5 duration=")
    assert lines[1].startswith(f"storage download key={KEY} bytes=5 duration=")


def test_metrics_hook_receives_each_operation(settings: StorageSettings) -> None:
    metrics: list[OperationMetric] = []
    with SyncS3Client.from_settings(settings, metrics_hook=metrics.append) as client:
        client.put_object(b"12345", KEY)
        client.download_file(KEY)
        with pytest.raises(ObjectNotFound):
            client.download_file("body/u1/b1/missing.jpg")
    assert [(m.operation, m.key, m.bytes, m.outcome) for m in metrics] == [
        ("upload", KEY, 5, "ok"),
        ("download", KEY, 5, "ok"),
        ("download", "body/u1/b1/missing.jpg", 0, "error"),
    ]
    assert metrics[2].error == "ObjectNotFound"
    assert all(m.duration_s >= 0 for m in metrics)


def test_a_raising_metrics_hook_does_not_break_the_operation(
    settings: StorageSettings, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(metric: OperationMetric) -> None:
        raise RuntimeError("statsd is down")

    with SyncS3Client.from_settings(settings, metrics_hook=broken) as client:
        client.put_object(b"x", KEY)
        assert client.download_file(KEY) == b"x"
    assert any("metrics hook raised" in r.getMessage() for r in caplog.records)


def test_client_is_created_once_and_reused(client: SyncS3Client) -> None:
    first = client.boto_client
    client.put_object(b"x", KEY)
    client.download_file(KEY)
    assert client.boto_client is first


def test_retries_are_bounded_by_max_attempts(settings: StorageSettings) -> None:
    from botocore.awsrequest import AWSResponse

    sends: list[str] = []

    def always_503(request: Any, **kwargs: Any) -> AWSResponse:
        sends.append(request.url)
        return AWSResponse(request.url, 503, {}, _EmptyRaw())

    with SyncS3Client.from_settings(dataclasses.replace(settings, max_attempts=2)) as client:
        client.boto_client.meta.events.register("before-send.s3", always_503)
        with pytest.raises(StorageUnavailable):
            client.download_file(KEY)
    assert len(sends) == 2  # first try + one retry, then the error surfaces


class _EmptyRaw:
    def stream(self, *args: Any, **kwargs: Any) -> Any:
        return iter([b""])
