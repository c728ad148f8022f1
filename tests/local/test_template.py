"""Reading the cloud assembly: which stacks form an environment, in which order and region."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.local.helpers import config_of
from wearit_local import TemplateError, load_environment


def test_stacks_load_in_deployment_order_with_manifest_regions(cdk_out: Path) -> None:
    config = config_of("dev")
    stacks = load_environment(cdk_out, "dev")
    assert [s.name for s in stacks] == [config.replica_stack_name, config.primary_stack_name]
    assert [s.region for s in stacks] == [config.replica_region, config.region]


def test_an_unknown_environment_or_a_missing_assembly_says_what_to_do(
    cdk_out: Path, tmp_path: Path
) -> None:
    with pytest.raises(
        TemplateError,
        match=r"no stack tagged Environment=staging .*\(environments there: dev, prod\).* --env",
    ):
        load_environment(cdk_out, "staging")
    # Outside a checkout there is no Makefile to run: only --cdk-out helps.
    with pytest.raises(TemplateError, match="pass --cdk-out") as outside:
        load_environment(tmp_path / "nowhere", "dev")
    assert "make synth`" not in str(outside.value).replace("that `make synth`", "")


def test_in_a_checkout_the_hint_is_make_synth_there(tmp_path: Path) -> None:
    for marker in ("Makefile", "app.py", "cdk.json"):
        (tmp_path / marker).write_text("")
    with pytest.raises(TemplateError, match=f"run `make synth` in {tmp_path}$"):
        load_environment(tmp_path / "cdk.out", "dev")
