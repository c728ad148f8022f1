"""What the drift tests compare: buckets as the raw templates declare them, a small
resolver of the intrinsics they use, and a read-back of one row of the settings table.

Expected values come from the raw synthesized JSON, not from ``wearit_local``'s resolver
or ``s3_mapping``: a mapping bug (a renamed key, a dropped field, a wrong unit) fails the
comparison. Only *which* properties exist and *where* each is read back come from the
settings table, so that a new row cannot go unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tests.local.helpers import config_of, manifest_region, raw_template
from wearit_local import ProvisionedEnvironment
from wearit_local.provision.buckets import BUCKET, BucketSetting


@dataclass(frozen=True)
class Declared:
    """A bucket as its template declares it, with what the test needs to resolve it."""

    name: str
    region: str
    props: dict[str, Any]
    template: dict[str, Any]


def declared_buckets(cdk_out: Path, env: str) -> list[Declared]:
    config = config_of(env)
    buckets = []
    for stack in (config.replica_stack_name, config.primary_stack_name):
        template = raw_template(cdk_out, stack)
        for resource in template["Resources"].values():
            if resource["Type"] == BUCKET:
                buckets.append(
                    Declared(
                        name=resource["Properties"]["BucketName"],
                        region=manifest_region(cdk_out, stack),
                        props=resource["Properties"],
                        template=template,
                    )
                )
    assert len(buckets) == 4, "data, access logs, replica, replica access logs"
    return buckets


class Expect:
    """Resolves the few intrinsics the templates use, independently of ``wearit_local``."""

    def __init__(self, env: ProvisionedEnvironment, template: dict[str, Any]) -> None:
        self.env = env
        self.resources = template["Resources"]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            assert attribute == "Arn"
            return self.arn(logical_id)
        if set(value) == {"Fn::Join"}:
            delimiter, parts = value["Fn::Join"]
            return delimiter.join(self(parts))
        assert not any(k.startswith("Fn::") for k in value), f"extend Expect for {value}"
        return {key: self(item) for key, item in value.items()}

    def ref(self, target: str) -> str:
        if target == "AWS::AccountId":
            return self.env.account_id
        stand_ins = {n.logical_id: n.stand_in for n in self.env.not_provisioned if n.stand_in}
        if target in stand_ins:  # the CDN distribution, which policies name
            return str(stand_ins[target])
        props = self.resources[target]["Properties"]
        return str(props.get("BucketName") or props["RoleName"])

    def arn(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        props = resource["Properties"]
        if resource["Type"] == BUCKET:
            return f"arn:aws:s3:::{props['BucketName']}"
        if resource["Type"] == "AWS::IAM::Role":
            return f"arn:aws:iam::{self.env.account_id}:role/{props['RoleName']}"
        if resource["Type"] == "AWS::SQS::Queue":
            region = self.env.region
            return f"arn:aws:sqs:{region}:{self.env.account_id}:{props['QueueName']}"
        assert resource["Type"] == "AWS::KMS::Key"
        (key,) = [k for k in self.env.keys if k.logical_id == logical_id]
        return key.arn


def read_back(s3: Any, bucket: str, setting: BucketSetting) -> Any:
    """The setting as the bucket holds it (the response field), or None when none is set."""
    try:
        response = getattr(s3, setting.get)(Bucket=bucket)
    except ClientError as exc:
        if setting.missing_code is None or exc.response["Error"]["Code"] != setting.missing_code:
            raise
        return None
    return response.get(setting.field)
