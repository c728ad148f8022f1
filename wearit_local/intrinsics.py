"""Resolve the CloudFormation intrinsic functions the synthesized templates use.

Supported: ``Ref`` (resources and the pseudo parameters ``AWS::AccountId``, ``AWS::Region``,
``AWS::Partition``, ``AWS::URLSuffix``, ``AWS::StackName``), ``Fn::GetAtt``, ``Fn::Join``,
``Fn::Sub``, ``Fn::Select``. Anything else (``Fn::If``, ``Fn::ImportValue``...) raises
:class:`UnsupportedIntrinsicError` naming the function and the resource that used it, so a
template change that needs more support fails loudly instead of provisioning something else.

A resource's physical id is either *derived* from its declared name (buckets, roles,
aliases: the name is the id) or *registered* by the provisioner once it exists (KMS keys:
their ids are only known after creation).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wearit_local.errors import (
    TemplateError,
    UnresolvableReferenceError,
    UnsupportedIntrinsicError,
)

SUPPORTED_INTRINSICS = frozenset({"Ref", "Fn::GetAtt", "Fn::Join", "Fn::Sub", "Fn::Select"})
# Fn::Sub placeholders: ${Name}, ${Name.Attr}; ${!Literal} stays as the literal ${Literal}.
_SUB_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class PseudoParameters:
    account_id: str
    region: str
    stack_name: str
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    def as_refs(self) -> dict[str, str]:
        return {
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::StackName": self.stack_name,
        }


@dataclass(frozen=True)
class PhysicalResource:
    """What ``Ref`` returns for a resource and the attributes ``Fn::GetAtt`` can read."""

    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


def derive_physical_resource(
    resource: Mapping[str, Any], pseudo: PseudoParameters
) -> PhysicalResource | None:
    """The physical id of a resource whose declared name determines it, else ``None``."""
    cfn_type = resource.get("Type")
    properties: Mapping[str, Any] = resource.get("Properties", {})
    name = properties.get(_NAME_PROPERTY.get(str(cfn_type), ""))
    if not isinstance(name, str):  # unnamed, or the name is itself an intrinsic
        return None
    partition, region, account = pseudo.partition, pseudo.region, pseudo.account_id
    if cfn_type == "AWS::S3::Bucket":
        return PhysicalResource(
            ref=name,
            attributes={
                "Arn": f"arn:{partition}:s3:::{name}",
                "DomainName": f"{name}.s3.{pseudo.url_suffix}",
                "RegionalDomainName": f"{name}.s3.{region}.{pseudo.url_suffix}",
            },
        )
    if cfn_type == "AWS::IAM::Role":
        path = properties.get("Path", "/")
        return PhysicalResource(
            ref=name,
            attributes={"Arn": f"arn:{partition}:iam::{account}:role{path}{name}"},
        )
    # AWS::KMS::Alias: Ref is the alias name; it has no GetAtt attributes.
    return PhysicalResource(ref=name)


_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::IAM::Role": "RoleName",
    "AWS::KMS::Alias": "AliasName",
}


class IntrinsicResolver:
    """Resolves intrinsic functions within one stack's template."""

    def __init__(
        self, resources: Mapping[str, Mapping[str, Any]], pseudo: PseudoParameters
    ) -> None:
        self._resources = resources
        self._pseudo = pseudo
        self._registered: dict[str, PhysicalResource] = {}

    def register(self, logical_id: str, physical: PhysicalResource) -> None:
        """Record the physical id of a resource the provisioner has just created."""
        self._registered[logical_id] = physical

    def physical(self, logical_id: str, *, used_by: str) -> PhysicalResource:
        if logical_id in self._registered:
            return self._registered[logical_id]
        resource = self._resources.get(logical_id)
        if resource is None:
            raise UnresolvableReferenceError(
                f"{used_by} refers to {logical_id!r}, which is neither a resource of the "
                "stack nor a supported pseudo parameter"
            )
        derived = derive_physical_resource(resource, self._pseudo)
        if derived is None:
            raise UnresolvableReferenceError(
                f"{used_by} refers to {logical_id} ({resource.get('Type')}), which the local "
                "environment does not provision or has not created yet"
            )
        return derived

    def resolve(self, value: Any, *, resource: str) -> Any:
        """``value`` with every intrinsic replaced; ``resource`` names the user in errors."""
        if isinstance(value, list):
            return [self.resolve(item, resource=resource) for item in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._function(key, argument, resource)
        return {key: self.resolve(item, resource=resource) for key, item in value.items()}

    def _function(self, name: str, argument: Any, resource: str) -> Any:
        if name == "Ref":
            return self._ref(argument, resource)
        if name == "Fn::GetAtt":
            return self._get_att(argument, resource)
        if name == "Fn::Join":
            return self._join(argument, resource)
        if name == "Fn::Sub":
            return self._sub(argument, resource)
        if name == "Fn::Select":
            return self._select(argument, resource)
        raise UnsupportedIntrinsicError(
            f"{resource} uses {name}, which the local environment cannot resolve "
            f"(supported: {', '.join(sorted(SUPPORTED_INTRINSICS))})"
        )

    def _ref(self, target: Any, resource: str) -> str:
        if not isinstance(target, str):
            raise TemplateError(f"{resource}: Ref takes a name, got {target!r}")
        pseudo = self._pseudo.as_refs()
        if target in pseudo:
            return pseudo[target]
        if target.startswith("AWS::"):
            raise UnsupportedIntrinsicError(
                f"{resource} uses Ref {target}, a pseudo parameter the local environment "
                f"cannot resolve (supported: {', '.join(sorted(pseudo))})"
            )
        return self.physical(target, used_by=resource).ref

    def _get_att(self, argument: Any, resource: str) -> str:
        if isinstance(argument, str):  # the short "Logical.Attr" form
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"{resource}: Fn::GetAtt takes [logicalId, attribute]")
        logical_id, attribute = argument[0], self.resolve(argument[1], resource=resource)
        physical = self.physical(logical_id, used_by=resource)
        try:
            return physical.attributes[attribute]
        except KeyError:
            raise UnresolvableReferenceError(
                f"{resource} reads Fn::GetAtt {logical_id}.{attribute}; the local environment "
                f"knows {', '.join(sorted(physical.attributes)) or 'no attributes'} of it"
            ) from None

    def _join(self, argument: Any, resource: str) -> str:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"{resource}: Fn::Join takes [delimiter, [values]]")
        delimiter, values = argument
        parts = self.resolve(values, resource=resource)
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise TemplateError(f"{resource}: Fn::Join values must resolve to strings")
        return str(delimiter).join(parts)

    def _sub(self, argument: Any, resource: str) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        elif isinstance(argument, list) and len(argument) == 2:
            text, raw_variables = argument
            variables = {k: self.resolve(v, resource=resource) for k, v in raw_variables.items()}
        else:
            raise TemplateError(f"{resource}: Fn::Sub takes a string or [string, {{vars}}]")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self._get_att([logical_id, attribute], resource)
            return self._ref(name, resource)

        return _SUB_PLACEHOLDER.sub(substitute, text)

    def _select(self, argument: Any, resource: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"{resource}: Fn::Select takes [index, [values]]")
        index = int(self.resolve(argument[0], resource=resource))
        values = self.resolve(argument[1], resource=resource)
        if not isinstance(values, list) or not 0 <= index < len(values):
            raise TemplateError(f"{resource}: Fn::Select index {index} is out of range")
        return values[index]


def intrinsics_used(value: Any) -> set[str]:
    """Every intrinsic function name that occurs anywhere in ``value``."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= intrinsics_used(item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if len(value) == 1 and (key == "Ref" or key.startswith("Fn::")):
                found.add(key)
            found |= intrinsics_used(item)
    return found
