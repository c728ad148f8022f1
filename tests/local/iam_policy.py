"""A small evaluator of the roles' identity policies as the template declares them, for what
moto cannot evaluate (condition operators other than ``StringEquals``)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from tests.local.helpers import config_of, raw_template


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_resource(cdk_out: Path, role: str) -> dict[str, Any]:
    """The dev template's ``AWS::IAM::Role`` whose logical id starts with ``role``."""
    template = raw_template(cdk_out, config_of("dev").primary_stack_name)
    resources: dict[str, Any] = template["Resources"]
    return dict(resources[next(lid for lid in resources if lid.startswith(role))])


#: The account the pseudo parameter stands for in documents written out here.
ACCOUNT = "123456789012"


def role_policies(cdk_out: Path, role: str) -> list[dict[str, Any]]:
    """The role's inline policies, queue ARNs (``Fn::GetAtt``) and the account written out:
    the S3 matrix only needs to know they are not S3 resources."""
    template = raw_template(cdk_out, config_of("dev").primary_stack_name)
    documents = [
        p["PolicyDocument"] for p in role_resource(cdk_out, role)["Properties"]["Policies"]
    ]
    return [_written_out(document, template["Resources"]) for document in documents]


def _written_out(value: Any, resources: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_written_out(item, resources) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::GetAtt"}:
        logical_id, attribute = value["Fn::GetAtt"]
        resource = resources[logical_id]
        assert (resource["Type"], attribute) == ("AWS::SQS::Queue", "Arn"), value
        return f"arn:aws:sqs:::{resource['Properties']['QueueName']}"
    if value == {"Ref": "AWS::AccountId"}:
        return ACCOUNT
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(_written_out(part, resources)) for part in parts)
    return {key: _written_out(item, resources) for key, item in value.items()}


def matching_statements(
    documents: list[dict[str, Any]], action: str, resource: str
) -> list[dict[str, Any]]:
    return [
        statement
        for document in documents
        for statement in as_list(document["Statement"])
        if any(fnmatchcase(action, a) for a in as_list(statement["Action"]))
        and any(fnmatchcase(resource, r) for r in as_list(statement["Resource"]))
    ]


def conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            actual = context.get(key)
            if actual is None:
                return False
            if operator == "StringLike":
                matched = any(fnmatchcase(actual, pattern) for pattern in as_list(expected))
            elif operator == "StringEquals":
                matched = actual in as_list(expected)
            else:
                raise AssertionError(f"the evaluator does not know {operator}: extend it")
            if not matched:
                return False
    return True
