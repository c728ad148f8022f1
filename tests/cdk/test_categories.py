"""Every category of the SDK (``wearit_storage.categories``) reaches the infrastructure.

``cdk/prefixes.py`` derives its prefixes from the SDK's categories. These tests read the
synthesized templates, one category at a time: a category the SDK writes but IAM,
replication or the lifecycle leaves out fails here (and, since the template changes, the
snapshot tests fail too until the new templates are reviewed and recorded).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from cdk.config import load_environments
from tests.cdk.helpers import (
    ENVIRONMENTS,
    Templates,
    data_bucket,
    replication_rules,
    role_named,
    role_statements,
)
from tests.synth import cdk_json_context
from wearit_storage.categories import USER_CATEGORIES, Category

# Categories that are not a user's data (temp/: uploads awaiting validation).
TRANSIENT_CATEGORIES = tuple(category for category in Category if category not in USER_CATEGORIES)


def bucket_arn(env: str, *, replica: bool = False) -> str:
    return f"arn:aws:s3:::wearit-storage-{env}{'-replica' if replica else ''}"


def replicated_prefixes(templates: Templates, env: str) -> list[str]:
    return [rule["Filter"]["Prefix"] for rule in replication_rules(templates, env)]


def expiring_prefixes(templates: Templates, env: str) -> set[str]:
    rules = data_bucket(templates, env)["Properties"]["LifecycleConfiguration"]["Rules"]
    return {
        rule["Prefix"]
        for rule in rules
        if rule["Status"] == "Enabled" and "Prefix" in rule and "ExpirationInDays" in rule
    }


def listed_prefixes(statement: dict[str, Any]) -> list[str]:
    prefixes: list[str] = statement["Condition"]["StringLike"]["s3:prefix"]
    return prefixes


def test_temp_and_exports_are_transient_so_their_tests_below_run() -> None:
    assert Category.TEMP in TRANSIENT_CATEGORIES
    assert Category.EXPORTS in TRANSIENT_CATEGORIES


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("category", list(Category), ids=str)
def test_api_role_reads_writes_and_lists_every_category(
    templates: Templates, env: str, category: Category
) -> None:
    api = role_statements(templates, env, "api")
    assert f"{bucket_arn(env)}/{category.prefix}*" in api["ObjectsReadWriteDelete"]["Resource"]
    assert f"{category.prefix}*" in listed_prefixes(api["ListOwnPrefixes"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("category", USER_CATEGORIES, ids=str)
def test_user_category_is_replicated_erasable_on_the_replica_and_kept(
    templates: Templates, env: str, category: Category
) -> None:
    prefix, replica = category.prefix, bucket_arn(env, replica=True)
    assert prefix in replicated_prefixes(templates, env)
    replication = role_statements(templates, env, "replication")
    assert f"{bucket_arn(env)}/{prefix}*" in replication["ReadSourceVersions"]["Resource"]
    assert f"{replica}/{prefix}*" in replication["WriteReplicas"]["Resource"]
    api = role_statements(templates, env, "api")
    assert f"{replica}/{prefix}*" in api["ReplicaErasure"]["Resource"]
    assert f"{prefix}*" in listed_prefixes(api["ListReplicaPrefixes"])
    # A user's data never expires by itself (only its noncurrent versions do).
    assert prefix not in expiring_prefixes(templates, env)


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("category", TRANSIENT_CATEGORIES, ids=str)
def test_transient_category_expires_and_is_not_replicated(
    templates: Templates, env: str, category: Category
) -> None:
    prefix = category.prefix
    assert prefix in expiring_prefixes(templates, env)
    assert prefix not in replicated_prefixes(templates, env)
    assert prefix not in str(role_statements(templates, env, "replication"))
    api = role_statements(templates, env, "api")
    assert f"{prefix}*" not in listed_prefixes(api["ListReplicaPrefixes"])


def lifecycle_rule_for(templates: Templates, env: str, prefix: str) -> dict[str, Any]:
    rules = data_bucket(templates, env)["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [rule for rule in rules if rule.get("Prefix") == prefix]
    found: dict[str, Any] = rule
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_exports_expire_with_their_noncurrent_versions_after_the_configured_days(
    templates: Templates, env: str
) -> None:
    (config,) = load_environments(cdk_json_context(), env)
    rule = lifecycle_rule_for(templates, env, Category.EXPORTS.prefix)
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == config.retention.export_days
    # Expiring a current version in a versioned bucket only hides it: the bytes must go too.
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] <= config.retention.export_days


def _roles(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        resource["Properties"]["RoleName"]: resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Role"
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_api_role_reads_or_writes_exports(templates: Templates, env: str) -> None:
    exports = f"{bucket_arn(env)}/{Category.EXPORTS.prefix}*"
    api = role_statements(templates, env, "api")
    assert exports in api["ObjectsReadWriteDelete"]["Resource"]
    assert {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"} <= set(
        api["ObjectsReadWriteDelete"]["Action"]
    )
    for stack in (f"WearitStorage-{env}", f"WearitStorageReplica-{env}"):
        for name, role in _roles(templates[stack]).items():
            if name != f"wearit-storage-{env}-api":
                assert Category.EXPORTS.prefix not in json.dumps(role["Properties"]), name
    # Nothing else in the stacks names exports/ but the API role, the lifecycle rule and the
    # bucket policy keeping everyone else out.
    primary_text = json.dumps(templates[f"WearitStorage-{env}"])
    assert primary_text.count(Category.EXPORTS.prefix) == 4
    assert Category.EXPORTS.prefix not in json.dumps(templates[f"WearitStorageReplica-{env}"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_bucket_policy_denies_reading_and_writing_exports_to_all_but_the_api_role(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    (policy,) = [
        resource["Properties"]["PolicyDocument"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::S3::BucketPolicy"
        and "exports/" in json.dumps(resource["Properties"])
    ]
    (guard,) = [s for s in policy["Statement"] if s.get("Sid") == "ExportsOnlyForTheApiRole"]
    assert guard["Effect"] == "Deny"
    assert guard["Principal"] == {"AWS": "*"}
    assert sorted(guard["Action"]) == ["s3:GetObject*", "s3:PutObject*"]  # deleting stays open
    assert guard["Resource"] == f"{bucket_arn(env)}/{Category.EXPORTS.prefix}*"
    (arn,) = guard["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]["Fn::Join"][1][-1:]
    role_name = role_named(template, f"wearit-storage-{env}-api")["Properties"]["RoleName"]
    assert arn == f":role/{role_name}"  # the exact API role, not a pattern
