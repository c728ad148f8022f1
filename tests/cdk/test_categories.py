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

from cdk.config import MAX_PRESIGN_DAYS, load_environments
from tests.cdk.helpers import (
    ENVIRONMENTS,
    Templates,
    allowed_pairs,
    data_bucket,
    replication_rules,
    role_named,
    role_statements,
    statements_by_sid,
)
from tests.synth import cdk_json_context
from wearit_storage.categories import ERASED_CATEGORIES, USER_CATEGORIES, Category

# Categories that are not a user's data (temp/: uploads awaiting validation; exports/:
# archives of it; erasures/: the requests; sessions/: which user each session is).
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


def test_the_transient_categories_are_those_below_so_their_tests_run() -> None:
    assert TRANSIENT_CATEGORIES == (
        Category.TEMP,
        Category.EXPORTS,
        Category.ERASURES,
        Category.SESSIONS,
    )


#: What the API does with each category's objects, and whether it lists it. A category
#: added to the SDK has no entry: deciding what the API may do with it is part of adding it.
API_OBJECT_ACTIONS = frozenset(
    {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:PutObjectTagging",
        "s3:GetObjectTagging",
        "s3:GetObjectVersionTagging",
    }
)
API_ACCESS: dict[Category, tuple[frozenset[str], bool]] = {
    Category.CLOTHING: (API_OBJECT_ACTIONS, True),
    Category.BODY: (API_OBJECT_ACTIONS, True),
    Category.TRYON: (API_OBJECT_ACTIONS, True),
    Category.AVATARS: (API_OBJECT_ACTIONS, True),
    # The raw uploads it promoted itself go for good: transient, never replicated.
    Category.TEMP: (API_OBJECT_ACTIONS | {"s3:DeleteObjectVersion"}, True),
    Category.EXPORTS: (API_OBJECT_ACTIONS, True),
    # Reads requests and statuses (its puts are of request.json alone: test_roles); never
    # deletes a request.
    Category.ERASURES: (frozenset({"s3:GetObject"}), True),
    # Records whose each upload session is; nothing more.
    Category.SESSIONS: (frozenset({"s3:PutObject"}), False),
}


def actions_on(statements: dict[str, dict[str, Any]], resource: str) -> set[str]:
    return {action for action, granted in allowed_pairs(statements) if granted == resource}


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("category", list(Category), ids=str)
def test_the_api_role_has_exactly_its_rights_on_every_category(
    templates: Templates, env: str, category: Category
) -> None:
    api = role_statements(templates, env, "api")
    actions, listed = API_ACCESS[category]
    assert actions_on(api, f"{bucket_arn(env)}/{category.prefix}*") == actions
    assert (f"{category.prefix}*" in listed_prefixes(api["ListOwnPrefixes"])) is listed


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("category", [*ERASED_CATEGORIES, Category.TEMP], ids=str)
def test_the_eraser_erases_every_version_of_every_erased_category_and_temp(
    templates: Templates, env: str, category: Category
) -> None:
    """What an erasure removes for a user (their data, exports and session bindings), and
    the temp/ sessions those bindings name: every version, listed first."""
    eraser = role_statements(templates, env, "eraser")
    assert actions_on(eraser, f"{bucket_arn(env)}/{category.prefix}*") == {
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:AbortMultipartUpload",
    }
    assert f"{category.prefix}*" in listed_prefixes(eraser["ListErased"])


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
    # Erased there by the eraser alone (no application role touches the replica).
    eraser = role_statements(templates, env, "eraser")
    assert f"{replica}/{prefix}*" in eraser["EraseReplica"]["Resource"]
    assert f"{prefix}*" in listed_prefixes(eraser["ListReplica"])
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
    eraser = role_statements(templates, env, "eraser")
    assert f"{prefix}*" not in listed_prefixes(eraser["ListReplica"])
    assert prefix not in str(eraser["EraseReplica"]["Resource"])


def lifecycle_rule_for(templates: Templates, env: str, prefix: str) -> dict[str, Any]:
    rules = data_bucket(templates, env)["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [rule for rule in rules if rule.get("Prefix") == prefix]
    found: dict[str, Any] = rule
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_session_bindings_expire_once_no_upload_of_their_session_can_land(
    templates: Templates, env: str
) -> None:
    (config,) = load_environments(cdk_json_context(), env)
    rule = lifecycle_rule_for(templates, env, Category.SESSIONS.prefix)
    assert rule == {
        "Id": "ExpireSessionBindings",
        "Status": "Enabled",
        "Prefix": "sessions/",
        # A presign's longest life, then temp/'s: an upload can land until then.
        "ExpirationInDays": MAX_PRESIGN_DAYS + config.retention.temp_upload_days,
        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
    }


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
def test_only_the_api_role_reads_or_writes_exports_and_only_the_eraser_deletes_them_too(
    templates: Templates, env: str
) -> None:
    exports = f"{bucket_arn(env)}/{Category.EXPORTS.prefix}*"
    roles = {
        **_roles(templates[f"WearitStorage-{env}"]),
        **_roles(templates[f"WearitStorageReplica-{env}"]),
    }
    naming = {
        name: actions_on(statements_by_sid(role), exports)
        for name, role in roles.items()
        if Category.EXPORTS.prefix in json.dumps(role["Properties"])
    }
    assert naming == {
        f"wearit-storage-{env}-api": API_ACCESS[Category.EXPORTS][0],
        f"wearit-storage-{env}-eraser": {
            "s3:DeleteObject",
            "s3:DeleteObjectVersion",
            "s3:AbortMultipartUpload",
        },
    }
    # Nothing else in the stacks names exports/ but those two roles (objects and listing
    # each), the lifecycle rule and the bucket policy keeping everyone else out.
    primary_text = json.dumps(templates[f"WearitStorage-{env}"])
    assert primary_text.count(Category.EXPORTS.prefix) == 6
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
