"""Provision one environment's synthesized stacks into a running moto server.

The templates in ``cdk.out`` are the single source of truth: every bucket is created in
its stack's region and every property the template declares is applied through the S3
API (moto's own CloudFormation support ignores most bucket properties). KMS keys and
aliases, IAM roles (trust policy + inline policies) and bucket policies are created too.

What is not in the emulator is reported, never silently dropped: declared properties moto
cannot hold (request metrics; bucket policies by default, see ``provision_environment``)
are in ``ProvisionedEnvironment.skipped``, resources outside storage (SNS, CloudWatch) in
``ProvisionedEnvironment.not_provisioned``. A property or key the mapping does not know
fails with :class:`UnsupportedPropertyError` before the first request.

Idempotent: provisioning again re-applies the template, including removing bucket
configuration and inline role policies the template no longer declares.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from wearit_storage.local import s3_mapping
from wearit_storage.local.intrinsics import (
    IntrinsicResolver,
    PhysicalResource,
    PseudoParameters,
    UnresolvableReferenceError,
)
from wearit_storage.local.s3_mapping import UnsupportedPropertyError
from wearit_storage.local.template import StackTemplate, TemplateError, load_environment

BUCKET = "AWS::S3::Bucket"
BUCKET_POLICY = "AWS::S3::BucketPolicy"
ROLE = "AWS::IAM::Role"
KMS_KEY = "AWS::KMS::Key"
KMS_ALIAS = "AWS::KMS::Alias"
PROVISIONED_TYPES = frozenset({BUCKET, BUCKET_POLICY, ROLE, KMS_KEY, KMS_ALIAS})

# Outputs of the primary stack (cdk/stacks/storage_stack.py) that name what the SDK uses.
OUTPUT_BUCKET = "BucketName"
OUTPUT_REPLICA_BUCKET = "ReplicaBucketName"
OUTPUT_ACCESS_LOG_BUCKET = "AccessLogBucketName"
OUTPUT_API_ROLE = "ApiRoleArn"
OUTPUT_TRYON_WORKER_ROLE = "TryOnWorkerRoleArn"
OUTPUT_REPLICATION_ROLE = "ReplicationRoleArn"

# Declared bucket properties moto 5.2 has no API for: it answers the request with 200 and
# keeps nothing. They are recorded in ``ProvisionedEnvironment.skipped`` rather than sent.
EMULATOR_CANNOT_HOLD = {
    "MetricsConfigurations": "moto has no PutBucketMetricsConfiguration (request metrics "
    "are asserted in tests/cdk/test_buckets.py instead)",
}

POLICY_NOT_HELD = (
    "applied to configure logging, then removed: moto ignores its TLS conditions and would "
    "deny every object request (provision with hold_bucket_policies=True to keep it)"
)

# Marks KMS keys with the resource they implement: keys have no name to find them by on a
# second run. (Tag keys starting with "aws:" are reserved, hence the own namespace.)
KEY_RESOURCE_TAG = "wearit:local:resource"

_BUCKET_PROPERTIES = frozenset(
    {
        "BucketName",
        "VersioningConfiguration",
        "LifecycleConfiguration",
        "CorsConfiguration",
        "BucketEncryption",
        "PublicAccessBlockConfiguration",
        "OwnershipControls",
        "LoggingConfiguration",
        "ReplicationConfiguration",
        "Tags",
        "MetricsConfigurations",
    }
)
_ROLE_PROPERTIES = frozenset(
    {
        "RoleName",
        "AssumeRolePolicyDocument",
        "Description",
        "MaxSessionDuration",
        "Path",
        "Policies",
        "Tags",
    }
)
_KEY_PROPERTIES = frozenset(
    {"Description", "EnableKeyRotation", "KeyPolicy", "Tags", "KeySpec", "KeyUsage", "Enabled"}
)


@dataclass(frozen=True)
class LocalCredentials:
    """Credentials for the emulator; moto accepts any until IAM enforcement is switched on."""

    access_key_id: str = "testing"
    secret_access_key: str = "testing"  # noqa: S105 (moto's documented dummy value)
    session_token: str | None = None


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
    def not_provisioned(self) -> tuple[NotProvisioned, ...]:
        return tuple(item for stack in self.stacks for item in stack.not_provisioned)

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
            "AWS_BUCKET_NAME": self.data_bucket,
            "WEARIT_REPLICA_BUCKET_NAME": self.replica_bucket,
            "WEARIT_REPLICA_REGION_NAME": self.replica_region,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
        }


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
        _StackProvisioner(stack, clients, account_id, hold_bucket_policies).run()
        for stack in stacks
    )
    return _describe(env, s3_endpoint, account_id, provisioned, credentials)


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
        stacks=stacks,
        credentials=credentials,
    )


class _Clients:
    """One boto3 client per (service, region), all pointed at the emulator."""

    def __init__(self, endpoint: str, credentials: LocalCredentials) -> None:
        self._endpoint = endpoint
        self._session = boto3.session.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )
        self._config = Config(retries={"max_attempts": 3, "mode": "standard"})
        self._cache: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        if (service, region) not in self._cache:
            self._cache[(service, region)] = self._session.client(
                service, region_name=region, endpoint_url=self._endpoint, config=self._config
            )
        return self._cache[(service, region)]


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _ignore_missing(call: Callable[[], object], *codes: str) -> None:
    """Run a delete call; the configuration being absent already is success."""
    try:
        call()
    except ClientError as exc:
        if _error_code(exc) not in codes:
            raise


@dataclass(frozen=True)
class _Setting:
    """One bucket property: how to put it through the S3 API, and how to remove it."""

    prop: str  # the CloudFormation property
    put: str  # boto3 method, e.g. put_bucket_cors
    argument: str  # its request argument
    convert: Callable[[Any], Any]  # CloudFormation shape -> API shape
    delete: str
    missing_code: str  # what the delete answers when there is nothing to delete


_BUCKET_SETTINGS: tuple[_Setting, ...] = (
    _Setting(
        "OwnershipControls",
        "put_bucket_ownership_controls",
        "OwnershipControls",
        s3_mapping.ownership_controls,
        "delete_bucket_ownership_controls",
        "OwnershipControlsNotFoundError",
    ),
    _Setting(
        "PublicAccessBlockConfiguration",
        "put_public_access_block",
        "PublicAccessBlockConfiguration",
        s3_mapping.public_access_block,
        "delete_public_access_block",
        "NoSuchPublicAccessBlockConfiguration",
    ),
    _Setting(
        "BucketEncryption",
        "put_bucket_encryption",
        "ServerSideEncryptionConfiguration",
        s3_mapping.encryption_configuration,
        "delete_bucket_encryption",
        "ServerSideEncryptionConfigurationNotFoundError",
    ),
    _Setting(
        "LifecycleConfiguration",
        "put_bucket_lifecycle_configuration",
        "LifecycleConfiguration",
        s3_mapping.lifecycle_configuration,
        "delete_bucket_lifecycle",
        "NoSuchLifecycleConfiguration",
    ),
    _Setting(
        "CorsConfiguration",
        "put_bucket_cors",
        "CORSConfiguration",
        s3_mapping.cors_configuration,
        "delete_bucket_cors",
        "NoSuchCORSConfiguration",
    ),
    _Setting(
        "Tags",
        "put_bucket_tagging",
        "Tagging",
        s3_mapping.tagging,
        "delete_bucket_tagging",
        "NoSuchTagSet",
    ),
)
_REPLICATION = _Setting(
    "ReplicationConfiguration",
    "put_bucket_replication",
    "ReplicationConfiguration",
    s3_mapping.replication_configuration,
    "delete_bucket_replication",
    "ReplicationConfigurationNotFoundError",
)


class _StackProvisioner:
    def __init__(
        self, stack: StackTemplate, clients: _Clients, account_id: str, hold_policies: bool
    ) -> None:
        self.stack = stack
        self.hold_policies = hold_policies
        self.region = stack.region
        self.s3 = clients("s3", stack.region)
        self.iam = clients("iam", stack.region)
        self.kms = clients("kms", stack.region)
        self.skipped: list[SkippedProperty] = []
        self.resolver = IntrinsicResolver(
            stack.resources,
            PseudoParameters(account_id=account_id, region=stack.region, stack_name=stack.name),
        )

    def run(self) -> ProvisionedStack:
        self._check_properties()
        created_keys = [self._key(lid) for lid in self.stack.resources_of_type(KMS_KEY)]
        aliases = [self._alias(lid) for lid in self.stack.resources_of_type(KMS_ALIAS)]
        keys = [
            replace(
                key,
                aliases=tuple(name for name, target in aliases if target in (key.arn, key.key_id)),
            )
            for key in created_keys
        ]
        roles = [self._role(lid) for lid in self.stack.resources_of_type(ROLE)]
        buckets = {
            lid: self._bucket(lid, self._resolved(lid))
            for lid in self.stack.resources_of_type(BUCKET)
        }
        policies = [self._resolved(lid) for lid in self.stack.resources_of_type(BUCKET_POLICY)]
        for policy in policies:
            self._bucket_policy(policy)
        # Logging needs the target's policy (moto checks it) and replication needs the
        # destination and the role: both come after everything else exists.
        for lid, bucket in buckets.items():
            self._logging(bucket, self._resolved(lid))
            self._replication(bucket, self._resolved(lid))
        if not self.hold_policies:
            for policy in policies:
                self.s3.delete_bucket_policy(Bucket=str(policy["Bucket"]))
                self.skipped.append(
                    SkippedProperty(str(policy["Bucket"]), BUCKET_POLICY, POLICY_NOT_HELD)
                )
        return ProvisionedStack(
            name=self.stack.name,
            region=self.region,
            buckets=tuple(buckets.values()),
            roles=tuple(roles),
            keys=tuple(keys),
            outputs=self._outputs(),
            skipped=tuple(self.skipped),
            not_provisioned=tuple(
                NotProvisioned(
                    self.stack.name,
                    lid,
                    str(res.get("Type")),
                    "not emulated locally (monitoring and other non-storage resources)",
                )
                for lid, res in self.stack.resources.items()
                if res.get("Type") not in PROVISIONED_TYPES
            ),
        )

    def _check_properties(self) -> None:
        """Fail before the first request if the template declares something unmapped."""
        allowed = {BUCKET: _BUCKET_PROPERTIES, ROLE: _ROLE_PROPERTIES, KMS_KEY: _KEY_PROPERTIES}
        for cfn_type, known in allowed.items():
            for lid, resource in self.stack.resources_of_type(cfn_type).items():
                unknown = sorted(set(resource.get("Properties", {})) - known)
                if unknown:
                    raise UnsupportedPropertyError(
                        f"{self.stack.name}/{lid} ({cfn_type}) declares {unknown[0]}, which "
                        "wearit_storage.local.provision does not apply"
                    )

    def _resolved(self, logical_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.resolver.resolve(
            dict(self.stack.properties(logical_id)), resource=f"{self.stack.name}/{logical_id}"
        )
        return properties

    # KMS ------------------------------------------------------------------------------

    def _key(self, logical_id: str) -> ProvisionedKey:
        props = self._resolved(logical_id)
        marker = f"{self.stack.name}/{logical_id}"
        tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
        tags.append({"TagKey": KEY_RESOURCE_TAG, "TagValue": marker})
        key_id = self._find_key(marker)
        if key_id is None:
            request: dict[str, Any] = {
                "Description": props.get("Description", ""),
                "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
                "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
                "Tags": tags,
            }
            if "KeyPolicy" in props:
                request["Policy"] = json.dumps(props["KeyPolicy"])
            metadata = self.kms.create_key(**request)["KeyMetadata"]
            key_id = str(metadata["KeyId"])
        else:
            self.kms.update_key_description(KeyId=key_id, Description=props.get("Description", ""))
            if "KeyPolicy" in props:
                self.kms.put_key_policy(
                    KeyId=key_id, PolicyName="default", Policy=json.dumps(props["KeyPolicy"])
                )
            self.kms.tag_resource(KeyId=key_id, Tags=tags)
        if props.get("EnableKeyRotation"):
            self.kms.enable_key_rotation(KeyId=key_id)
        else:
            self.kms.disable_key_rotation(KeyId=key_id)
        if props.get("Enabled", True) is False:
            self.kms.disable_key(KeyId=key_id)
        arn = str(self.kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"])
        self.resolver.register(logical_id, PhysicalResource(key_id, {"Arn": arn, "KeyId": key_id}))
        return ProvisionedKey(key_id, arn, self.region, self.stack.name, logical_id)

    def _find_key(self, marker: str) -> str | None:
        for page in self.kms.get_paginator("list_keys").paginate():
            for key in page["Keys"]:
                tags = self.kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
                if {"TagKey": KEY_RESOURCE_TAG, "TagValue": marker} in tags:
                    return str(key["KeyId"])
        return None

    def _alias(self, logical_id: str) -> tuple[str, str]:
        props = self._resolved(logical_id)
        name, target = str(props["AliasName"]), str(props["TargetKeyId"])
        existing = {a["AliasName"] for a in self.kms.list_aliases()["Aliases"]}
        if name in existing:
            self.kms.update_alias(AliasName=name, TargetKeyId=target)
        else:
            self.kms.create_alias(AliasName=name, TargetKeyId=target)
        return name, target

    # IAM ------------------------------------------------------------------------------

    def _role(self, logical_id: str) -> ProvisionedRole:
        props = self._resolved(logical_id)
        name = str(props["RoleName"])
        trust = json.dumps(props["AssumeRolePolicyDocument"])
        tags = [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])]
        settings = {
            "Description": props.get("Description", ""),
            "MaxSessionDuration": int(props.get("MaxSessionDuration", 3600)),
        }
        try:
            arn = self.iam.create_role(
                RoleName=name,
                Path=props.get("Path", "/"),
                AssumeRolePolicyDocument=trust,
                Tags=tags,
                **settings,
            )["Role"]["Arn"]
        except ClientError as exc:
            if _error_code(exc) != "EntityAlreadyExists":
                raise
            arn = self.iam.get_role(RoleName=name)["Role"]["Arn"]
            self.iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
            self.iam.update_role(RoleName=name, **settings)
            if tags:
                self.iam.tag_role(RoleName=name, Tags=tags)
        declared = {p["PolicyName"]: p["PolicyDocument"] for p in props.get("Policies", [])}
        for policy_name in self.iam.list_role_policies(RoleName=name)["PolicyNames"]:
            if policy_name not in declared:
                self.iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
        for policy_name, document in declared.items():
            self.iam.put_role_policy(
                RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
            )
        self.resolver.register(logical_id, PhysicalResource(name, {"Arn": str(arn)}))
        return ProvisionedRole(name, str(arn), self.stack.name, logical_id)

    # S3 -------------------------------------------------------------------------------

    def _bucket(self, logical_id: str, props: Mapping[str, Any]) -> ProvisionedBucket:
        if "BucketName" not in props:
            raise TemplateError(
                f"{self.stack.name}/{logical_id} has no BucketName: the local environment "
                "needs deterministic bucket names"
            )
        name = str(props["BucketName"])
        self._create_bucket(name)
        # Access and encryption settings before versioning, the rules after it.
        for setting in _BUCKET_SETTINGS[:3]:
            self._apply_setting(name, props, setting)
        # A versioned bucket can only be suspended, never unversioned: nothing to undo.
        if "VersioningConfiguration" in props:
            self.s3.put_bucket_versioning(
                Bucket=name,
                VersioningConfiguration=s3_mapping.versioning_configuration(
                    props["VersioningConfiguration"]
                ),
            )
        for setting in _BUCKET_SETTINGS[3:]:
            self._apply_setting(name, props, setting)
        for prop, reason in EMULATOR_CANNOT_HOLD.items():
            if prop in props:
                self.skipped.append(SkippedProperty(name, prop, reason))
        return ProvisionedBucket(name, self.region, self.stack.name, logical_id)

    def _create_bucket(self, name: str) -> None:
        request: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":  # us-east-1 is the one region S3 rejects as a constraint
            request["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.s3.create_bucket(**request)
        except ClientError as exc:
            if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
            location = self.s3.get_bucket_location(Bucket=name).get("LocationConstraint")
            if (location or "us-east-1") != self.region:
                raise TemplateError(
                    f"bucket {name} already exists in {location or 'us-east-1'}, but stack "
                    f"{self.stack.name} declares it in {self.region}: restart the local server"
                ) from exc

    def _apply_setting(self, bucket: str, props: Mapping[str, Any], setting: _Setting) -> None:
        """Put a declared property, or remove one a previous run may have applied."""
        try:
            if setting.prop in props:
                getattr(self.s3, setting.put)(
                    Bucket=bucket, **{setting.argument: setting.convert(props[setting.prop])}
                )
            else:
                _ignore_missing(
                    lambda: getattr(self.s3, setting.delete)(Bucket=bucket), setting.missing_code
                )
        except UnsupportedPropertyError as exc:
            raise UnsupportedPropertyError(f"bucket {bucket}: {exc}") from exc

    def _bucket_policy(self, props: Mapping[str, Any]) -> None:
        self.s3.put_bucket_policy(
            Bucket=str(props["Bucket"]), Policy=s3_mapping.bucket_policy(props["PolicyDocument"])
        )

    def _logging(self, bucket: ProvisionedBucket, props: Mapping[str, Any]) -> None:
        status = (
            s3_mapping.logging_status(props["LoggingConfiguration"])
            if "LoggingConfiguration" in props
            else {}
        )
        self.s3.put_bucket_logging(Bucket=bucket.name, BucketLoggingStatus=status)

    def _replication(self, bucket: ProvisionedBucket, props: Mapping[str, Any]) -> None:
        self._apply_setting(bucket.name, props, _REPLICATION)

    def _outputs(self) -> dict[str, str]:
        """Every output that resolves locally (those naming monitoring resources do not)."""
        outputs: dict[str, str] = {}
        for name, output in self.stack.outputs.items():
            try:
                outputs[name] = str(
                    self.resolver.resolve(output["Value"], resource=f"{self.stack.name}/{name}")
                )
            except UnresolvableReferenceError:
                continue
        return outputs
