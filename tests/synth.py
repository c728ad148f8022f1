"""Synthesizing the real CDK app in tests, from the real cdk.json context."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aws_cdk import App

from cdk import bundle
from cdk.application import build_app

REPO_ROOT = Path(__file__).resolve().parents[1]


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


def synthesize(outdir: Path) -> Path:
    """Synthesize every environment into ``outdir``, ignoring the machine's account (or
    snapshots and account-dependent ARNs would differ per developer). The workers' bundle
    is built first if the sources changed since it was (``cdk synth`` itself refuses a stale
    one: tests rebuild it, so that editing the SDK and running pytest just works)."""
    bundle.build("arm64")
    saved = os.environ.pop("CDK_DEFAULT_ACCOUNT", None)
    try:
        app = App(context=cdk_json_context(), outdir=str(outdir))
        build_app(app)
        app.synth()
    finally:
        if saved is not None:
            os.environ["CDK_DEFAULT_ACCOUNT"] = saved
    return outdir
