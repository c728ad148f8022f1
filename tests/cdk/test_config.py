"""Bad configuration fails synth with one line naming the key and the fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cdk.config import ConfigError, TrustedPrincipals, load_environments
from tests.cdk.helpers import cdn_with, environments_with
from tests.synth import REPO_ROOT, cdk_json_context


def load(context: dict[str, Any], selected: str | None = None) -> None:
    load_environments(context, selected)


@pytest.mark.parametrize(
    ("env", "overrides", "message"),
    [
        ("dev", {"bucket_name": None}, "'wearit:environments.dev.bucket_name' is missing"),
        ("prod", {"replica_region": "us-east-1"}, "equals the primary region 'us-east-1'"),
        ("prod", {"cors_origins": ["*"]}, "contains '*': production must list its exact https://"),
        (
            "prod",
            {"cors_origins": ["http://app.wearit.com"]},
            "contains 'http://app.wearit.com': production origins must use https://",
        ),
        ("dev", {"alarm_email": "oncall-at-wearit"}, "'oncall-at-wearit' is not an e-mail"),
        ("dev", {"bucket_name": "Wearit_Storage"}, "is not a valid bucket name"),
        ("dev", {"region": "mars-1"}, "must be an AWS region"),
        ("dev", {"cors_origins": ["https://app.wearit.com/"]}, "is not an origin"),
        ("dev", {"retention": {"temp_upload_days": 0}}, "retention.temp_upload_days"),
        ("dev", {"retention": {"export_days": 0}}, "retention.export_days' must be a whole"),
        ("prod", {"retention": {"export_days": 31}}, "keep it at most 30 days"),
        (
            "prod",
            {"retention": {"erasure_request_days": 21}},
            "must outlive every upload that can still land",
        ),
        ("dev", {"use_kms": "yes"}, "use_kms' must be true or false"),
        ("dev", {"buckt_name": "x"}, "'wearit:environments.dev.buckt_name' is not a known"),
        (
            "dev",
            {"trusted_principals": {"api": "*"}},
            "'wearit:environments.dev.trusted_principals.api' '*' must be an IAM role, user or "
            "account-root ARN",
        ),
        (
            "prod",
            {"trusted_principals": {"eraser": "arn:aws:iam::123456789012:group/ops"}},
            "'wearit:environments.prod.trusted_principals.eraser' "
            "'arn:aws:iam::123456789012:group/ops' must be an IAM role, user or account-root ARN",
        ),
        (
            "dev",
            {"trusted_principals": {"worker": "arn:aws:iam::123456789012:root"}},
            "'wearit:environments.dev.trusted_principals.worker' is not a role: the roles are "
            "api, tryon_worker, upload_worker, eraser",
        ),
        (
            "dev",
            {"trusted_principals": "arn:aws:iam::123456789012:root"},
            "'wearit:environments.dev.trusted_principals' must be an object: one ARN (or null) "
            "per role",
        ),
        (
            "dev",
            {"trusted_principals": {"eraser": "arn:aws:iam::123456789012:role/ops"}},
            "'wearit:environments.dev.trusted_principals.eraser' is set, but with workers "
            "'lambda' only Lambda assumes that role: remove it, or set workers to 'none'",
        ),
        (
            "dev",
            {"cdn": cdn_with("dev", private_key_secret_arn="wearit/cdn-key")},
            "'wearit:environments.dev.cdn.private_key_secret_arn' 'wearit/cdn-key' must be a "
            "Secrets Manager secret ARN",
        ),
        # The one principal for every role is gone: a cdk.json still naming it is refused.
        (
            "dev",
            {"trusted_principal_arn": "arn:aws:iam::123456789012:root"},
            "'wearit:environments.dev.trusted_principal_arn' is not a known setting",
        ),
    ],
)
def test_bad_configuration_is_rejected_with_the_key_and_the_fix(
    env: str, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load(environments_with(env, **overrides))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_each_role_reads_its_own_trusted_principal_and_an_absent_one_is_the_account() -> None:
    api = "arn:aws:iam::123456789012:role/wearit-api-task"
    eraser = "arn:aws:iam::210987654321:user/wearit-eraser"
    context = environments_with(
        "dev", workers="none", trusted_principals={"api": api, "eraser": eraser}
    )
    (dev,) = load_environments(context, "dev")
    assert dev.trusted_principals == TrustedPrincipals(api=api, eraser=eraser)
    assert (dev.trusted_principals.tryon_worker, dev.trusted_principals.upload_worker) == (
        None,
        None,
    )
    (default,) = load_environments(environments_with("dev", trusted_principals=None), "dev")
    assert default.trusted_principals == TrustedPrincipals()


def test_unknown_environment_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'staging'.*dev, prod"):
        load(cdk_json_context(), "staging")


def test_dev_may_use_http_localhost_origins() -> None:
    (dev,) = load_environments(cdk_json_context(), "dev")
    assert "http://localhost:3000" in dev.cors_origins


def test_defaults_apply_when_keys_are_absent() -> None:
    context = environments_with("dev", region=None, replica_region=None, retention=None)
    (dev,) = load_environments(context, "dev")
    assert (dev.region, dev.replica_region) == ("us-east-1", "us-west-2")
    assert dev.retention.noncurrent_version_days == 30
    assert dev.retention.export_days == 3


def test_account_defaults_to_cdk_default_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "123456789012")
    (dev,) = load_environments(cdk_json_context(), "dev")
    assert dev.account == "123456789012"


def test_app_exits_with_one_line_on_stderr_for_bad_config() -> None:
    context = {**environments_with("prod", cors_origins=["*"]), "env": "prod"}
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps(context)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "wearit-storage configuration error: cdk.json context "
        "'wearit:environments.prod.cors_origins' contains '*': production must list its exact "
        "https:// origins"
    ]


def test_every_stack_carries_its_environment_tags_in_the_manifest(
    cloud_assembly_dir: Path,
) -> None:
    # With @aws-cdk/core:explicitStackTags (recommended), Tags.of() no longer tags stacks;
    # the stacks' own props do. wearit_local finds an environment's stacks by these tags.
    manifest = json.loads((cloud_assembly_dir / "manifest.json").read_text())
    tags = {
        name: artifact["properties"].get("tags")
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert tags == {
        f"{stack}-{env}": {"Project": "wearit", "Environment": env}
        for stack in ("WearitStorage", "WearitStorageReplica")
        for env in ("dev", "prod")
    }
