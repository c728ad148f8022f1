"""Helpers shared by the CDK tests: reading the synthesized templates and the cdk.json context.

Fixtures live in ``conftest.py``; everything a test imports lives here.
"""

from __future__ import annotations

import copy
from typing import Any

from aws_cdk.assertions import Template

from cdk.config import ENVIRONMENTS_CONTEXT_KEY
from tests.synth import cdk_json_context
from wearit_storage.categories import USER_CATEGORIES, Category

#: Synthesized templates by stack name (the ``templates`` fixture).
Templates = dict[str, dict[str, Any]]

ENVIRONMENTS = ("dev", "prod")
#: What the templates must grant and replicate, from the SDK's categories (in their order).
CATEGORY_PREFIXES = [category.prefix for category in Category]
USER_PREFIXES = [category.prefix for category in USER_CATEGORIES]


def environments_with(env: str, **overrides: Any) -> dict[str, Any]:
    """The cdk.json context with some keys of one environment replaced (None deletes)."""
    context = copy.deepcopy(cdk_json_context())
    block = context[ENVIRONMENTS_CONTEXT_KEY][env]
    for key, value in overrides.items():
        if value is None:
            block.pop(key, None)
        else:
            block[key] = value
    return context


def primary(templates: Templates, env: str) -> Template:
    return Template.from_json(templates[f"WearitStorage-{env}"])


def replica(templates: Templates, env: str) -> Template:
    return Template.from_json(templates[f"WearitStorageReplica-{env}"])


def resources_of_type(template: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == cfn_type
    }


def bucket_named(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in resources_of_type(template, "AWS::S3::Bucket").items():
        if resource["Properties"].get("BucketName") == name:
            return logical_id, resource
    raise AssertionError(f"no bucket named {name} in template")


def role_named(template: dict[str, Any], name: str) -> dict[str, Any]:
    for resource in resources_of_type(template, "AWS::IAM::Role").values():
        if resource["Properties"].get("RoleName") == name:
            return resource
    raise AssertionError(f"no role named {name} in template")


def statements_by_sid(role: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The statements of a role's one inline policy, by Sid."""
    (policy,) = role["Properties"]["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def role_statements(templates: Templates, env: str, suffix: str) -> dict[str, dict[str, Any]]:
    """The statements of the primary stack's role ``wearit-storage-<env>-<suffix>``, by Sid."""
    role = role_named(templates[f"WearitStorage-{env}"], f"wearit-storage-{env}-{suffix}")
    return statements_by_sid(role)


def data_bucket(templates: Templates, env: str) -> dict[str, Any]:
    _, bucket = bucket_named(templates[f"WearitStorage-{env}"], f"wearit-storage-{env}")
    return bucket


def replication_rules(templates: Templates, env: str) -> list[dict[str, Any]]:
    replication = data_bucket(templates, env)["Properties"]["ReplicationConfiguration"]
    rules: list[dict[str, Any]] = replication["Rules"]
    return rules
