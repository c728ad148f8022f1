"""IAM roles: trust policy, settings, tags and exactly the declared inline policies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from wearit_local.clients import error_code
from wearit_local.provision.results import ProvisionedRole

ROLE = "AWS::IAM::Role"
ROLE_PROPERTIES = frozenset(
    {
        "RoleName",
        "AssumeRolePolicyDocument",
        "Description",
        "MaxSessionDuration",
        "Path",
        "Policies",
        "Tags",
    }
)


def provision_role(
    iam: Any, stack: str, logical_id: str, props: Mapping[str, Any]
) -> ProvisionedRole:
    """Create the role or update it in place; inline policies not declared are deleted."""
    name = str(props["RoleName"])
    trust = json.dumps(props["AssumeRolePolicyDocument"])
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])]
    settings = {
        "Description": props.get("Description", ""),
        "MaxSessionDuration": int(props.get("MaxSessionDuration", 3600)),
    }
    try:
        arn = iam.create_role(
            RoleName=name,
            Path=props.get("Path", "/"),
            AssumeRolePolicyDocument=trust,
            Tags=tags,
            **settings,
        )["Role"]["Arn"]
    except ClientError as exc:
        if error_code(exc) != "EntityAlreadyExists":
            raise
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
        iam.update_role(RoleName=name, **settings)
        if tags:
            iam.tag_role(RoleName=name, Tags=tags)
    declared = {p["PolicyName"]: p["PolicyDocument"] for p in props.get("Policies", [])}
    for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        if policy_name not in declared:
            iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
    for policy_name, document in declared.items():
        iam.put_role_policy(
            RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
        )
    return ProvisionedRole(name, str(arn), stack, logical_id)
