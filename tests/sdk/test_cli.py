"""The ``wearit-storage`` command against the local S3 server: results, exit codes, errors."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.sdk.helpers import all_versions
from wearit_storage.cli import build_parser, main
from wearit_storage.settings import StorageSettings


def run_cli(*args: str, close_stdout: bool = False) -> subprocess.CompletedProcess[str]:
    """The command in its own process, as a shell runs it: no logging set up by pytest.

    ``close_stdout`` closes the read end of its stdout before it writes anything, as
    ``| head`` does once it has read enough.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "wearit_storage", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if close_stdout:
        assert process.stdout is not None
        process.stdout.close()
        _, err = process.communicate(timeout=60)
        return subprocess.CompletedProcess(process.args, process.returncode, "", err)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


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
    assert main(["upload", "tryon/u1/t1/result.png", str(source)]) == 0
    out = capsys.readouterr().out
    # Through the image pipeline, like the repository's uploads: a JPEG under .jpg.
    assert f"uploaded tryon/u1/t1/result.jpg ({len(jpeg)} bytes in, rendered as JPEG)" in out
    assert "X-Amz-Signature=" in out  # the presigned GET URL
    target = tmp_path / "back.jpg"
    assert main(["download", "tryon/u1/t1/result.jpg", "-o", str(target)]) == 0
    assert Image.open(target).format == "JPEG"
    assert main(["presign", "tryon/u1/t1/result.jpg", "--expires", "60"]) == 0
    assert "X-Amz-Expires=60" in capsys.readouterr().out


def test_storage_error_is_one_line_naming_the_key_once(cli_env: StorageSettings) -> None:
    key = "clothing/u1/c1/missing.jpg"
    result = run_cli("download", key)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()  # not the SDK's ERROR log line as well
    assert line.startswith("wearit-storage: error: ")
    assert line.count(key) == 1
    assert "no such object" in line


def test_verbose_shows_the_sdks_log_lines(cli_env: StorageSettings) -> None:
    result = run_cli("--verbose", "download", "clothing/u1/c1/missing.jpg")
    assert result.returncode == 1
    logged, printed = result.stderr.splitlines()
    # A missing object is an ordinary answer: INFO, not ERROR.
    assert logged.startswith("INFO storage download failed key=clothing/u1/c1/missing.jpg ")
    assert printed.startswith("wearit-storage: error: ")


@pytest.mark.parametrize(
    ("argv", "command", "argument"),
    [
        (["upload", "clothing/../etc/passwd.jpg", "f.jpg"], "upload", "KEY"),
        (["download", "nowhere/x.jpg"], "download", "KEY"),
        (["presign", "avatars/u1/avatar.jpg", "--expires", "0"], "presign", "--expires"),
        (["presign", "avatars/u1/avatar.jpg", "--expires", "604801"], "presign", "--expires"),
        (["usage", "bad user"], "usage", "USER"),
        (["erase-user", "u1/../u2", "--yes"], "erase-user", "USER"),
        (["versions", "temp/x"], "versions", "KEY"),
    ],
)
def test_a_bad_argument_is_a_usage_error_naming_it(
    argv: list[str], command: str, argument: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)  # no environment needed: nothing is sent
    assert exited.value.code == 2
    usage, error = capsys.readouterr().err.strip().splitlines()
    assert usage.startswith(f"usage: wearit-storage {command} ")
    assert error.startswith(f"wearit-storage {command}: error: argument {argument}: ")


