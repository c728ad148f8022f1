"""KMS keys and aliases, found again on a second run by a tag naming their resource."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from wearit_local.provision.results import ProvisionedKey

KMS_KEY = "AWS::KMS::Key"
KMS_ALIAS = "AWS::KMS::Alias"
KEY_PROPERTIES = frozenset(
    {"Description", "EnableKeyRotation", "KeyPolicy", "Tags", "KeySpec", "KeyUsage", "Enabled"}
)
# Marks KMS keys with the resource they implement: keys have no name to find them by on a
# second run. (Tag keys starting with "aws:" are reserved, hence the own namespace.)
KEY_RESOURCE_TAG = "wearit:local:resource"


def provision_key(
    kms: Any, stack: str, region: str, logical_id: str, props: Mapping[str, Any]
) -> ProvisionedKey:
    """Create the key, or bring the one a previous run created back to the template."""
    marker = f"{stack}/{logical_id}"
    tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
    tags.append({"TagKey": KEY_RESOURCE_TAG, "TagValue": marker})
    key_id = _find_key(kms, marker)
    if key_id is None:
        request: dict[str, Any] = {
            "Description": props.get("Description", ""),
            "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
            "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
            "Tags": tags,
        }
        if "KeyPolicy" in props:
            request["Policy"] = json.dumps(props["KeyPolicy"])
        key_id = str(kms.create_key(**request)["KeyMetadata"]["KeyId"])
    else:
        kms.update_key_description(KeyId=key_id, Description=props.get("Description", ""))
        if "KeyPolicy" in props:
            kms.put_key_policy(
                KeyId=key_id, PolicyName="default", Policy=json.dumps(props["KeyPolicy"])
            )
        kms.tag_resource(KeyId=key_id, Tags=tags)
    if props.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=key_id)
    else:
        kms.disable_key_rotation(KeyId=key_id)
    if props.get("Enabled", True) is False:
        kms.disable_key(KeyId=key_id)
    arn = str(kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"])
    return ProvisionedKey(key_id, arn, region, stack, logical_id)


def _find_key(kms: Any, marker: str) -> str | None:
    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
            if {"TagKey": KEY_RESOURCE_TAG, "TagValue": marker} in tags:
                return str(key["KeyId"])
    return None


def provision_alias(kms: Any, props: Mapping[str, Any]) -> tuple[str, str]:
    """Create or retarget the alias; return (alias name, target key id or ARN)."""
    name, target = str(props["AliasName"]), str(props["TargetKeyId"])
    existing = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    if name in existing:
        kms.update_alias(AliasName=name, TargetKeyId=target)
    else:
        kms.create_alias(AliasName=name, TargetKeyId=target)
    return name, target
