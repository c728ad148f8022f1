"""Read the synthesized stacks of one environment from a cloud assembly (``cdk.out``).

The manifest, not a naming convention, says which stacks belong to an environment (the
``Environment`` stack tag), which region each deploys to and in which order they deploy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wearit_local.errors import TemplateError

MANIFEST = "manifest.json"
STACK_ARTIFACT = "aws:cloudformation:stack"
ENVIRONMENT_TAG = "Environment"
# Written by `cdk synth` when a stack's account or region is left to deploy time.
_UNKNOWN = ("unknown-account", "unknown-region")


@dataclass(frozen=True)
class StackTemplate:
    """One synthesized stack: its template body plus what the manifest says about it."""

    name: str
    region: str
    account: str | None
    tags: Mapping[str, str]
    dependencies: tuple[str, ...]
    body: Mapping[str, Any]

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.body.get("Resources", {})
        return resources

    @property
    def outputs(self) -> Mapping[str, Mapping[str, Any]]:
        outputs: Mapping[str, Mapping[str, Any]] = self.body.get("Outputs", {})
        return outputs

    def resources_of_type(self, cfn_type: str) -> dict[str, Mapping[str, Any]]:
        """``{logical id: resource}`` of every resource of ``cfn_type``, in template order."""
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == cfn_type
        }

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        try:
            properties: Mapping[str, Any] = self.resources[logical_id].get("Properties", {})
        except KeyError:
            raise TemplateError(f"stack {self.name} has no resource {logical_id!r}") from None
        return properties


def synth_hint(cdk_out: Path) -> str:
    """What to do about a missing or stale ``cdk_out``, as a command that works as printed.

    In a checkout that is ``make synth``: it synthesizes every environment with the pinned
    CDK CLI under the virtualenv's Node.js (a bare ``npx cdk`` would take whatever Node is
    first on PATH). Anywhere else there is no Makefile and no CDK app, only ``--cdk-out``.
    """
    checkout = cdk_out.resolve().parent
    if cdk_out.name == "cdk.out" and all(
        (checkout / marker).is_file() for marker in ("Makefile", "app.py", "cdk.json")
    ):
        where = "" if checkout == Path.cwd().resolve() else f" in {checkout}"
        return f"run `make synth`{where}"
    return (
        "pass --cdk-out with the cdk.out directory that `make synth` writes in a checkout "
        "of wearit-storage"
    )


def read_manifest(cdk_out: Path) -> Mapping[str, Any]:
    path = cdk_out / MANIFEST
    try:
        manifest: Mapping[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise TemplateError(f"{path} does not exist: {synth_hint(cdk_out)}") from None
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{path} is not valid JSON ({exc}): {synth_hint(cdk_out)}") from exc
    return manifest


def environments_in(artifacts: Mapping[str, Any]) -> list[str]:
    """The ``Environment`` tags of the stacks in a manifest's artifacts, sorted."""
    return sorted(
        {
            artifact["properties"]["tags"][ENVIRONMENT_TAG]
            for artifact in artifacts.values()
            if artifact.get("type") == STACK_ARTIFACT
            and ENVIRONMENT_TAG in artifact.get("properties", {}).get("tags", {})
        }
    )


def load_environment(cdk_out: Path, env: str) -> list[StackTemplate]:
    """Every stack tagged ``Environment=env``, in deployment order (dependencies first)."""
    artifacts: Mapping[str, Any] = read_manifest(cdk_out).get("artifacts", {})
    stacks = {
        name: _stack(cdk_out, name, artifact)
        for name, artifact in artifacts.items()
        if artifact.get("type") == STACK_ARTIFACT
        and artifact.get("properties", {}).get("tags", {}).get(ENVIRONMENT_TAG) == env
    }
    if not stacks:
        # A selected-environment synth (`cdk synth -c env=prod`) leaves only that one.
        held = ", ".join(environments_in(artifacts)) or "none"
        raise TemplateError(
            f"no stack tagged {ENVIRONMENT_TAG}={env} in {cdk_out / MANIFEST} (environments "
            f"there: {held}): {synth_hint(cdk_out)} to synthesize every environment, or "
            "pick another one with --env"
        )
    return _deployment_order(stacks)


def _stack(cdk_out: Path, name: str, artifact: Mapping[str, Any]) -> StackTemplate:
    properties = artifact.get("properties", {})
    template_path = cdk_out / properties.get("templateFile", f"{name}.template.json")
    try:
        body = json.loads(template_path.read_text())
    except FileNotFoundError:
        raise TemplateError(f"{template_path} is missing: {synth_hint(cdk_out)}") from None
    account, region = _account_and_region(name, artifact.get("environment", ""))
    return StackTemplate(
        name=name,
        region=region,
        account=account,
        tags=dict(properties.get("tags", {})),
        dependencies=tuple(artifact.get("dependencies", ())),
        body=body,
    )


def _account_and_region(stack: str, environment: str) -> tuple[str | None, str]:
    # The manifest writes the target as aws://ACCOUNT/REGION.
    account, _, region = environment.removeprefix("aws://").partition("/")
    if not region or region == _UNKNOWN[1]:
        raise TemplateError(
            f"stack {stack} has no concrete region in the manifest ({environment!r}): "
            "give the stack an explicit env region"
        )
    return (None if account in ("", _UNKNOWN[0]) else account), region


def _deployment_order(stacks: Mapping[str, StackTemplate]) -> list[StackTemplate]:
    ordered: list[StackTemplate] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if any(stack.name == name for stack in ordered):
            return
        if name in visiting:
            raise TemplateError(f"stack dependency cycle through {name}")
        visiting.add(name)
        for dependency in stacks[name].dependencies:
            if dependency in stacks:  # asset manifests and other artifacts are not stacks
                visit(dependency)
        ordered.append(stacks[name])

    for name in sorted(stacks):
        visit(name)
    return ordered