def test_missing_configuration_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in ("AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_BUCKET_NAME"):
        monkeypatch.delenv(variable, raising=False)
    assert main(["usage", "u1"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    # Every missing variable at once, not one per run.
    assert "AWS_REGION_NAME is not set" in err
    assert "AWS_BUCKET_NAME is not set" in err


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
    usage, error = capsys.readouterr().err.strip().splitlines()
    assert usage.startswith("usage: wearit-storage erase-user ")  # its own, not the top level
    assert error == (
        "wearit-storage erase-user: error: --yes is required when standard input is not a terminal"
    )
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


@pytest.mark.parametrize("command", ["download", "versions"])
def test_a_reader_that_leaves_early_ends_the_command_quietly(
    command: str, cli_env: StorageSettings, admin: Any
) -> None:
    key = "clothing/u1/c1/image.jpg"
    admin.put_object(Bucket=cli_env.bucket_name, Key=key, Body=b"x" * 100_000)
    result = run_cli(command, key, close_stdout=True)  # as `| head -c 20` does
    assert (result.returncode, result.stderr) == (0, "")


def test_versions_lists_newest_first_with_the_current_one_and_delete_markers(
    cli_env: StorageSettings, capsys: pytest.CaptureFixture[str], admin: Any
) -> None:
    key = "avatars/u1/avatar.jpg"
    bucket = cli_env.bucket_name
    first = admin.put_object(Bucket=bucket, Key=key, Body=b"first")["VersionId"]
    second = admin.put_object(Bucket=bucket, Key=key, Body=b"second!")["VersionId"]
    marker = admin.delete_object(Bucket=bucket, Key=key)["VersionId"]
    admin.put_object(Bucket=bucket, Key=key + ".bak", Body=b"not this key")
    assert main(["versions", key]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["version", "id", "last", "modified", "(UTC)", "bytes", "state"]
    assert [row.split()[0] for row in rows] == [marker, second, first]
    assert rows[0].split()[3:] == ["-", "current,", "delete", "marker"]
    assert rows[1].split()[3:] == ["7"]
    assert rows[2].split()[3:] == ["5"]


def test_versions_of_a_key_without_any_is_one_line(
    cli_env: StorageSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["versions", "avatars/u1/avatar.jpg"]) == 1
    assert capsys.readouterr().err == (
        f"wearit-storage: error: no versions of 'avatars/u1/avatar.jpg' in bucket "
        f"'{cli_env.bucket_name}'\n"
    )


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (subcommands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subcommands.choices)


def test_help_is_plain_text_naming_the_environment() -> None:
    parser = build_parser()
    texts = [parser.format_help()] + [c.format_help() for c in _commands(parser).values()]
    for text in texts:
        assert "``" not in text
    for variable in ("AWS_REGION_NAME", "AWS_BUCKET_NAME", "AWS_ENDPOINT_URL"):
        assert variable in texts[0]
    assert "versions" in texts[0]


def test_every_positional_argument_has_help() -> None:
    for name, command in _commands(build_parser()).items():
        for action in command._actions:
            if not action.option_strings:
                assert action.help, f"{name} {action.metavar or action.dest}"


def test_upload_renders_category_keys_and_keeps_temp_raw(
    cli_env: StorageSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str], jpeg: bytes
) -> None:
    text = tmp_path / "notes.txt"
    text.write_bytes(b"hello")
    # A text file is no image: refused, not stored as clothing/.../image.jpg.
    result = run_cli("upload", "clothing/u1/c1/image.jpg", str(text))
    assert result.returncode == 1
    assert "not an image" in result.stderr
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg)
    assert main(["upload", "clothing/u1/c1/image.jpg", str(photo)]) == 0
    assert "clothing/u1/c1/image.jpg + clothing/u1/c1/image_thumb.jpg" in capsys.readouterr().out
    assert main(["upload", "temp/sess-1/raw.jpg", str(photo)]) == 0
    assert "awaiting promotion" in capsys.readouterr().out
    back = tmp_path / "raw.jpg"
    assert main(["download", "temp/sess-1/raw.jpg", "-o", str(back)]) == 0
    assert back.read_bytes() == jpeg  # temp/ is stored as sent


def test_a_missing_input_file_is_a_bad_argument(
    cli_env: StorageSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.jpg"
    with pytest.raises(SystemExit) as exited:
        main(["upload", "clothing/u1/c1/image.jpg", str(missing)])
    assert exited.value.code == 2
    usage, error = capsys.readouterr().err.strip().splitlines()
    assert usage.startswith("usage: wearit-storage upload ")
    assert error == (
        f"wearit-storage upload: error: argument FILE: cannot read {str(missing)!r}: "
        "No such file or directory"
    )


def _answer_the_prompt(argv: list[str], answer: str) -> tuple[int, str]:
    """Run the command on a terminal (a pseudo-terminal), type ``answer`` at its prompt;
    return its exit status and everything it wrote there."""
    terminal, child = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "wearit_storage", *argv], stdin=child, stdout=child, stderr=child
    )
    os.close(child)
    screen = b""
    answered = False
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # EIO: the command closed the terminal (it exited)
            break
        if not chunk:
            break
        screen += chunk
        if not answered and screen.rstrip().endswith(b"to confirm:"):
            os.write(terminal, answer.encode() + b"\n")
            answered = True
    os.close(terminal)
    return process.wait(timeout=60), screen.decode()


def test_erase_user_counts_what_it_removes_and_a_mistyped_confirmation_aborts(
    cli_env: StorageSettings, admin: Any
) -> None:
    bucket = cli_env.bucket_name
    admin.put_object(Bucket=bucket, Key="clothing/u1/c1/image.jpg", Body=b"1")
    admin.put_object(Bucket=bucket, Key="clothing/u1/c1/image.jpg", Body=b"2")
    admin.put_object(Bucket=bucket, Key="exports/u1/20261201T000000Z-abc.zip", Body=b"zip")
    admin.create_multipart_upload(Bucket=bucket, Key="body/u1/b1/image.jpg")
    status, screen = _answer_the_prompt(["erase-user", "u1"], "u2")
    assert (
        "Erase user u1: 2 files (1 of them export archives), 3 versions and delete markers, "
        "1 unfinished uploads, in the primary and replica buckets"
    ) in " ".join(screen.split())
    assert "aborted: 'u2' is not 'u1'; nothing was deleted" in screen
    assert status == 3
    assert len(all_versions(admin, bucket)) == 3
    assert admin.list_multipart_uploads(Bucket=bucket).get("Uploads")

    status, screen = _answer_the_prompt(["erase-user", "u1"], "u1")
    assert "user u1 erased: nothing remains" in screen
    assert status == 0
    assert all_versions(admin, bucket) == []
    assert not admin.list_multipart_uploads(Bucket=bucket).get("Uploads")
