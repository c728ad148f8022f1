"""StorageSettings.from_env: the seed's variables, precedence, one clear error each."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from wearit_storage import StorageConfigurationError, StorageSettings, SyncS3Client
from wearit_storage.settings import _TABLE

BASE = {"AWS_REGION_NAME": "eu-west-3", "AWS_BUCKET_NAME": "wearit-storage"}


def test_minimal_environment_uses_defaults() -> None:
    settings = StorageSettings.from_env(BASE)
    assert settings.region == "eu-west-3"
    assert settings.bucket_name == "wearit-storage"
    assert settings.access_key is None
    assert settings.secret_key is None
    assert settings.max_concurrency == 10
    assert settings.get_expiry_s == 3600
    assert settings.body_get_expiry_s == 300
    assert settings.max_upload_bytes == 15 * 1024 * 1024
    assert settings.replica_bucket_name is None


def test_full_environment() -> None:
    settings = StorageSettings.from_env(
        {
            "AWS_REGION_NAME": "eu-west-3",
            "WEARIT_ENV": "prod",
            "AWS_BUCKET_NAME_DEV": "wearit-storage-dev",
            "AWS_BUCKET_NAME_PROD": "wearit-storage-prod",
            "AWS_ACCESS_KEY_ID": "AKIA",
            "AWS_SECRET_ACCESS_KEY": "the-secret-key",
            "AWS_ENDPOINT_URL": "http://localhost:9000",
            "WEARIT_REPLICA_BUCKET_NAME": "wearit-storage-replica",
            "WEARIT_REPLICA_REGION_NAME": "eu-central-1",
            "WEARIT_MAX_CONCURRENCY": "32",
            "WEARIT_MAX_UPLOAD_BYTES": "1000",
            "WEARIT_BODY_GET_EXPIRY_SECONDS": "60",
        }
    )
    assert settings.bucket_name == "wearit-storage-prod"
    assert (settings.access_key, settings.secret_key) == ("AKIA", "the-secret-key")
    assert settings.endpoint_url == "http://localhost:9000"
    assert (settings.replica_bucket_name, settings.replica_region) == (
        "wearit-storage-replica",
        "eu-central-1",
    )
    assert settings.max_concurrency == 32
    assert settings.max_upload_bytes == 1000
    assert settings.body_get_expiry_s == 60
    assert "the-secret-key" not in repr(settings)


def test_wearit_env_selects_dev_bucket_and_agrees_with_plain_name() -> None:
    env = {**BASE, "WEARIT_ENV": "dev", "AWS_BUCKET_NAME_DEV": "wearit-storage"}
    assert StorageSettings.from_env(env).bucket_name == "wearit-storage"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"AWS_BUCKET_NAME": "b"}, "AWS_REGION_NAME"),
        ({"AWS_REGION_NAME": "eu-west-3"}, "AWS_BUCKET_NAME"),
        ({**BASE, "AWS_BUCKET_NAME": "   "}, "AWS_BUCKET_NAME"),
        ({**BASE, "WEARIT_ENV": "prod", "AWS_BUCKET_NAME_DEV": "d"}, "AWS_BUCKET_NAME_PROD"),
        (
            {**BASE, "WEARIT_ENV": "dev", "AWS_BUCKET_NAME_DEV": "other"},
            "AWS_BUCKET_NAME=",
        ),
        ({**BASE, "WEARIT_ENV": "staging"}, "WEARIT_ENV"),
        ({**BASE, "AWS_ACCESS_KEY_ID": "AKIA"}, "AWS_SECRET_ACCESS_KEY"),
        ({**BASE, "AWS_SECRET_ACCESS_KEY": "s"}, "AWS_ACCESS_KEY_ID"),
        ({**BASE, "WEARIT_REPLICA_BUCKET_NAME": "wearit-r"}, "WEARIT_REPLICA_REGION_NAME"),
        ({**BASE, "WEARIT_REPLICA_REGION_NAME": "eu-central-1"}, "WEARIT_REPLICA_BUCKET_NAME"),
        (
            {
                **BASE,
                "WEARIT_REPLICA_BUCKET_NAME": "wearit-storage",
                "WEARIT_REPLICA_REGION_NAME": "eu-central-1",
            },
            "WEARIT_REPLICA_BUCKET_NAME equals",
        ),
        ({**BASE, "WEARIT_MAX_CONCURRENCY": "ten"}, "WEARIT_MAX_CONCURRENCY"),
        ({**BASE, "WEARIT_MAX_CONCURRENCY": "0"}, "WEARIT_MAX_CONCURRENCY"),
        ({**BASE, "WEARIT_GET_EXPIRY_SECONDS": "604801"}, "WEARIT_GET_EXPIRY_SECONDS"),
        ({**BASE, "WEARIT_MULTIPART_THRESHOLD": "1024"}, "WEARIT_MULTIPART_THRESHOLD"),
        ({**BASE, "WEARIT_READ_TIMEOUT_SECONDS": "soon"}, "WEARIT_READ_TIMEOUT_SECONDS"),
        ({**BASE, "WEARIT_READ_TIMEOUT_SECONDS": "0"}, "WEARIT_READ_TIMEOUT_SECONDS"),
        ({**BASE, "WEARIT_CONNECT_TIMEOUT_SECONDS": "-1"}, "WEARIT_CONNECT_TIMEOUT_SECONDS"),
    ],
)
def test_missing_or_contradictory_settings_name_the_variable(
    env: dict[str, str], variable: str
) -> None:
    with pytest.raises(StorageConfigurationError, match=variable):
        StorageSettings.from_env(env)


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION_NAME", "eu-west-1")
    monkeypatch.setenv("AWS_BUCKET_NAME", "from-os-environ")
    monkeypatch.delenv("WEARIT_ENV", raising=False)
    assert StorageSettings.from_env().bucket_name == "from-os-environ"


def test_settings_are_frozen() -> None:
    settings = StorageSettings.from_env(BASE)
    with pytest.raises(AttributeError):
        settings.bucket_name = "other"  # type: ignore[misc]


def test_temporary_credentials_keep_their_session_token() -> None:
    env = {
        **BASE,
        "AWS_ACCESS_KEY_ID": "ASIATEMP",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token-of-an-sso-session",
    }
    settings = StorageSettings.from_env(env)
    assert settings.session_token == "token-of-an-sso-session"
    assert "token-of-an-sso-session" not in repr(settings)
    with SyncS3Client.from_settings(settings) as client:
        # A request signed with temporary credentials must carry their token.
        url = client.generate_presigned_url("clothing/u1/c1/image.jpg")
        assert "X-Amz-Security-Token=token-of-an-sso-session" in url


def test_a_session_token_alone_is_contradictory() -> None:
    with pytest.raises(StorageConfigurationError, match="AWS_SESSION_TOKEN"):
        StorageSettings(region="eu-west-3", bucket_name="wearit-b", session_token="t")


def test_every_row_of_the_settings_table_is_read_by_from_env_and_documented() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name, row in _TABLE.items():
        field = next(f for f in dataclasses.fields(StorageSettings) if f.name == name)
        raw = "7" if field.type in ("int", "float") else "value-7"
        if name == "multipart_threshold":
            raw = str(6 * 1024**2)
        if name == "image_memory_mb":
            raw = "700"
        if name == "replica_region":
            raw = "eu-central-1"
        if name in ("upload_queue_url", "erasure_queue_url"):
            raw = "https://sqs.eu-west-3.amazonaws.com/123456789012/value-7"
        if name in {"cdn_key_pair_id", "cdn_distribution_id"}:
            raw = "KVALUE7ID"
        if name == "cdn_domain":
            raw = "images.value-7.example"
        if name in {"cdn_url_window_s", "cdn_cookie_expiry_s"}:
            raw = "700"
        environment = dict(BASE)
        if name in {"access_key", "secret_key", "session_token"}:
            environment |= {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
        if name.startswith("replica_"):
            environment |= {
                "WEARIT_REPLICA_BUCKET_NAME": "wearit-replica",
                "WEARIT_REPLICA_REGION_NAME": "eu-central-1",
            }
        if name.startswith("cdn_") and name != "cdn_distribution_id":
            # The CDN's domain, key id and one key source go together.
            environment |= {
                "WEARIT_CDN_DOMAIN": "images.wearit.com",
                "WEARIT_CDN_KEY_PAIR_ID": "K2JCJMDEHXQW5F",
            }
            if "private_key" in name:
                environment |= {row.variable: raw}
            else:
                environment |= {"WEARIT_CDN_PRIVATE_KEY_FILE": "/run/secrets/cdn.pem"}
        environment[row.variable] = raw
        settings = StorageSettings.from_env(environment)
        assert str(getattr(settings, name)).removesuffix(".0") == raw, name
        assert f"`{row.variable}`" in readme, f"{row.variable} is not in the README"


@pytest.mark.parametrize("name", [n for n, row in _TABLE.items() if row.low is not None])
def test_every_range_is_checked_at_construction_and_names_the_variable(name: str) -> None:
    row = _TABLE[name]
    assert row.low is not None
    out_of_range: dict[str, Any] = {name: row.low / 2 - 1}
    with pytest.raises(StorageConfigurationError, match=f"^{row.variable}=.* out of range"):
        StorageSettings(region="eu-west-3", bucket_name="wearit-b", **out_of_range)
    with pytest.raises(StorageConfigurationError, match=f"^{row.variable}="):
        StorageSettings.from_env({**BASE, row.variable: "-1"})


def test_the_replica_is_the_same_settings_pointed_at_the_replica_bucket() -> None:
    settings = StorageSettings.from_env(
        {
            **BASE,
            "WEARIT_REPLICA_BUCKET_NAME": "wearit-storage-replica",
            "WEARIT_REPLICA_REGION_NAME": "eu-central-1",
            "WEARIT_MAX_ATTEMPTS": "3",
        }
    )
    replica = settings.replica()
    assert (replica.region, replica.bucket_name) == ("eu-central-1", "wearit-storage-replica")
    assert replica.max_attempts == 3
    assert not replica.has_replica
    with pytest.raises(StorageConfigurationError, match="no replica configured"):
        replica.replica()


def test_connect_with_the_design_document_arguments_validates_once() -> None:
    with pytest.raises(StorageConfigurationError, match="together"):
        SyncS3Client().connect("eu-west-3", "bucket", "key-only", None)
    with pytest.raises(StorageConfigurationError, match="both region and bucket_name"):
        SyncS3Client().connect("eu-west-3")
    with pytest.raises(StorageConfigurationError, match="no settings to connect with"):
        SyncS3Client().connect()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AWS_REGION_NAME", "not a region!", "not an AWS region name"),
        ("AWS_BUCKET_NAME", "my bucket", "not an S3 bucket name"),
        ("AWS_BUCKET_NAME", "bucket/evil", "not an S3 bucket name"),
        ("AWS_BUCKET_NAME", "b" * 300, "not an S3 bucket name"),
        ("AWS_BUCKET_NAME", "192.168.1.10", "not an S3 bucket name"),
        ("AWS_ENDPOINT_URL", "not a url", "not an endpoint URL"),
        ("AWS_ENDPOINT_URL_S3", "ftp://host", "not an endpoint URL"),
        ("WEARIT_REPLICA_REGION_NAME", "Mars-1", "not an AWS region name"),
        ("WEARIT_UPLOAD_QUEUE_URL", "wearit-uploads", "not an SQS queue URL"),
        ("WEARIT_UPLOAD_QUEUE_URL", "https://sqs.eu-west-3.amazonaws.com/q", "not an SQS"),
        ("WEARIT_MAX_CONCURRENCY", "\u0661\u0660", "not an integer"),  # Arabic-Indic 10
        ("WEARIT_MAX_CONCURRENCY", "1_0", "not an integer"),
        ("WEARIT_READ_TIMEOUT_SECONDS", "1_0", "not a number"),
        ("WEARIT_READ_TIMEOUT_SECONDS", "nan", "not a number"),
        ("AWS_SESSION_TOKEN", "token-without-keys", "without AWS_ACCESS_KEY_ID"),
    ],
)
def test_values_that_would_fail_later_are_refused_at_from_env_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    environment = {**BASE, variable: value}
    if variable == "WEARIT_REPLICA_REGION_NAME":
        environment["WEARIT_REPLICA_BUCKET_NAME"] = "wearit-replica"
    with pytest.raises(StorageConfigurationError, match=variable) as info:
        StorageSettings.from_env(environment)
    assert message in str(info.value)


def test_the_s3_specific_endpoint_wins_when_read_from_the_same_mapping() -> None:
    settings = StorageSettings.from_env(
        {
            **BASE,
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:2",
        }
    )
    assert settings.endpoint_url == "http://127.0.0.1:2"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"AWS_REGION": "eu-west-1"}, "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "eu-west-2"}, "eu-west-2"),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"}, "eu-west-1"),
        ({"AWS_REGION_NAME": "eu-west-3", "AWS_REGION": "eu-west-1"}, "eu-west-3"),
    ],
)
def test_standard_region_variables_are_fallbacks(variables: dict[str, str], expected: str) -> None:
    settings = StorageSettings.from_env({"AWS_BUCKET_NAME": "wearit-x", **variables})
    assert settings.region == expected


def test_a_bad_fallback_region_is_named() -> None:
    with pytest.raises(StorageConfigurationError, match="AWS_DEFAULT_REGION="):
        StorageSettings.from_env({"AWS_BUCKET_NAME": "wearit-x", "AWS_DEFAULT_REGION": "moon"})
