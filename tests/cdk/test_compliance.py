"""Compliance gates: cdk-nag AwsSolutions (zero unacknowledged findings) and cfn-lint."""

from __future__ import annotations

import json
import re
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


#: The construct path of each role in its stack, by the role name's suffix.
ROLE_PATHS = {
    "replication": "Replication/Role",
    "api": "ApiRole/Role",
    "tryon-worker": "TryOnWorkerRole/Role",
    "upload-worker": "UploadWorkerRole/Role",
    "eraser": "EraserRole/Role",
}
#: The worker functions, the only constructs with a rule acknowledged without detail.
WORKER_FUNCTIONS = ("UploadWorker/Function", "Eraser/Function")


def as_nag_prints(resource: Any) -> str:
    """A policy resource as cdk-nag names it in a finding: a reference as ``<Name>``."""
    if isinstance(resource, str):
        return resource
    if "Ref" in resource:
        return f"<{resource['Ref']}>"
    if "Fn::Join" in resource:
        separator, parts = resource["Fn::Join"]
        return str(separator).join(as_nag_prints(part) for part in parts)
    return json.dumps(resource)


def wildcard_resources_by_role(templates: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (construct path, resource) of a role's policies that holds a wildcard."""
    found = set()
    for stack, template in templates.items():
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::IAM::Role":
                continue
            suffix = resource["Properties"]["RoleName"].split(f"-{stack.split('-')[-1]}-", 1)[1]
            path = f"{stack}/{ROLE_PATHS[suffix]}/Resource"
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    resources = statement["Resource"]
                    for arn in resources if isinstance(resources, list) else [resources]:
                        printed = as_nag_prints(arn)
                        if "*" in printed:
                            found.add((path, printed))
    return found


def test_cdk_nag_passes_with_every_acknowledgement_specific(
    cloud_assembly_dir: Path, templates: dict[str, Any]
) -> None:
    report = json.loads((cloud_assembly_dir / "validation-report.json").read_text())
    (nag,) = report["pluginReports"]
    assert nag["pluginName"] == "AwsSolutions"
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []
    suppressed = nag["suppressedViolations"]
    assert suppressed, "the roles do carry prefix wildcards, which must be acknowledged"
    acknowledged_wildcards = set()
    acknowledged_functions = []
    for finding in suppressed:
        # One exact finding per acknowledgement, never a whole rule, on one construct.
        assert finding["acknowledgedId"].endswith(f"{finding['ruleName']}")
        if finding["ruleName"] in WHOLE_RESOURCE_RULES:
            paths = {c["constructPath"] for c in finding["violatingConstructs"]}
            assert paths <= {
                f"WearitStorage-{env}/Delivery/Distribution" for env in ("dev", "prod")
            }
            assert len(finding["reason"]) > 60
            continue
        (construct,) = finding["violatingConstructs"]
        path = construct["constructPath"]
        assert finding["acknowledgedAt"] == path.removesuffix("/Resource")
        if finding["ruleName"] == "AwsSolutions-L1":
            # A rule without detail: acknowledged on the worker functions alone, whose
            # bundle is built for Python 3.13.
            acknowledged_functions.append(path)
        else:
            wildcard = re.fullmatch(r"AwsSolutions-IAM5\[Resource::(.+)\]", finding["ruleName"])
            assert wildcard, finding["ruleName"]
            acknowledged_wildcards.add((path, wildcard[1]))
        assert len(finding["reason"]) > 60
    assert sorted(acknowledged_functions) == sorted(
        f"WearitStorage-{env}/{function}/Resource"
        for env in ("dev", "prod")
        for function in WORKER_FUNCTIONS
    )
    # Exactly the wildcards the roles hold (each prefix, status object and log group of
    # each role): no acknowledgement is left over for a wildcard that is gone.
    assert acknowledged_wildcards == wildcard_resources_by_role(templates)
    reasons = {
        finding["violatingConstructs"][0]["constructPath"]: finding["reason"]
        for finding in suppressed
        if finding["ruleName"].endswith("/*/status.json]")
    }
    assert reasons == {
        f"WearitStorage-{env}/{ROLE_PATHS[role]}/Resource": (
            f"Only the status.json object under each {owners}: the ids are created at run "
            "time, the file name is fixed."
        )
        for env in ("dev", "prod")
        for role, owners in (
            ("upload-worker", "temp/ upload session (random session ids)"),
            ("eraser", "erasures/ user folder (a user's erasure progress)"),
        )
    }


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
