"""The WearIT storage layer on one machine: moto, provisioned from the synthesized stacks.

A developer tool, run from a checkout: it is not part of the ``wearit-storage`` wheel and
nothing in ``wearit_storage`` imports it. Commands: ``python -m wearit_local up`` and
``python -m wearit_local demo``. From Python (the demo does exactly this)::

    from pathlib import Path
    from wearit_local import provision_environment, running_moto_server

    with running_moto_server() as endpoint:
        env = provision_environment(Path("cdk.out"), "dev", s3_endpoint=endpoint)
        print(env.environment_variables())
"""

from __future__ import annotations

from wearit_local.clients import LocalCredentials, emulator_client
from wearit_local.errors import (
    LocalEnvironmentError,
    LocalSetupError,
    MotoServerError,
    TemplateError,
    UnresolvableReferenceError,
    UnsupportedIntrinsicError,
    UnsupportedPropertyError,
)
from wearit_local.intrinsics import SUPPORTED_INTRINSICS, IntrinsicResolver, PseudoParameters
from wearit_local.provision import (
    NotProvisioned,
    ProvisionedBucket,
    ProvisionedEnvironment,
    ProvisionedKey,
    ProvisionedRole,
    ProvisionedStack,
    SkippedProperty,
    provision_environment,
)
from wearit_local.server import (
    MotoServerProcess,
    enforce_iam,
    free_port,
    running_moto_server,
    wait_until_ready,
)
from wearit_local.template import StackTemplate, load_environment

__all__ = [
    "SUPPORTED_INTRINSICS",
    "IntrinsicResolver",
    "LocalCredentials",
    "LocalEnvironmentError",
    "LocalSetupError",
    "MotoServerError",
    "MotoServerProcess",
    "NotProvisioned",
    "ProvisionedBucket",
    "ProvisionedEnvironment",
    "ProvisionedKey",
    "ProvisionedRole",
    "ProvisionedStack",
    "PseudoParameters",
    "SkippedProperty",
    "StackTemplate",
    "TemplateError",
    "UnresolvableReferenceError",
    "UnsupportedIntrinsicError",
    "UnsupportedPropertyError",
    "emulator_client",
    "enforce_iam",
    "free_port",
    "load_environment",
    "provision_environment",
    "running_moto_server",
    "wait_until_ready",
]
