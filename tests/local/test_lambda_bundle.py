"""The workers' Lambda bundle runs where Lambda runs it: a clean CPython 3.13 with nothing
but the bundle on ``sys.path``.

There is no Graviton here, so the x86_64 bundle is built by the same code path as the
arm64 one (``cdk.bundle.build``) and run for real: a Python 3.13 started isolated (``-I``,
no site-packages, no user site, no PYTHON* variables) imports the handler from the bundle
and promotes an upload the local queue announced. The arm64 bundle that deploys is checked
by what it contains: every wheel's platform tag, every native library's ELF machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from cdk import bundle
from tests.sdk.helpers import PRIMARY_REGION, make_jpeg, notify_queue, raw_client, upload_queue
from wearit_local.clients import emulator_client
from wearit_local.http_upload import post_presigned
from wearit_local.lambda_events import receive_all, sqs_event
from wearit_local.server import running_moto_server
from wearit_storage import StorageSettings, SyncStorageRepository
from wearit_storage.uploads.destination import UploadDestination

#: ELF ``e_machine`` values (bytes 18-19, little-endian).
AARCH64, X86_64 = 0xB7, 0x3E

RUN_HANDLER = """
import json, sys
bundle, event = sys.argv[1], json.loads(sys.stdin.read())
sys.path.insert(0, bundle)
import wearit_storage.workers.lambda_handler as module

class Context:
    def get_remaining_time_in_millis(self):
        return 60_000

response = module.upload_handler(event, Context())
print(json.dumps({
    "response": response,
    "python": sys.version_info[:2],
    "sdk": module.__file__,
    "outside": sorted(
        name for name, m in sys.modules.items()
        if getattr(m, "__file__", None) and "site-packages" in m.__file__
    ),
}))
"""


def python_3_13() -> str:
    """A CPython 3.13 interpreter: on PATH, or pyenv's."""
    found = shutil.which("python3.13")
    candidates = [found] if found else []
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))
    for candidate in candidates:
        result = subprocess.run(
            [candidate, "-I", "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0 and result.stdout.strip() == "(3, 13)":
            return candidate
    raise AssertionError(
        "no CPython 3.13 here (python3.13 on PATH or ~/.pyenv/versions/3.13*): the bundle "
        "test runs the handler under Lambda's Python; install it with pyenv"
    )


def elf_machine(path: Path) -> int:
    with path.open("rb") as library:
        header = library.read(20)
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[18:20], "little")


def test_the_arm64_bundle_holds_only_cpython_3_13_aarch64_or_pure_wheels() -> None:
    built = bundle.build("arm64")
    tags = []
    for wheel in built.directory.glob("*.dist-info/WHEEL"):
        tags += [
            line.split(":", 1)[1].strip()
            for line in wheel.read_text().splitlines()
            if line.startswith("Tag:")
        ]
    assert tags
    for tag in tags:
        python, abi, platform = tag.split("-")
        pure = (abi, platform) == ("none", "any")
        for_313 = (python, abi) == ("cp313", "cp313") or abi == "abi3"  # abi3: 3.x and later
        assert pure or (for_313 and platform.endswith("_aarch64")), tag
    libraries = [p for p in built.directory.rglob("*.so*") if p.is_file()]
    assert libraries  # Pillow, pillow-heif and their libraries
    assert {elf_machine(p) for p in libraries} == {AARCH64}
    assert bundle.size_bytes(built.directory) < 250 * 10**6  # Lambda's limit, unzipped


@pytest.fixture(scope="module")
def moto_endpoint() -> Any:
    with running_moto_server() as endpoint:
        yield endpoint


def test_a_clean_python_3_13_imports_the_handler_from_the_x86_64_bundle_and_runs_it(
    moto_endpoint: str,
) -> None:
    built = bundle.build("x86_64")
    assert {elf_machine(p) for p in built.directory.rglob("*.so*") if p.is_file()} == {X86_64}
    bucket = f"wearit-bundle-{uuid.uuid4().hex[:12]}"
    s3 = raw_client(moto_endpoint, PRIMARY_REGION)
    s3.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": PRIMARY_REGION}
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    queue_url, _ = upload_queue(moto_endpoint, f"bundle-{uuid.uuid4().hex[:12]}")
    notify_queue(moto_endpoint, bucket, queue_url)
    sqs = emulator_client("sqs", moto_endpoint, region=PRIMARY_REGION)
    receive_all(sqs, queue_url, 1)  # S3's s3:TestEvent
    environment = {
        "AWS_REGION": PRIMARY_REGION,
        "AWS_BUCKET_NAME": bucket,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "WEARIT_UPLOAD_QUEUE_URL": queue_url,
    }
    settings = StorageSettings.from_env(environment)
    with SyncStorageRepository.from_settings(settings) as repo:
        destination = UploadDestination("avatars", "user-b")
        post = repo.presign_upload("sess-bundle", "photo.jpg", destination=destination)
        assert post_presigned(post, make_jpeg(), "image/jpeg") in (200, 201, 204)
        event = sqs_event(sqs, queue_url, receive_all(sqs, queue_url, 1))
        result = subprocess.run(
            [python_3_13(), "-I", "-c", RUN_HANDLER, str(built.directory)],
            input=json.dumps(event),
            env={"PATH": os.environ.get("PATH", ""), **environment},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report["response"] == {"batchItemFailures": []}
        assert report["python"] == [3, 13]
        assert report["sdk"].startswith(str(built.directory))
        assert report["outside"] == []  # nothing came from a site-packages
        assert repo.upload_status("sess-bundle").state == "done"
