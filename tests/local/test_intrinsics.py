"""Intrinsic functions: each supported one, the errors, and the real synthesized templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.local.helpers import raw_template
from wearit_local import (
    SUPPORTED_INTRINSICS,
    IntrinsicResolver,
    PseudoParameters,
    UnresolvableReferenceError,
    UnsupportedIntrinsicError,
    load_environment,
)
from wearit_local.intrinsics import PhysicalResource, intrinsics_used

PSEUDO = PseudoParameters(account_id="111122223333", region="eu-west-3", stack_name="S")
RESOURCES: dict[str, dict[str, Any]] = {
    "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "photos"}},
    "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "api", "Path": "/app/"}},
    "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
    "Alias": {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": "alias/photos"}},
    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
}


def resolver() -> IntrinsicResolver:
    return IntrinsicResolver(RESOURCES, PSEUDO)


@pytest.mark.parametrize(
    ("pseudo", "value"),
    [
        ("AWS::AccountId", "111122223333"),
        ("AWS::Region", "eu-west-3"),
        ("AWS::Partition", "aws"),
        ("AWS::URLSuffix", "amazonaws.com"),
        ("AWS::StackName", "S"),
    ],
)
def test_ref_pseudo_parameters(pseudo: str, value: str) -> None:
    assert resolver().resolve({"Ref": pseudo}, resource="R") == value


def test_ref_and_arn_of_named_resources() -> None:
    r = resolver()
    assert r.resolve({"Ref": "Bucket"}, resource="R") == "photos"
    assert r.resolve({"Fn::GetAtt": ["Bucket", "Arn"]}, resource="R") == "arn:aws:s3:::photos"
    assert r.resolve({"Fn::GetAtt": "Role.Arn"}, resource="R") == (
        "arn:aws:iam::111122223333:role/app/api"
    )
    assert r.resolve({"Ref": "Alias"}, resource="R") == "alias/photos"


def test_a_key_resolves_once_registered() -> None:
    r = resolver()
    with pytest.raises(UnresolvableReferenceError, match=r"R refers to Key \(AWS::KMS::Key\)"):
        r.resolve({"Fn::GetAtt": ["Key", "Arn"]}, resource="R")
    r.register("Key", PhysicalResource("k-1", {"Arn": "arn:aws:kms:eu-west-3:1:key/k-1"}))
    assert r.resolve({"Ref": "Key"}, resource="R") == "k-1"
    assert r.resolve({"Fn::GetAtt": ["Key", "Arn"]}, resource="R").endswith("key/k-1")


def test_join_sub_and_select_nest() -> None:
    value = {
        "Fn::Join": [
            "",
            [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/", {"Fn::Select": [1, ["a", "b"]]}],
        ]
    }
    assert resolver().resolve(value, resource="R") == "arn:aws:s3:::photos/b"
    sub = {
        "Fn::Sub": [
            "arn:${AWS::Partition}:s3:::${Bucket}/${Who}/${!Literal}/${Role.Arn}",
            {"Who": {"Ref": "AWS::AccountId"}},
        ]
    }
    assert resolver().resolve(sub, resource="R") == (
        "arn:aws:s3:::photos/111122223333/${Literal}/arn:aws:iam::111122223333:role/app/api"
    )


def test_plain_structures_are_walked_not_mistaken_for_functions() -> None:
    policy = {"Statement": [{"Effect": "Allow", "Resource": {"Fn::GetAtt": ["Bucket", "Arn"]}}]}
    assert resolver().resolve(policy, resource="R") == {
        "Statement": [{"Effect": "Allow", "Resource": "arn:aws:s3:::photos"}]
    }


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::If": ["IsProd", "a", "b"]},
        {"Fn::ImportValue": "Shared"},
        {"Fn::GetAZs": ""},
        {"Fn::Base64": "x"},
    ],
)
def test_unsupported_functions_are_named_with_the_resource(value: dict[str, Any]) -> None:
    (name,) = value
    with pytest.raises(UnsupportedIntrinsicError, match=rf"Stack/Thing uses {name},"):
        resolver().resolve({"Tags": [{"Value": value}]}, resource="Stack/Thing")


def test_unsupported_pseudo_parameter_is_named() -> None:
    with pytest.raises(UnsupportedIntrinsicError, match="Ref AWS::NotificationARNs"):
        resolver().resolve({"Ref": "AWS::NotificationARNs"}, resource="R")


def test_references_the_local_environment_cannot_know() -> None:
    with pytest.raises(UnresolvableReferenceError, match=r"Topic \(AWS::SNS::Topic\)"):
        resolver().resolve({"Ref": "Topic"}, resource="R")
    with pytest.raises(UnresolvableReferenceError, match="'Nowhere'"):
        resolver().resolve({"Ref": "Nowhere"}, resource="R")
    with pytest.raises(UnresolvableReferenceError, match=r"Bucket\.WebsiteURL"):
        resolver().resolve({"Fn::GetAtt": ["Bucket", "WebsiteURL"]}, resource="R")


@given(
    st.text(max_size=3),
    st.lists(st.text(alphabet=st.characters(codec="ascii"), max_size=8), max_size=6),
)
def test_join_is_str_join(delimiter: str, parts: list[str]) -> None:
    assert resolver().resolve({"Fn::Join": [delimiter, parts]}, resource="R") == (
        delimiter.join(parts)
    )


# --- the real templates -------------------------------------------------------------


def test_the_synthesized_templates_use_only_supported_intrinsics(cdk_out: Path) -> None:
    """If CDK starts emitting a new function this fails here, not in the middle of a demo."""
    templates = sorted(
        p.name.removesuffix(".template.json") for p in cdk_out.glob("*.template.json")
    )
    assert len(templates) == 4
    for name in templates:
        template = raw_template(cdk_out, name)
        # "Rules" holds the CDK bootstrap-version check, which is never provisioned.
        used = intrinsics_used(template["Resources"]) | intrinsics_used(template.get("Outputs", {}))
        assert used <= SUPPORTED_INTRINSICS, f"{name}: {sorted(used - SUPPORTED_INTRINSICS)}"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_provisioned_resource_resolves_completely(cdk_out: Path, env: str) -> None:
    for stack in load_environment(cdk_out, env):
        r = IntrinsicResolver(stack.resources, PSEUDO)
        for logical_id in stack.resources_of_type("AWS::KMS::Key"):
            r.register(
                logical_id, PhysicalResource("id", {"Arn": f"arn:aws:kms:::key/{logical_id}"})
            )
        for logical_id in stack.resources_of_type("AWS::SQS::Queue"):
            r.register(
                logical_id,
                PhysicalResource(
                    f"http://sqs/{logical_id}",
                    {"Arn": f"arn:aws:sqs:::{logical_id}", "QueueName": logical_id},
                ),
            )
        for logical_id in stack.resources_of_type("AWS::CloudFront::Distribution"):
            r.register(logical_id, PhysicalResource("stand-in", {"Id": "stand-in"}))
        for cfn_type in (
            "AWS::S3::Bucket",
            "AWS::S3::BucketPolicy",
            "AWS::IAM::Role",
            "AWS::KMS::Key",
            "AWS::KMS::Alias",
            "AWS::SQS::Queue",
            "AWS::SQS::QueuePolicy",
        ):
            for logical_id in stack.resources_of_type(cfn_type):
                resolved = r.resolve(dict(stack.properties(logical_id)), resource=logical_id)
                assert not intrinsics_used(resolved), f"{stack.name}/{logical_id}"
