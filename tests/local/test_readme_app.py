"""The README's FastAPI app, exactly as the README prints it, against the local environment.

The code blocks are read from README.md (the fenced block after each
``<!-- tested by tests/local/test_readme_app.py: NAME -->`` comment), so the README cannot
drift from what runs here: the app in-process through FastAPI's TestClient, then under
uvicorn with the README's command, driven by the README's ``curl`` lines and its
``fetch``/``FormData`` function (in the virtualenv's Node.js). Each upload goes presign ->
POST to S3 with the fields as returned -> one upload worker -> status ``done``.
"""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.sdk.helpers import make_jpeg
from tests.sdk.post_policy import policy_violations
from tests.synth import REPO_ROOT
from wearit_local import ProvisionedEnvironment
from wearit_local.http_upload import post_form
from wearit_storage import StorageSettings, SyncStorageRepository
from wearit_storage.workers import UploadWorker, WorkQueue

README = REPO_ROOT / "README.md"
_BLOCK = re.compile(
    r"<!-- tested by tests/local/test_readme_app\.py: (?P<name>\w+) -->\n"
    r"```(?P<language>\w+)\n(?P<code>.*?)\n```",
    re.DOTALL,
)


def readme_blocks() -> dict[str, str]:
    """The README's tested code blocks by name."""
    return {match["name"]: match["code"] for match in _BLOCK.finditer(README.read_text())}


def readme_app() -> FastAPI:
    """The README's app, built as ``uvicorn main:app`` builds it (settings from the
    environment at start-up)."""
    namespace: dict[str, Any] = {"__name__": "main"}
    exec(compile(readme_blocks()["app"], str(README), "exec"), namespace)  # noqa: S102
    app = namespace["app"]
    assert isinstance(app, FastAPI)
    return app


