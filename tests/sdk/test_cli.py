"""The ``wearit-storage`` command against the local S3 server: results, exit codes, errors."""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.sdk.helpers import all_versions
from wearit_storage.cli import main
from wearit_storage.settings import StorageSettings


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: StorageSettings) -> StorageSettings:
    """Point the CLI (which reads the environment, like the SDK) at the test buckets."""
    assert settings.endpoint_url
    assert settings.replica_bucket_name
    assert settings.replica_region
    for name, value in {
        "AWS_REGION_NAME": settings.region,
        "AWS_BUCKET_NAME": settings.bucket_name,
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "WEARIT_REPLICA_BUCKET_NAME": settings.replica_bucket_name,
        "WEARIT_REPLICA_REGION_NAME": settings.replica_region,
        "WEARIT_MAX_ATTEMPTS": "2",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return settings


def test_upload_download_presign_roundtrip(
    cli_env: StorageSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str], jpeg: bytes
) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(jpeg)
    assert main(["upload", "tryon/u1/t1/result.jpg", str(source)]) == 0
    out = capsys.readouterr().out
    assert f"uploaded tryon/u1/t1/result.jpg ({len(jpeg)} bytes, image/jpeg)" in out
    assert "X-Amz-Signature=" in out  # the presigned GET URL
    target = tmp_path / "back.jpg"
    assert main(["download", "tryon/u1/t1/result.jpg", "-o", str(target)]) == 0
    assert target.read_bytes() == jpeg
    assert main(["presign", "tryon/u1/t1/result.jpg", "--expires", "60"]) == 0
    assert "X-Amz-Expires=60" in capsys.readouterr().out


def test_storage_error_is_one_line_naming_the_key(
    cli_env: StorageSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["download", "clothing/u1/c1/missing.jpg"]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("wearit-storage: error: clothing/u1/c1/missing.jpg: ")
    assert "Traceback" not in captured.err


def test_invalid_key_is_rejected_before_any_request(
    cli_env: StorageSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f.jpg").write_bytes(b"x")
    assert main(["upload", "clothing/../etc/passwd.jpg", str(tmp_path / "f.jpg")]) == 1
    assert "wearit-storage: error:" in capsys.readouterr().err


def test_missing_configuration_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_REGION_NAME", raising=False)
    assert main(["usage", "u1"]) == 1
    assert "AWS_REGION_NAME is not set" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [[], ["upload"], ["presign", "k", "--expires", "soon"], ["frobnicate"], ["erase-user"]],
)
def test_bad_arguments_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2


def test_erase_user_requires_yes_without_a_terminal(
    cli_env: StorageSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    admin: Any,
) -> None:
    admin.put_object(Bucket=cli_env.bucket_name, Key="body/u1/b1/image.jpg", Body=b"1")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(SystemExit) as exited:
        main(["erase-user", "u1"])
    assert exited.value.code == 2
    assert "needs --yes" in capsys.readouterr().err
    assert all_versions(admin, cli_env.bucket_name)  # nothing was deleted


def test_usage_then_erase_user_with_progress(
    cli_env: StorageSettings, capsys: pytest.CaptureFixture[str], admin: Any
) -> None:
    bucket = cli_env.bucket_name
    keys = [f"clothing/u9/c{i}/image.jpg" for i in range(1100)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: admin.put_object(Bucket=bucket, Key=key, Body=b"12"), keys))
    admin.put_object(Bucket=bucket, Key="clothing/u90/c1/image.jpg", Body=b"other user")

    assert main(["usage", "u9"]) == 0
    usage_lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:3] == ["clothing", "1100", "2200"] for line in usage_lines)

    assert main(["erase-user", "u9", "--yes"]) == 0
    captured = capsys.readouterr()
    assert "user u9 erased: nothing remains" in captured.out
    assert "erasing [" in captured.err
    assert "1100 deleted" in captured.err
    remaining = [key for key, _version, _is_marker in all_versions(admin, bucket)]
    assert remaining == ["clothing/u90/c1/image.jpg"]


def test_export_user_downloads_the_archive_with_progress(
    cli_env: StorageSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    admin: Any,
) -> None:
    bucket = cli_env.bucket_name
    files = {f"clothing/u9/c{i}/image.jpg": f"photo {i}".encode() for i in range(3)}
    for key, body in files.items():
        admin.put_object(Bucket=bucket, Key=key, Body=body)
    admin.put_object(Bucket=bucket, Key="clothing/u90/c1/image.jpg", Body=b"other user")
    monkeypatch.setattr("wearit_storage.cli.EXPORT_PROGRESS_FROM_OBJECTS", 2)
    target = tmp_path / "export.zip"

    assert main(["export-user", "u9", "-o", str(target)]) == 0

    captured = capsys.readouterr()
    assert "exported user u9: 3 files, 21 bytes" in captured.out
    assert f"to {target}" in captured.out
    assert "exporting [" in captured.err
    assert "3/3 files" in captured.err
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == sorted([*files, "manifest.json"])
        for key, body in files.items():
            assert archive.read(key) == body
    assert not (tmp_path / "export.zip.part").exists()


def test_export_user_without_a_file_prints_the_download_link(
    cli_env: StorageSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export-user", "nobody"]) == 0
    out = capsys.readouterr().out
    assert "exported user nobody: 0 files" in out
    assert "response-content-disposition=attachment" in out
    assert "exporting [" not in out


def test_restore_undoes_an_overwrite(
    cli_env: StorageSettings, capsys: pytest.CaptureFixture[str], admin: Any
) -> None:
    key = "avatars/u1/avatar.jpg"
    admin.put_object(Bucket=cli_env.bucket_name, Key=key, Body=b"first")
    admin.put_object(Bucket=cli_env.bucket_name, Key=key, Body=b"second")
    assert main(["restore", key]) == 0
    assert f"restored {key}" in capsys.readouterr().out
    body = admin.get_object(Bucket=cli_env.bucket_name, Key=key)["Body"].read()
    assert body == b"first"


@pytest.mark.parametrize(
    ("argv", "pointer"),
    [(["local", "up"], "python -m wearit_local up"), (["demo"], "python -m wearit_local demo")],
)
def test_developer_tool_commands_point_to_their_new_home(
    argv: list[str], pointer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert f"run `{pointer}` from a checkout" in capsys.readouterr().err
