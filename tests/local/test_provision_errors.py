"""A template the local environment cannot provision fails before the first request, with
a message naming what to change; so does a cloud assembly for another account."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.local.helpers import config_of
from wearit_local import (
    TemplateError,
    UnsupportedIntrinsicError,
    UnsupportedPropertyError,
    provision_environment,
)


@pytest.fixture
def editable_cdk_out(cdk_out: Path, tmp_path: Path) -> Path:
    copy_dir = tmp_path / "cdk.out"
    shutil.copytree(cdk_out, copy_dir)
    return copy_dir


def _edit_data_bucket(cdk_out: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    path = cdk_out / f"{config_of('dev').primary_stack_name}.template.json"
    template = json.loads(path.read_text())
    for resource in template["Resources"].values():
        if resource["Properties"].get("BucketName") == config_of("dev").bucket_name:
            edit(resource["Properties"])
    path.write_text(json.dumps(template))


def _add_accelerate_configuration(props: dict[str, Any]) -> None:
    props["AccelerateConfiguration"] = {"AccelerationStatus": "Enabled"}


def _add_unknown_cors_key(props: dict[str, Any]) -> None:
    rules = copy.deepcopy(props["CorsConfiguration"]["CorsRules"])
    rules[0]["AllowedFancyHeaders"] = ["x"]
    props["CorsConfiguration"]["CorsRules"] = rules


def _add_imported_tag(props: dict[str, Any]) -> None:
    props["Tags"].append({"Key": "Owner", "Value": {"Fn::ImportValue": "Team"}})


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        pytest.param(
            _add_accelerate_configuration,
            UnsupportedPropertyError,
            r"DataBucket\w+ .*AccelerateConfiguration",
            id="unmapped-bucket-property",
        ),
        pytest.param(
            _add_unknown_cors_key,
            UnsupportedPropertyError,
            r"wearit-storage-dev: .*AllowedFancyHeaders",
            id="unmapped-key-inside-a-property",
        ),
        pytest.param(
            _add_imported_tag,
            UnsupportedIntrinsicError,
            r"WearitStorage-dev/DataBucket\w+ uses Fn::ImportValue",
            id="unsupported-intrinsic",
        ),
    ],
)
def test_what_cannot_be_provisioned_fails_naming_it_and_the_resource(
    editable_cdk_out: Path,
    scratch_endpoint: str,
    edit: Callable[[dict[str, Any]], None],
    error: type[TemplateError],
    message: str,
) -> None:
    _edit_data_bucket(editable_cdk_out, edit)
    with pytest.raises(error, match=message):
        provision_environment(editable_cdk_out, "dev", s3_endpoint=scratch_endpoint)


def test_an_assembly_for_another_account_is_refused(
    editable_cdk_out: Path, scratch_endpoint: str
) -> None:
    manifest_path = editable_cdk_out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    artifact = manifest["artifacts"][config_of("dev").primary_stack_name]
    artifact["environment"] = "aws://999999999999/us-east-1"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(TemplateError, match="MOTO_ACCOUNT_ID=999999999999"):
        provision_environment(editable_cdk_out, "dev", s3_endpoint=scratch_endpoint)
