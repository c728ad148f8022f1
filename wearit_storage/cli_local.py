"""The CLI's local commands: ``local up`` and ``demo`` (they need the ``[local]`` extra)."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wearit_storage.settings import StorageSettings

if TYPE_CHECKING:
    from wearit_storage.local.provision import ProvisionedEnvironment

DEFAULT_CDK_OUT = Path("cdk.out")


class LocalSetupError(Exception):
    """The local environment cannot be built (e.g. no synthesized templates)."""


def add_local_commands(commands: Any) -> None:
    local = commands.add_parser("local", help="the embedded local S3 environment")
    local_commands = local.add_subparsers(dest="local_command", required=True, metavar="ACTION")
    up = local_commands.add_parser(
        "up", help="start moto, provision it from cdk.out, print the exports, keep running"
    )
    _environment_options(up)
    up.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    up.set_defaults(handler=cmd_local_up)

    demo = commands.add_parser(
        "demo", help="run the whole WearIT storage flow against a fresh local environment"
    )
    _environment_options(demo)
    demo.set_defaults(handler=cmd_demo)


def _environment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cdk-out", type=Path, default=DEFAULT_CDK_OUT, help="synthesized templates (cdk.out)"
    )
    parser.add_argument("--env", default="dev", help="environment to provision (default: dev)")


def provision(cdk_out: Path, env: str, endpoint: str) -> ProvisionedEnvironment:
    from wearit_storage.local.provision import provision_environment
    from wearit_storage.local.template import TemplateError

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
    for skipped in environment.skipped:
        lines.append(f"not held by moto: {skipped.bucket} {skipped.property} ({skipped.reason})")
    return lines


def cmd_local_up(args: argparse.Namespace) -> int:
    from wearit_storage.local.server import MotoServerProcess

    server = MotoServerProcess(port=args.port)
    endpoint = server.start()
    try:
        environment = provision(args.cdk_out, args.env, endpoint)
        print(f"# WearIT storage ({args.env}) on {endpoint}, provisioned from {args.cdk_out}")
        for line in describe(environment):
            print(f"# {line}")
        print("# point an application or this CLI at it:")
        for name, value in environment.environment_variables().items():
            print(f"export {name}={shlex.quote(value)}")
        print("# Ctrl-C stops the server (its state is in memory only)", flush=True)
        server.wait()
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
    except LocalSetupError as error:
        print(f"wearit-storage: error: {error}", file=sys.stderr)
        return 1
    finally:
        server.stop()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    # moto (the [local] extra) is only needed by these two commands.
    from wearit_storage.local.demo import DemoFailure, DemoReport, run_flow
    from wearit_storage.local.server import running_moto_server

    out = sys.stdout
    started = time.perf_counter()
    out.write("WearIT storage demo: the real SDK against an embedded S3 built from cdk.out\n")
    with running_moto_server() as endpoint:
        try:
            environment = provision(args.cdk_out, args.env, endpoint)
        except LocalSetupError as error:
            print(f"wearit-storage: error: {error}", file=sys.stderr)
            return 1
        out.write(f"  local S3 on {endpoint}, '{args.env}' provisioned from {args.cdk_out}\n")
        for line in describe(environment):
            out.write(f"       {line}\n")
        settings = StorageSettings.from_env(environment.environment_variables())
        report = DemoReport(out)
        try:
            asyncio.run(run_flow(settings, report))
        except DemoFailure as failure:
            out.write(f"demo FAILED: {failure}\n")
            return 1
    out.write(f"demo passed: {len(report.steps)} steps in {time.perf_counter() - started:.1f} s\n")
    return 0
