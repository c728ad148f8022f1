"""Provision one environment's synthesized stacks into a running moto server.

The templates in ``cdk.out`` are the single source of truth: every bucket is created in
its stack's region and every property the template declares is applied through the S3
API (moto's own CloudFormation support ignores most bucket properties). KMS keys and
aliases, IAM roles (trust policy + inline policies), bucket policies, and the upload
pipeline's SQS queues (attributes, redrive policy, queue policy) are created too; the data
bucket's ``NotificationConfiguration`` then makes moto's S3 announce uploads under
``temp/`` on the upload queue.

What is not in the emulator is reported, never silently dropped: declared properties moto
cannot hold (request metrics; bucket policies by default, see ``provision_environment``)
are in ``ProvisionedEnvironment.skipped``, resources outside storage (SNS, CloudWatch) in
``ProvisionedEnvironment.not_provisioned``. A property or key the mapping does not know
fails with :class:`UnsupportedPropertyError` before the first request.

Idempotent: provisioning again re-applies the template, including removing bucket
configuration and inline role policies the template no longer declares.

Modules: ``results`` (what was provisioned or left out), ``buckets`` (the bucket settings
table), ``keys`` (KMS), ``roles`` (IAM), ``queues`` (SQS) and ``orchestration``
(``provision_environment``).
"""

from __future__ import annotations

from wearit_local.provision.orchestration import provision_environment
from wearit_local.provision.results import (
    NotProvisioned,
    ProvisionedBucket,
    ProvisionedEnvironment,
    ProvisionedKey,
    ProvisionedRole,
    ProvisionedStack,
    SkippedProperty,
)

__all__ = [
    "NotProvisioned",
    "ProvisionedBucket",
    "ProvisionedEnvironment",
    "ProvisionedKey",
    "ProvisionedRole",
    "ProvisionedStack",
    "SkippedProperty",
    "provision_environment",
]
