"""Helpers shared by the CDK tests: reading the synthesized templates and the cdk.json context.

Fixtures live in ``conftest.py``; everything a test imports lives here.
"""

from __future__ import annotations

import copy
import fnmatch
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template

from cdk.application import build_app
from cdk.config import ENVIRONMENTS_CONTEXT_KEY
from tests.synth import cdk_json_context
from wearit_storage.categories import ERASED_CATEGORIES, USER_CATEGORIES, Category

#: Synthesized templates by stack name (the ``templates`` fixture).
Templates = dict[str, dict[str, Any]]

ENVIRONMENTS = ("dev", "prod")
#: What the templates must grant and replicate, from the SDK's categories (in their order).
CATEGORY_PREFIXES = [category.prefix for category in Category]
USER_PREFIXES = [category.prefix for category in USER_CATEGORIES]
#: Everything of a user's: what an erasure removes (their data, exports and session bindings).
ERASED_PREFIXES = [category.prefix for category in ERASED_CATEGORIES]
#: The roles the application assumes (the eraser and replication roles are not among them).
APPLICATION_ROLES = ("api", "tryon-worker", "upload-worker")
#: Every role ``cdk.json``'s ``trusted_principals`` names, by its key there.
ROLE_SUFFIXES = {
    "api": "api",
    "tryon_worker": "tryon-worker",
    "upload_worker": "upload-worker",
    "eraser": "eraser",
}
#: A distinct principal per role (roles, a user, other accounts): a role trusting another's
#: principal shows.
DISTINCT_PRINCIPALS = {
    "api": "arn:aws:iam::111111111111:role/wearit-api-task",
    "tryon_worker": "arn:aws:iam::222222222222:role/wearit-tryon-hosts",
    "upload_worker": "arn:aws:iam::333333333333:role/wearit-upload-hosts",
    "eraser": "arn:aws:iam::444444444444:user/wearit-eraser",
}


#: A Secrets Manager secret holding the CDN's private key, for the variants that name one.
SIGNING_KEY_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:wearit/cdn-key-AbCdEf"


def cdn_with(env: str, **settings: Any) -> dict[str, Any]:
    """``env``'s ``cdn`` block of cdk.json with some settings replaced."""
    return {**cdk_json_context()[ENVIRONMENTS_CONTEXT_KEY][env]["cdn"], **settings}


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


def synthesize_primary(context: dict[str, Any], env: str, outdir: Path) -> dict[str, Any]:
    """The primary stack's template of ``env``, synthesized from ``context`` alone."""
    app = App(context=context | {"env": env}, outdir=str(outdir))
    build_app(app)
    template: dict[str, Any] = app.synth().get_stack_by_name(f"WearitStorage-{env}").template
    return template


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


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed_pairs(statements: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    """Every (action, resource) an Allow statement grants; a resource that is not a string
    (a reference) as its ``str``."""
    return {
        (action, str(resource))
        for statement in statements.values()
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }


def grants(statement: dict[str, Any], action: str) -> bool:
    """Whether an Allow statement's actions (wildcards included) cover ``action``."""
    return statement["Effect"] == "Allow" and any(
        fnmatch.fnmatchcase(action, pattern) for pattern in as_list(statement["Action"])
    )


def covers_prefix(resource: Any, bucket_arn: str, prefix: str) -> bool:
    """Whether an object resource could match a key under ``prefix`` of the bucket: its
    literal part (before any wildcard) is inside the prefix or the prefix inside it."""
    if not isinstance(resource, str) or not resource.startswith(f"{bucket_arn}/"):
        return False
    literal = resource.removeprefix(f"{bucket_arn}/").split("*", 1)[0].split("?", 1)[0]
    return literal.startswith(prefix) or prefix.startswith(literal)


def queue_named(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in resources_of_type(template, "AWS::SQS::Queue").items():
        if resource["Properties"]["QueueName"] == name:
            return logical_id, resource
    raise AssertionError(f"no queue named {name}")


def function_named(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in resources_of_type(template, "AWS::Lambda::Function").items():
        if resource["Properties"]["FunctionName"] == name:
            return logical_id, resource
    raise AssertionError(f"no function named {name}")


def only(template: dict[str, Any], cfn_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = resources_of_type(template, cfn_type).items()
    return found


def distribution_arn(templates: Templates, env: str) -> dict[str, Any]:
    logical_id, _ = only(templates[f"WearitStorage-{env}"], "AWS::CloudFront::Distribution")
    return {
        "Fn::Join": [
            "",
            [
                "arn:aws:cloudfront::",
                {"Ref": "AWS::AccountId"},
                ":distribution/",
                {"Ref": logical_id},
            ],
        ]
    }
