"""What provisioning created in the emulator, and what it left out and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wearit_local.clients import LocalCredentials
from wearit_local.provision.queues import ProvisionedQueue

#: The eraser's second pass, locally: seconds, not the deployed 15 minutes.
LOCAL_SECOND_PASS_S = 2


@dataclass(frozen=True)
class ProvisionedBucket:
    name: str
    region: str
    stack: str
    logical_id: str


@dataclass(frozen=True)
class ProvisionedRole:
    name: str
    arn: str
    stack: str
    logical_id: str


@dataclass(frozen=True)
class ProvisionedKey:
    key_id: str
    arn: str
    region: str
    stack: str
    logical_id: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotProvisioned:
    """A template resource the local environment does not create, and why."""

    stack: str
    logical_id: str
    cfn_type: str
    reason: str
    #: The id that policies of provisioned resources were given for it (the buckets' and
    #: keys' grants to the CDN distribution), when they name it; never a real resource.
    stand_in: str | None = None
    #: The host names a distribution answers on (its Aliases): what the demo signs for.
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkippedProperty:
    """A declared bucket property the emulator cannot hold, so it was not applied."""

    bucket: str
    property: str
    reason: str


@dataclass(frozen=True)
class ProvisionedStack:
    name: str
    region: str
    buckets: tuple[ProvisionedBucket, ...]
    roles: tuple[ProvisionedRole, ...]
    keys: tuple[ProvisionedKey, ...]
    queues: tuple[ProvisionedQueue, ...]
    outputs: Mapping[str, str]
    not_provisioned: tuple[NotProvisioned, ...]
    skipped: tuple[SkippedProperty, ...]


@dataclass(frozen=True)
class ProvisionedEnvironment:
    """What now exists in the emulator, named the way the SDK and CLI need it."""

    env: str
    endpoint_url: str
    account_id: str
    region: str
    replica_region: str
    data_bucket: str
    replica_bucket: str
    access_log_bucket: str
    api_role_arn: str
    tryon_worker_role_arn: str
    replication_role_arn: str
    upload_queue_url: str
    upload_dead_letter_queue_url: str
    upload_worker_role_arn: str
    erasure_queue_url: str
    erasure_dead_letter_queue_url: str
    eraser_role_arn: str
    stacks: tuple[ProvisionedStack, ...]
    credentials: LocalCredentials = field(default_factory=LocalCredentials)

    @property
    def buckets(self) -> tuple[ProvisionedBucket, ...]:
        return tuple(bucket for stack in self.stacks for bucket in stack.buckets)

    @property
    def roles(self) -> tuple[ProvisionedRole, ...]:
        return tuple(role for stack in self.stacks for role in stack.roles)

    @property
    def keys(self) -> tuple[ProvisionedKey, ...]:
        return tuple(key for stack in self.stacks for key in stack.keys)

    @property
    def queues(self) -> tuple[ProvisionedQueue, ...]:
        return tuple(queue for stack in self.stacks for queue in stack.queues)

    @property
    def not_provisioned(self) -> tuple[NotProvisioned, ...]:
        return tuple(item for stack in self.stacks for item in stack.not_provisioned)

    @property
    def cdn_domain(self) -> str | None:
        """The image CDN's host name (not served locally: the demo prints its URLs)."""
        return next((a for item in self.not_provisioned for a in item.aliases), None)

    @property
    def skipped(self) -> tuple[SkippedProperty, ...]:
        return tuple(item for stack in self.stacks for item in stack.skipped)

    def bucket(self, name: str) -> ProvisionedBucket:
        for bucket in self.buckets:
            if bucket.name == name:
                return bucket
        raise KeyError(f"bucket {name!r} is not part of the {self.env} environment")

    def environment_variables(self) -> dict[str, str]:
        """The variables ``StorageSettings.from_env`` reads to point the SDK at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION_NAME": self.region,
            # The standard names too, so the AWS CLI and other SDKs reach the same region.
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_BUCKET_NAME": self.data_bucket,
            "WEARIT_REPLICA_BUCKET_NAME": self.replica_bucket,
            "WEARIT_REPLICA_REGION_NAME": self.replica_region,
            "WEARIT_UPLOAD_QUEUE_URL": self.upload_queue_url,
            "WEARIT_ERASURE_QUEUE_URL": self.erasure_queue_url,
            # Nothing replicates here (moto runs no replication): no late write to wait for.
            "WEARIT_ERASURE_SECOND_PASS_SECONDS": str(LOCAL_SECOND_PASS_S),
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
        }
