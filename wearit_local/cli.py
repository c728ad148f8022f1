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
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from wearit_local.demo import DemoFailure, DemoReport, run_flow
from wearit_local.errors import LocalEnvironmentError, LocalSetupError, TemplateError
from wearit_local.provision import ProvisionedEnvironment, provision_environment
from wearit_local.server import MotoServerProcess, running_moto_server
from wearit_storage import StorageError

PROGRAM = "python -m wearit_local"
DEFAULT_CDK_OUT = Path("cdk.out")

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
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
            f"no synthesized templates for '{env}' in {cdk_out}: run `make synth` first"
        )
    try:
        return provision_environment(cdk_out, env, s3_endpoint=endpoint)
    except TemplateError as error:
        raise LocalSetupError(f"cannot provision from {cdk_out}: {error}") from error


def describe(environment: ProvisionedEnvironment) -> list[str]:
    lines = [f"buckets: {', '.join(f'{b.name} ({b.region})' for b in environment.buckets)}"]
    lines.append(f"roles:   {', '.join(role.name for role in environment.roles)}")
    lines.append(f"queues:  {', '.join(queue.name for queue in environment.queues)}")
    for skipped in environment.skipped:
        lines.append(f"not held by moto: {skipped.bucket} {skipped.property} ({skipped.reason})")
    return lines


def cmd_up(args: argparse.Namespace) -> int:
    server = MotoServerProcess(port=args.port)
    endpoint = server.start()
    try:
        environment = provision(args.cdk_out, args.env, endpoint)
        print(f"# WearIT storage ({args.env}) on {endpoint}, provisioned from {args.cdk_out}")
        for line in describe(environment):
            print(f"# {line}")
        print("# point an application or the wearit-storage CLI at it:")
        for name, value in environment.environment_variables().items():
            print(f"export {name}={shlex.quote(value)}")
        print("# Ctrl-C stops the server (its state is in memory only)", flush=True)
        server.wait()
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
    finally:
        server.stop()
    return 0


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
