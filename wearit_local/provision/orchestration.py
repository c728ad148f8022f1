"""Provision one environment: its stacks in deployment order, each resource kind in turn."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from botocore.config import Config

from wearit_local.clients import LocalCredentials, emulator_client
from wearit_local.errors import TemplateError, UnresolvableReferenceError, UnsupportedPropertyError
from wearit_local.intrinsics import IntrinsicResolver, PhysicalResource, PseudoParameters
from wearit_local.provision.buckets import (
    AFTER_ALL_RESOURCES,
    BUCKET,
    BUCKET_POLICY,
    BUCKET_PROPERTIES,
    apply_settings,
    provision_bucket,
    put_bucket_policy,
    remove_bucket_policy,
)
from wearit_local.provision.keys import (
    KEY_PROPERTIES,
    KMS_ALIAS,
    KMS_KEY,
    provision_alias,
    provision_key,
)
from wearit_local.provision.queues import (
    QUEUE,
    QUEUE_POLICY,
    QUEUE_POLICY_PROPERTIES,
    QUEUE_PROPERTIES,
    dead_letter_queues_first,
    provision_queue,
    put_queue_policy,
)
from wearit_local.provision.results import (
    NotProvisioned,
    ProvisionedEnvironment,
    ProvisionedStack,
    SkippedProperty,
)
from wearit_local.provision.roles import ROLE, ROLE_PROPERTIES, provision_role
from wearit_local.template import StackTemplate, load_environment

PROVISIONED_TYPES = frozenset(
    {BUCKET, BUCKET_POLICY, ROLE, KMS_KEY, KMS_ALIAS, QUEUE, QUEUE_POLICY}
)
# The properties each provisioned type may declare; anything else fails before any request.
KNOWN_PROPERTIES = {
    BUCKET: BUCKET_PROPERTIES,
    ROLE: ROLE_PROPERTIES,
    KMS_KEY: KEY_PROPERTIES,
    QUEUE: QUEUE_PROPERTIES,
    QUEUE_POLICY: QUEUE_POLICY_PROPERTIES,
}

# Outputs of the primary stack (cdk/stacks/storage_stack.py) that name what the SDK uses.
OUTPUT_BUCKET = "BucketName"
OUTPUT_REPLICA_BUCKET = "ReplicaBucketName"
OUTPUT_ACCESS_LOG_BUCKET = "AccessLogBucketName"
OUTPUT_API_ROLE = "ApiRoleArn"
OUTPUT_TRYON_WORKER_ROLE = "TryOnWorkerRoleArn"
OUTPUT_REPLICATION_ROLE = "ReplicationRoleArn"
OUTPUT_UPLOAD_QUEUE = "UploadQueueUrl"
OUTPUT_UPLOAD_DEAD_LETTER_QUEUE = "UploadDeadLetterQueueUrl"
OUTPUT_UPLOAD_WORKER_ROLE = "UploadWorkerRoleArn"
OUTPUT_ERASURE_QUEUE = "ErasureQueueUrl"
OUTPUT_ERASURE_DEAD_LETTER_QUEUE = "ErasureDeadLetterQueueUrl"
OUTPUT_ERASER_ROLE = "EraserRoleArn"

_RETRIES = Config(retries={"max_attempts": 3, "mode": "standard"})

#: Not emulated, but named by the policies of resources that are (the data bucket's and
#: key's grants to the image CDN): they get a stand-in id, so those policies still apply.
STAND_IN_TYPES = frozenset({"AWS::CloudFront::Distribution"})


def provision_environment(
    cdk_out: Path,
    env: str,
    *,
    s3_endpoint: str,
    credentials: LocalCredentials | None = None,
    hold_bucket_policies: bool = False,
) -> ProvisionedEnvironment:
    """Create every bucket, key and role of ``env``'s stacks in the moto server at ``s3_endpoint``.

    ``s3_endpoint`` serves every service (moto's server does): S3, IAM, KMS and STS.

    Bucket policies: moto evaluates them on every object request but treats every
    condition operator except ``StringEquals`` as satisfied, so the template's TLS-only
    ``Deny`` (``aws:SecureTransport``, ``s3:TlsVersion``) would deny *every* GET/PUT/DELETE.
    By default each policy is therefore applied only while server access logging is
    configured (moto validates the log-delivery grant against it) and then removed, and
    recorded in ``skipped``. ``hold_bucket_policies=True`` keeps them, for drift checks of
    the policies themselves; object requests then fail with 403.
    """
    credentials = credentials or LocalCredentials()
    stacks = load_environment(cdk_out, env)
    clients = _Clients(s3_endpoint, credentials)
    account_id = str(clients("sts", stacks[0].region).get_caller_identity()["Account"])
    for stack in stacks:
        # Literal ARNs in the template carry the synthesis account; they must match.
        if stack.account is not None and stack.account != account_id:
            raise TemplateError(
                f"stack {stack.name} was synthesized for account {stack.account} but the "
                f"emulator is account {account_id}: synthesize without CDK_DEFAULT_ACCOUNT "
                f"or start moto with MOTO_ACCOUNT_ID={stack.account}"
            )
    provisioned = tuple(
        _provision_stack(stack, clients, account_id, hold_bucket_policies) for stack in stacks
    )
    return _describe(env, s3_endpoint, account_id, provisioned, credentials)


class _Clients:
    """One emulator client per (service, region)."""

    def __init__(self, endpoint: str, credentials: LocalCredentials) -> None:
        self._endpoint = endpoint
        self._credentials = credentials
        self._cache: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        if (service, region) not in self._cache:
            self._cache[(service, region)] = emulator_client(
                service, self._endpoint, region, credentials=self._credentials, config=_RETRIES
            )
        return self._cache[(service, region)]


def _check_properties(stack: StackTemplate) -> None:
    """Fail before the first request if the template declares something unmapped."""
    for cfn_type, known in KNOWN_PROPERTIES.items():
        for lid, resource in stack.resources_of_type(cfn_type).items():
            unknown = sorted(set(resource.get("Properties", {})) - known)
            if unknown:
                raise UnsupportedPropertyError(
                    f"{stack.name}/{lid} ({cfn_type}) declares {unknown[0]}, which "
                    "wearit_local.provision does not apply"
                )


def _provision_stack(
    stack: StackTemplate, clients: _Clients, account_id: str, hold_policies: bool
) -> ProvisionedStack:
    _check_properties(stack)
    s3, iam, kms, sqs = (
        clients("s3", stack.region),
        clients("iam", stack.region),
        clients("kms", stack.region),
        clients("sqs", stack.region),
    )
    resolver = IntrinsicResolver(
        stack.resources,
        PseudoParameters(account_id=account_id, region=stack.region, stack_name=stack.name),
    )

    def resolved(logical_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = resolver.resolve(
            dict(stack.properties(logical_id)), resource=f"{stack.name}/{logical_id}"
        )
        return properties

    stand_ins = {
        lid: f"not-provisioned-{lid}"
        for lid in stack.resources
        if stack.resources[lid].get("Type") in STAND_IN_TYPES
    }
    for lid, stand_in in stand_ins.items():
        resolver.register(
            lid,
            PhysicalResource(stand_in, {"Id": stand_in, "DomainName": f"{stand_in}.invalid"}),
        )
    # Keys first: aliases, encryption settings and policies refer to their ARNs, which
    # only exist once the keys do.
    created_keys = []
    for lid in stack.resources_of_type(KMS_KEY):
        key = provision_key(kms, stack.name, stack.region, lid, resolved(lid))
        resolver.register(lid, PhysicalResource(key.key_id, {"Arn": key.arn, "KeyId": key.key_id}))
        created_keys.append(key)
    aliases = [provision_alias(kms, resolved(lid)) for lid in stack.resources_of_type(KMS_ALIAS)]
    keys = [
        replace(
            key, aliases=tuple(name for name, target in aliases if target in (key.arn, key.key_id))
        )
        for key in created_keys
    ]
    # Queues before roles (their policies name queue ARNs) and buckets (notifications).
    queues = []
    for lid in dead_letter_queues_first(stack.resources_of_type(QUEUE)):
        queue = provision_queue(sqs, stack.name, stack.region, lid, resolved(lid))
        resolver.register(
            lid, PhysicalResource(queue.url, {"Arn": queue.arn, "QueueName": queue.name})
        )
        queues.append(queue)
    for lid in stack.resources_of_type(QUEUE_POLICY):
        put_queue_policy(sqs, resolved(lid))
    roles = []
    for lid in stack.resources_of_type(ROLE):
        role = provision_role(iam, stack.name, lid, resolved(lid))
        resolver.register(lid, PhysicalResource(role.name, {"Arn": role.arn}))
        roles.append(role)

    buckets = []
    skipped: list[SkippedProperty] = []
    declared: dict[str, dict[str, Any]] = {}  # bucket name -> resolved properties
    for lid in stack.resources_of_type(BUCKET):
        props = resolved(lid)
        bucket, not_held = provision_bucket(s3, stack.name, stack.region, lid, props)
        buckets.append(bucket)
        skipped += not_held
        declared[bucket.name] = props
    policies = [
        put_bucket_policy(s3, resolved(lid)) for lid in stack.resources_of_type(BUCKET_POLICY)
    ]
    for name, props in declared.items():
        apply_settings(s3, name, props, AFTER_ALL_RESOURCES)
    if not hold_policies:
        skipped += [remove_bucket_policy(s3, name) for name in policies]

    return ProvisionedStack(
        name=stack.name,
        region=stack.region,
        buckets=tuple(buckets),
        roles=tuple(roles),
        keys=tuple(keys),
        queues=tuple(queues),
        outputs=_outputs(stack, resolver, set(stand_ins)),
        skipped=tuple(skipped),
        not_provisioned=tuple(
            NotProvisioned(
                stack.name,
                lid,
                str(res.get("Type")),
                _why_not(str(res.get("Type"))),
                stand_ins.get(lid),
                _aliases(res),
            )
            for lid, res in stack.resources.items()
            if res.get("Type") not in PROVISIONED_TYPES
        ),
    )


#: Resource types the local environment leaves to others, and who does their job here.
WORKER_TYPES = frozenset(
    {"AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping", "AWS::Logs::LogGroup"}
)


def _why_not(cfn_type: str) -> str:
    if cfn_type in WORKER_TYPES:
        return (
            "moto runs no Lambda function: the demo hands the queue's messages to the worker's "
            "handler as the event source mapping would, and `wearit-storage worker` polls"
        )
    return "not emulated locally (monitoring, the CDN and other non-storage resources)"


def _outputs(
    stack: StackTemplate, resolver: IntrinsicResolver, stand_ins: set[str]
) -> dict[str, str]:
    """Every output that resolves locally (those naming monitoring resources do not, nor
    those naming a stand-in: its id exists in policies only)."""
    outputs: dict[str, str] = {}
    for name, output in stack.outputs.items():
        if _referenced(output["Value"]) & stand_ins:
            continue
        try:
            outputs[name] = str(resolver.resolve(output["Value"], resource=f"{stack.name}/{name}"))
        except UnresolvableReferenceError:
            continue
    return outputs


def _aliases(resource: Mapping[str, Any]) -> tuple[str, ...]:
    config = resource.get("Properties", {}).get("DistributionConfig", {})
    return tuple(a for a in config.get("Aliases", []) if isinstance(a, str))


def _referenced(value: Any) -> set[str]:
    """The logical ids a value names with ``Ref`` or ``Fn::GetAtt``."""
    if isinstance(value, list):
        return set().union(*(_referenced(item) for item in value))
    if not isinstance(value, dict):
        return set()
    if set(value) == {"Ref"}:
        return {str(value["Ref"])}
    if set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        return {str(target.split(".")[0] if isinstance(target, str) else target[0])}
    return set().union(*(_referenced(item) for item in value.values()))


def _describe(
    env: str,
    endpoint: str,
    account_id: str,
    stacks: tuple[ProvisionedStack, ...],
    credentials: LocalCredentials,
) -> ProvisionedEnvironment:
    primary = next((s for s in stacks if OUTPUT_BUCKET in s.outputs), None)
    if primary is None:
        raise TemplateError(
            f"no stack of {env} has the output {OUTPUT_BUCKET!r} that names the data bucket"
        )

    def output(name: str) -> str:
        try:
            return primary.outputs[name]
        except KeyError:
            raise TemplateError(f"stack {primary.name} has no output {name!r}") from None

    regions = {bucket.name: bucket.region for stack in stacks for bucket in stack.buckets}
    replica_bucket = output(OUTPUT_REPLICA_BUCKET)
    if replica_bucket not in regions:
        raise TemplateError(f"replica bucket {replica_bucket} is declared by no stack of {env}")
    return ProvisionedEnvironment(
        env=env,
        endpoint_url=endpoint,
        account_id=account_id,
        region=regions[output(OUTPUT_BUCKET)],
        replica_region=regions[replica_bucket],
        data_bucket=output(OUTPUT_BUCKET),
        replica_bucket=replica_bucket,
        access_log_bucket=output(OUTPUT_ACCESS_LOG_BUCKET),
        api_role_arn=output(OUTPUT_API_ROLE),
        tryon_worker_role_arn=output(OUTPUT_TRYON_WORKER_ROLE),
        replication_role_arn=output(OUTPUT_REPLICATION_ROLE),
        upload_queue_url=output(OUTPUT_UPLOAD_QUEUE),
        upload_dead_letter_queue_url=output(OUTPUT_UPLOAD_DEAD_LETTER_QUEUE),
        upload_worker_role_arn=output(OUTPUT_UPLOAD_WORKER_ROLE),
        erasure_queue_url=output(OUTPUT_ERASURE_QUEUE),
        erasure_dead_letter_queue_url=output(OUTPUT_ERASURE_DEAD_LETTER_QUEUE),
        eraser_role_arn=output(OUTPUT_ERASER_ROLE),
        stacks=stacks,
        credentials=credentials,
    )