@pytest.fixture
def local_env(dev: ProvisionedEnvironment, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment `make local-up` prints, as the README tells a developer to export."""
    variables = dev.environment_variables()
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    return variables


@pytest.fixture
def run_worker(local_env: dict[str, str]) -> Iterator[Callable[[Callable[[], bool]], None]]:
    """One upload worker on the local queue: ``run_worker(done)`` runs passes of one
    receive each until ``done()`` (earlier tests' messages may come first)."""
    settings = StorageSettings.from_env(local_env)
    with SyncStorageRepository.from_settings(settings) as repository:
        queue = WorkQueue.uploads(settings)
        worker = UploadWorker(repository, queue, wait_s=1, worker_id="readme-test")

        def run(done: Callable[[], bool]) -> None:
            for _ in range(8):
                worker.run(once=True)
                if done():
                    return
            raise AssertionError(f"no upload was done after 8 passes: {worker.stats}")

        try:
            yield run
        finally:
            queue.close()


def test_the_readme_blocks_are_found() -> None:
    assert sorted(readme_blocks()) == ["app", "curl", "fetch"]


def test_the_readme_app_serves_both_upload_paths_and_the_erasure(
    dev: ProvisionedEnvironment,
    local_env: dict[str, str],
    run_worker: Callable[[Callable[[], bool]], None],
) -> None:
    photo = make_jpeg((1600, 1200), "teal")
    with TestClient(readme_app()) as api:
        synchronous = api.put("/users/readme-u1/clothing/c1", content=photo)
        assert synchronous.status_code == 200
        assert "/clothing/readme-u1/c1/photo.jpg?" in synchronous.json()["url"]

        presigned = api.post("/users/readme-u1/clothing/c2/uploads")
        assert presigned.status_code == 200
        post = presigned.json()
        session = post["session_id"]
        assert post["fields"]["key"] == f"temp/{session}/photo.jpg"  # minted by the API
        status_url = f"/users/readme-u1/uploads/{session}"
        assert api.get(status_url).json()["state"] == "pending"

        # The fields exactly as returned, plus the file: what the README's clients send, and
        # what S3 accepts (checked on the policy: moto checks none of it).
        assert policy_violations(post["fields"], bucket=dev.data_bucket, file_size=len(photo)) == []
        assert post_form(post["url"], post["fields"], photo, "image/jpeg") == 204
        run_worker(lambda: api.get(status_url).json()["state"] == "done")
        done = api.get(status_url).json()
        assert done["reason"] is None
        assert "/clothing/readme-u1/c2/image.jpg?" in done["url"]
        assert httpx2.get(done["url"]).content[:2] == b"\xff\xd8"

        # The session belongs to the user the API minted it for: others see no such upload.
        other = api.get(f"/users/readme-u2/uploads/{session}")
        assert (other.status_code, other.headers["content-type"]) == (
            404,
            "application/problem+json",
        )
        assert api.get("/users/readme-u1/uploads/never-minted").status_code == 404

        assert api.delete("/users/readme-u1").json() == {"erased": True}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def readme_api_command(port: int) -> list[str]:
    """The README's command that starts the API, on ``port`` instead of 8000."""
    (line,) = [line for line in README.read_text().splitlines() if line.startswith("uvicorn ")]
    command = shlex.split(line.split("#", 1)[0])
    assert command[:2] == ["uvicorn", "main:app"]
    command[command.index("--port") + 1] = str(port)
    return [str(Path(sys.executable).parent / "uvicorn"), *command[1:]]


@pytest.fixture
def served_app(local_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """The app block saved as main.py and served by the README's uvicorn command."""
    (tmp_path / "main.py").write_text(readme_blocks()["app"] + "\n")
    port = _free_port()
    server = subprocess.Popen(
        readme_api_command(port),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while server.poll() is None and time.monotonic() < deadline:
            try:
                if httpx2.get(f"{base}/openapi.json").status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.2)
        else:
            server.terminate()
            raise AssertionError(f"uvicorn did not start: {server.communicate(timeout=10)[1]}")
        yield base
    finally:
        server.terminate()
        server.communicate(timeout=30)


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("jq") is None, reason="needs curl and jq"
)
def test_the_readme_clients_upload_through_the_app_under_uvicorn(
    served_app: str, tmp_path: Path, run_worker: Callable[[Callable[[], bool]], None]
) -> None:
    (tmp_path / "photo.jpg").write_bytes(make_jpeg((1200, 900), "olive"))
    blocks = readme_blocks()

    # curl: the README's lines against this server's port. The last one polls the status
    # (pending: no worker has run yet); one more line prints the session id for the test.
    curl = blocks["curl"].replace("http://127.0.0.1:8000", served_app)
    script = curl + '\necho\njq -r .session_id <<<"$post"\n'  # (the poll ends no line)
    bash = shutil.which("bash") or "/bin/bash"
    uploaded = subprocess.run(
        [bash, "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert uploaded.returncode == 0, uploaded.stderr
    *printed, curl_session = uploaded.stdout.splitlines()
    assert printed == ['{"state":"pending","url":null,"reason":null}']

    # fetch + FormData: the README's function, called from Node.js with a Blob.
    caller = (
        blocks["fetch"]
        + "\nconst { readFileSync } = require('node:fs');\n"
        + f"uploadPhoto({served_app!r}, 'readme-u3', 'c4', "
        + "new Blob([readFileSync('photo.jpg')], { type: 'image/jpeg' }))"
        + ".then((id) => console.log(id), (e) => { console.error(e); process.exit(1); });\n"
    )
    node = shutil.which("node", path=str(Path(sys.executable).parent)) or "node"
    fetched = subprocess.run(
        [node, "-e", caller], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert fetched.returncode == 0, fetched.stderr
    fetch_session = fetched.stdout.strip()

    def status(user: str, session: str) -> Any:
        return httpx2.get(f"{served_app}/users/{user}/uploads/{session}").json()

    run_worker(
        lambda: (
            status("u1", curl_session)["state"]
            == status("readme-u3", fetch_session)["state"]
            == "done"
        )
    )
    assert "/clothing/u1/c1/image.jpg?" in status("u1", curl_session)["url"]
    assert "/clothing/readme-u3/c4/image.jpg?" in status("readme-u3", fetch_session)["url"]
    assert httpx2.delete(f"{served_app}/users/u1").json() == {"erased": True}
    assert httpx2.delete(f"{served_app}/users/readme-u3").json() == {"erased": True}
