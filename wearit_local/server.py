"""Run a moto server on 127.0.0.1 on a free port, in this process or as a child process.

* :func:`running_moto_server` — a context manager around moto's ``ThreadedMotoServer`` in
  a daemon thread. Fast to start; for tests and ``demo`` runs that end with the process.
  It shares moto's process-global state (backends, IAM enforcement settings) with any
  in-process ``mock_aws`` in the same interpreter.
* :class:`MotoServerProcess` — ``python -m moto.server`` as a child process. Use it for
  ``python -m wearit_local up`` (the server runs in the foreground until stopped; see
  :meth:`wait`) and whenever process-global settings must not leak, e.g. IAM enforcement.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from types import ModuleType, TracebackType

from wearit_local.errors import LocalSetupError, MotoServerError

LOCALHOST = "127.0.0.1"
# The child imports wearit_local from this checkout (it is not part of the installed wheel).
_CHECKOUT = Path(__file__).resolve().parents[1]
# Answered by every moto server without credentials; a 200 means it serves requests.
_HEALTH_PATH = "/moto-api/data.json"
_RESET_AUTH_PATH = "/moto-api/reset-auth"


def moto_server_module() -> ModuleType:
    """``moto.server``, or a :class:`LocalSetupError` saying what to install.

    moto (with the Flask app it serves) is a development requirement, not the SDK's: a
    checkout installed with only ``pip install -e .`` lacks it, hence the import at run
    time rather than at the top of this module.
    """
    try:
        import moto.server
    except ModuleNotFoundError as missing:
        module = (missing.name or "moto").partition(".")[0]
        raise LocalSetupError(
            f"the local environment needs the development requirements (no module named "
            f"{module!r}): in the checkout, run `make bootstrap` and use `.venv/bin/python -m "
            f"wearit_local`, or `{sys.executable} -m pip install -c requirements.lock "
            "-r requirements-dev.txt`"
        ) from None
    return moto.server


def free_port(host: str = LOCALHOST) -> int:
    """A port nothing listens on right now (another process may still take it first)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_moto_server(host: str = LOCALHOST, *, quiet: bool = True) -> Iterator[str]:
    """Start an in-process moto server on a free port; yield its endpoint URL.

    ``quiet`` silences werkzeug's one-line-per-request access log (it logs to stderr through
    the process-wide ``werkzeug`` logger, which is why this touches global logging).
    """
    if quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_server_module()  # a LocalSetupError naming what to install, before the patch imports moto
    from wearit_local import moto_patches

    moto_patches.apply()
    server = moto_server_module().ThreadedMotoServer(ip_address=host, port=0, verbose=False)
    server.start()
    try:
        bound_host, port = server.get_host_and_port()
        yield f"http://{bound_host}:{port}"
    finally:
        server.stop()


def wait_until_ready(
    endpoint_url: str, *, timeout_s: float = 20.0, alive: Callable[[], bool] | None = None
) -> None:
    """Return once the server answers; ``alive`` lets a dead child process fail fast."""
    deadline = time.monotonic() + timeout_s
    while True:
        if alive is not None and not alive():
            raise MotoServerError(
                f"moto server for {endpoint_url} exited before answering (is the port in use?)"
            )
        try:
            with urllib.request.urlopen(endpoint_url + _HEALTH_PATH, timeout=1.0):  # noqa: S310 (local http URL we built)
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise MotoServerError(
                    f"moto server at {endpoint_url} did not answer within {timeout_s:.0f} s"
                ) from exc
            time.sleep(0.05)


def enforce_iam(endpoint_url: str, *, after_unauthenticated_calls: int = 0) -> None:
    """Make the server check IAM permissions on every request from now on.

    This sets the server's ``INITIAL_NO_AUTH_ACTION_COUNT`` (the number of requests moto
    serves before it starts enforcing) through moto's ``/moto-api/reset-auth`` endpoint,
    which also resets the request counter: set-up calls made before this switch are free,
    whatever their number.
    """
    request = urllib.request.Request(  # noqa: S310 (local http URL we built)
        endpoint_url + _RESET_AUTH_PATH,
        data=str(after_unauthenticated_calls).encode(),
        method="POST",
        # Not a form: moto reads the raw body, which werkzeug consumes for form posts.
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=5.0) as response:  # noqa: S310
        if response.status != 200:
            raise MotoServerError(f"moto at {endpoint_url} refused to enable IAM enforcement")


class MotoServerProcess:
    """``python -m moto.server`` on ``host:port`` as a child process; a context manager."""

    def __init__(
        self,
        *,
        host: str = LOCALHOST,
        port: int | None = None,
        environment: Mapping[str, str] | None = None,
        log_file: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self._environment = environment
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, *, timeout_s: float = 20.0) -> str:
        """Start the server, wait until it answers, and return its endpoint URL."""
        moto_server_module()  # or the child exits at once and looks like a port in use
        env = {**os.environ, **(self._environment or {})}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_CHECKOUT), env.get("PYTHONPATH")]))
        # moto.server's command line, after wearit_local.moto_patches.apply()
        argv = [sys.executable, "-m", "wearit_local.moto_child"]
        argv += ["-H", self.host, "-p", str(self.port)]
        with ExitStack() as stack:
            log = (
                stack.enter_context(self._log_file.open("ab"))
                if self._log_file
                else subprocess.DEVNULL
            )
            self._process = subprocess.Popen(  # noqa: S603 (fixed argv, our interpreter)
                argv,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: Ctrl-C in a terminal reaches the CLI, which then
                # stops the server cleanly instead of both racing to exit.
                start_new_session=True,
            )
        process = self._process
        try:
            wait_until_ready(
                self.endpoint_url, timeout_s=timeout_s, alive=lambda: process.poll() is None
            )
        except MotoServerError:
            self.stop()
            raise
        return self.endpoint_url

    def stop(self, *, timeout_s: float = 5.0) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def wait(self) -> int:
        """Block until the server exits (``up`` keeps it in the foreground)."""
        if self._process is None:
            raise RuntimeError("the server was never started")
        return self._process.wait()

    def __enter__(self) -> MotoServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
