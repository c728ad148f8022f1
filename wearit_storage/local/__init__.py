"""The WearIT storage layer on one machine: moto, provisioned from the synthesized stacks.

Typical use (the CLI's ``local up`` and the demo do exactly this)::

    from pathlib import Path
    from wearit_storage.local import provision_environment, running_moto_server

    with running_moto_server() as endpoint:
        env = provision_environment(Path("cdk.out"), "dev", s3_endpoint=endpoint)
        print(env.environment_variables())
"""

from __future__ import annotations

from wearit_storage.local.intrinsics import (
    SUPPORTED_INTRINSICS,
    IntrinsicResolver,
    PseudoParameters,
    UnresolvableReferenceError,
    UnsupportedIntrinsicError,
)
from wearit_storage.local.provision import (
    LocalCredentials,
    NotProvisioned,
    ProvisionedBucket,
    ProvisionedEnvironment,
    ProvisionedKey,
    ProvisionedRole,
    ProvisionedStack,
    SkippedProperty,
    provision_environment,
)
from wearit_storage.local.s3_mapping import UnsupportedPropertyError
from wearit_storage.local.server import (
    MotoServerProcess,
    enforce_iam,
    free_port,
    running_moto_server,
    wait_until_ready,
)
from wearit_storage.local.template import (
    StackTemplate,
    TemplateError,
    load_environment,
    load_stack,
)

__all__ = [
    "SUPPORTED_INTRINSICS",
    "IntrinsicResolver",
    "LocalCredentials",
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
    "enforce_iam",
    "free_port",
    "load_environment",
    "load_stack",
    "provision_environment",
    "running_moto_server",
    "wait_until_ready",
]
