"""Compliance gates: cdk-nag AwsSolutions (zero unacknowledged findings) and cfn-lint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk import aws_iam as iam

from cdk.application import build_app
from tests.synth import cdk_json_context

CFN_LINT = Path(sys.executable).with_name("cfn-lint")
#: Rules acknowledged for a whole resource: the image CDN's distribution only (no WAF, no
#: geo restriction, no standard logs; cdk/compliance.py says why).
WHOLE_RESOURCE_RULES = {"AwsSolutions-CFR1", "AwsSolutions-CFR2", "AwsSolutions-CFR3"}


def test_cdk_nag_passes_with_every_acknowledgement_specific(cloud_assembly_dir: Path) -> None:
    report = json.loads((cloud_assembly_dir / "validation-report.json").read_text())
    (nag,) = report["pluginReports"]
    assert nag["pluginName"] == "AwsSolutions"
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []
    suppressed = nag["suppressedViolations"]
    assert suppressed, "the roles do carry prefix wildcards, which must be acknowledged"
    for finding in suppressed:
        # One exact finding per acknowledgement, never a whole rule.
        assert finding["acknowledgedId"].endswith(f"{finding['ruleName']}")
        if finding["ruleName"] in WHOLE_RESOURCE_RULES:
            paths = {c["constructPath"] for c in finding["violatingConstructs"]}
            assert paths <= {
                f"WearitStorage-{env}/Delivery/Distribution" for env in ("dev", "prod")
            }
        else:
            assert "[Resource::" in finding["ruleName"]
        assert len(finding["reason"]) > 60


def test_cdk_nag_fails_synth_on_a_new_unacknowledged_finding(tmp_path: Path) -> None:
    app = App(context={**cdk_json_context(), "env": "dev"}, outdir=str(tmp_path))
    _replica, storage = build_app(app)
    role = iam.Role(storage, "CarelessRole", assumed_by=iam.AccountRootPrincipal())
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    with pytest.raises(
        RuntimeError, match=r"(?s)ValidationFailed.*AwsSolutions-IAM5\[Resource::\*\]"
    ):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for v in report["pluginReports"][0]["violations"]}
    assert "AwsSolutions-IAM5[Resource::*]" in rules


def test_cfn_lint_reports_no_error_and_no_warning(
    cloud_assembly_dir: Path, templates: dict[str, Any]
) -> None:
    paths = sorted(str(p) for p in cloud_assembly_dir.glob("*.template.json"))
    assert len(paths) == 4
    result = subprocess.run(
        [str(CFN_LINT), "--format", "parseable", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""
