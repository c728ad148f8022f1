"""``python -m wearit_local``: ``up`` keeps a provisioned local S3 running, ``demo`` runs the
whole WearIT storage flow against a fresh one. Both read the synthesized templates in
``cdk.out`` (``make synth``), relative to the working directory by default.

Errors of the local environment (and of the SDK during the demo) print one line and exit
1; bad arguments print a usage error and exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from wearit_local.demo import DemoFailure, DemoReport, run_flow
from wearit_local.errors import (
    LocalEnvironmentError,
    LocalSetupError,
    MotoServerError,
    TemplateError,
)
from wearit_local.provision import ProvisionedEnvironment, provision_environment
from wearit_local.server import MotoServerProcess, running_moto_server
from wearit_local.template import synth_hint
from wearit_storage import StorageError
from wearit_storage.imaging.budget import ALLOCATOR_ENVIRONMENT

PROGRAM = "python -m wearit_local"
DESCRIPTION = (
    "The WearIT storage layer on one machine: a local S3 (moto) provisioned from the "
    "synthesized templates in cdk.out (make synth writes them)."
)
DEFAULT_CDK_OUT = Path("cdk.out")

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = commands.add_parser(
        "up", help="start moto, provision it from cdk.out, print the exports, keep running"
    )
    _environment_options(up)
    up.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    up.set_defaults(handler=cmd_up)

    demo = commands.add_parser(
        "demo", help="run the whole WearIT storage flow against a fresh local environment"
    )
    _environment_options(demo)
    demo.set_defaults(handler=cmd_demo)
    return parser


def _environment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cdk-out", type=Path, default=DEFAULT_CDK_OUT, help="synthesized templates (cdk.out)"
    )
    parser.add_argument("--env", default="dev", help="environment to provision (default: dev)")


def provision(cdk_out: Path, env: str, endpoint: str) -> ProvisionedEnvironment:
    if not (cdk_out / f"WearitStorage-{env}.template.json").is_file():
        raise LocalSetupError(
            f"no synthesized templates for '{env}' in {cdk_out}: {synth_hint(cdk_out)}"
        )
    try:
        return provision_environment(cdk_out, env, s3_endpoint=endpoint)
    except TemplateError as error:
        raise LocalSetupError(f"cannot provision from {cdk_out}: {error}") from error


#: What moto stores (or not) but never enforces: one line at start-up, the README's table
#: ("What the local environment is not") has the details and where each is verified.
NOT_ENFORCED = (
    "not enforced here: presigned URL expiry and POST policy conditions (other key, type or "
    "size accepted), CORS on simple requests (any Origin is echoed; only preflights follow "
    "the rules), bucket policies, Block Public Access, lifecycle and replication (never run)"
)


def describe(environment: ProvisionedEnvironment) -> list[str]:
    lines = [f"buckets: {', '.join(f'{b.name} ({b.region})' for b in environment.buckets)}"]
    lines.append(f"roles:   {', '.join(role.name for role in environment.roles)}")
    lines.append(f"queues:  {', '.join(queue.name for queue in environment.queues)}")
    skipped: dict[str, list[str]] = {}
    for entry in environment.skipped:
        skipped.setdefault(entry.property, []).append(entry.bucket)
    if skipped:
        held = "; ".join(f"{prop} ({len(buckets)} buckets)" for prop, buckets in skipped.items())
        lines.append(f"not held by moto: {held}")
    lines.append(NOT_ENFORCED)
    return lines


#: How supervisors, ``timeout``, container runtimes and a closed terminal stop a process.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class StopRequested(BaseException):
    """A stop signal arrived: ``up`` shuts its server down as it does on Ctrl-C.

    A ``BaseException``, like ``KeyboardInterrupt``: code that handles errors with
    ``except Exception`` (retries, error translation) must not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


@contextmanager
def stop_on_signals(signums: Sequence[signal.Signals] = STOP_SIGNALS) -> Iterator[None]:
    """Turn the stop signals into :class:`StopRequested` while the block runs.

    Their default action kills this process at once, without the ``finally`` that stops
    the moto child (which runs in its own session, so nothing else stops it: it would be
    re-parented to PID 1 and keep its port).
    """

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        # A second signal must not interrupt the clean-up the first one started.
        for ignored in signums:
            signal.signal(ignored, signal.SIG_IGN)
        raise StopRequested(signum)

    previous = {signum: signal.signal(signum, request_stop) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def cmd_up(args: argparse.Namespace) -> int:
    server = MotoServerProcess(port=args.port)
    with stop_on_signals():
        try:
            return serve(server, args)
        except KeyboardInterrupt:
            print("\nstopped", file=sys.stderr)
        except StopRequested as stop:
            print(f"stopped ({stop})", file=sys.stderr)
        finally:
            server.stop()
    return 0


def serve(server: MotoServerProcess, args: argparse.Namespace) -> int:
    """Start and provision the server, print the exports, run until the server exits."""
    endpoint = server.start()
    environment = provision(args.cdk_out, args.env, endpoint)
    print(f"# WearIT storage ({args.env}) on {endpoint}, provisioned from {args.cdk_out}")
    for line in describe(environment):
        print(f"# {line}")
    print("# point an application or the wearit-storage CLI at it:")
    for name, value in environment.environment_variables().items():
        print(f"export {name}={shlex.quote(value)}")
    print("# and beside the application, the workers (deployed: the stack's Lambda functions):")
    allocator = " ".join(f"{k}={v}" for k, v in ALLOCATOR_ENVIRONMENT.items())
    print(
        f"#   {allocator} wearit-storage worker"
        "   # renders direct uploads (WEARIT_UPLOAD_QUEUE_URL)"
    )
    print("#   wearit-storage eraser   # carries out erasure requests (WEARIT_ERASURE_QUEUE_URL)")
    print("# Ctrl-C (or SIGTERM) stops the server (its state is in memory only)", flush=True)
    code = server.wait()
    raise MotoServerError(f"the moto server on {endpoint} exited on its own (status {code})")


def cmd_demo(args: argparse.Namespace) -> int:
    out = sys.stdout
    started = time.perf_counter()
    out.write("WearIT storage demo: the real SDK against an embedded S3 built from cdk.out\n")
    with running_moto_server() as endpoint:
        environment = provision(args.cdk_out, args.env, endpoint)
        out.write(f"  local S3 on {endpoint}, '{args.env}' provisioned from {args.cdk_out}\n")
        for line in describe(environment):
            out.write(f"       {line}\n")
        report = DemoReport(out)
        try:
            asyncio.run(run_flow(environment, report))
        except DemoFailure as failure:
            out.write(f"demo FAILED: {failure}\n")
            return 1
    out.write(f"demo passed: {len(report.steps)} steps in {time.perf_counter() - started:.1f} s\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    try:
        return handler(args)
    except (LocalEnvironmentError, StorageError, OSError) as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return 130
