"""Assemble the CDK app: every configured environment, tags, and the compliance gate."""

from __future__ import annotations

from aws_cdk import App, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from cdk.config import (
    ENVIRONMENTS_CONTEXT_KEY,
    SELECTED_ENVIRONMENT_CONTEXT_KEY,
    EnvironmentConfig,
    load_environments,
)
from cdk.stacks.replica_stack import ReplicaStack
from cdk.stacks.storage_stack import StorageStack


def build_app(app: App) -> list[Stack]:
    """Add both stacks of each selected environment to ``app``; return them in deploy order."""
    environments = load_environments(
        {ENVIRONMENTS_CONTEXT_KEY: app.node.try_get_context(ENVIRONMENTS_CONTEXT_KEY)},
        app.node.try_get_context(SELECTED_ENVIRONMENT_CONTEXT_KEY),
    )
    stacks: list[Stack] = []
    for config in environments:
        stacks.extend(build_environment(app, config))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


def build_environment(app: App, config: EnvironmentConfig) -> tuple[ReplicaStack, StorageStack]:
    replica = ReplicaStack(app, config=config)
    primary = StorageStack(app, config=config)
    # The replication destination must exist before the source's configuration is created.
    primary.add_stack_dependency(replica, "replication destination must exist first")
    # Resource tags in the templates too: with @aws-cdk/core:explicitStackTags, Tags.of()
    # no longer tags the stacks themselves (their props above do).
    for stack in (replica, primary):
        for key, value in config.tags.items():
            Tags.of(stack).add(key, value)
    return replica, primary
