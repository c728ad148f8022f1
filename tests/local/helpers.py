"""Helpers of the local-environment tests: the templates and settings read without
``wearit_local``, so that the tests derive their expectations independently of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cdk.config import ENVIRONMENTS_CONTEXT_KEY, EnvironmentConfig, load_environments
from tests.synth import cdk_json_context


def raw_template(cdk_out: Path, stack: str) -> dict[str, Any]:
    """The template as JSON, read without wearit_local (tests derive from it)."""
    template: dict[str, Any] = json.loads((cdk_out / f"{stack}.template.json").read_text())
    return template


def manifest_region(cdk_out: Path, stack: str) -> str:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    environment: str = manifest["artifacts"][stack]["environment"]
    return environment.rsplit("/", 1)[1]


def config_of(env: str) -> EnvironmentConfig:
    """``env``'s settings as cdk.json declares them."""
    return load_environments(
        {ENVIRONMENTS_CONTEXT_KEY: cdk_json_context()[ENVIRONMENTS_CONTEXT_KEY]}, env
    )[0]


def error_code(call: Any, **kwargs: Any) -> str:
    """The error code ``call(**kwargs)`` fails with (it must fail)."""
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return str(raised.value.response["Error"]["Code"])
