"""Cross-region replication of the data prefixes: the rules and their dedicated role.

The replica bucket lives in another region and another stack. Instead of CDK's
cross-region references (which deploy a custom resource and a Lambda function), the replica
is addressed by its deterministic name and its KMS key by its alias ARN: S3 accepts an alias
ARN as ``ReplicaKmsKeyID``, and IAM matches the key through ``kms:ResourceAliases``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.compliance import (
    acknowledge_alias_scoped_key,
    acknowledge_prefix_wildcards,
    wildcard_resources,
)
from cdk.constructs.access_roles import object_arns
from cdk.prefixes import REPLICATED_PREFIXES

# Intelligent-Tiering, not Standard-IA: IA bills every object under 128 KB as 128 KB and
# most of ours are ~10 KB thumbnails and ~90 KB images. Intelligent-Tiering keeps small
# objects at the Standard price and moves large, untouched ones to cheaper tiers by itself.
REPLICA_STORAGE_CLASS = s3.StorageClass.INTELLIGENT_TIERING
RTC_THRESHOLD = s3.ReplicationTimeValue.FIFTEEN_MINUTES


@dataclass(frozen=True)
class ReplicationTarget:
    source_bucket_name: str
    source_region: str
    source_key: kms.IKey | None
    replica_bucket_name: str
    replica_region: str
    replica_key_alias: str | None
    replication_time_control: bool


def rule_id(prefix: str) -> str:
    return f"Replicate-{prefix.rstrip('/')}"


class CrossRegionReplication(Construct):
    """Owns the replication role and produces the rules the source bucket declares."""

    def __init__(self, scope: Construct, construct_id: str, *, target: ReplicationTarget) -> None:
        super().__init__(scope, construct_id)
        self.target = target
        partition = Stack.of(self).partition
        self.source_bucket_arn = f"arn:{partition}:s3:::{target.source_bucket_name}"
        self.replica_bucket_arn = f"arn:{partition}:s3:::{target.replica_bucket_name}"
        self.replica = s3.Bucket.from_bucket_attributes(
            self,
            "ReplicaBucket",
            bucket_name=target.replica_bucket_name,
            region=target.replica_region,
        )
        self.replica_key: kms.IKey | None = None
        if target.replica_key_alias is not None:
            replica_key_alias_arn = (
                f"arn:{partition}:kms:{target.replica_region}:"
                f"{self._account()}:{target.replica_key_alias}"
            )
            self.replica_key = kms.Key.from_key_arn(self, "ReplicaKey", replica_key_alias_arn)
        policy = self._policy()
        self.role = iam.Role(
            self,
            "Role",
            role_name=f"{target.source_bucket_name}-replication",
            description="S3 cross-region replication of WearIT data prefixes",
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            inline_policies={"Replication": policy},
        )
        acknowledge_prefix_wildcards(
            self.role, [arn for arn in wildcard_resources(policy) if ":s3:::" in arn]
        )
        if target.replica_key_alias is not None:
            acknowledge_alias_scoped_key(self.role, partition, target.replica_region)

    def _account(self) -> str:
        return Stack.of(self).account

    def rules(self) -> list[s3.ReplicationRule]:
        rtc = self.target.replication_time_control
        return [
            s3.ReplicationRule(
                id=rule_id(prefix),
                # Rules with one destination still need distinct priorities.
                priority=len(REPLICATED_PREFIXES) - index,
                destination=self.replica,
                filter=s3.Filter(prefix=prefix),
                delete_marker_replication=True,
                storage_class=REPLICA_STORAGE_CLASS,
                kms_key=self.replica_key,
                sse_kms_encrypted_objects=True if self.target.source_key else None,
                replication_time_control=RTC_THRESHOLD if rtc else None,
                metrics=RTC_THRESHOLD if rtc else None,
            )
            for index, prefix in enumerate(REPLICATED_PREFIXES)
        ]

    def _policy(self) -> iam.PolicyDocument:
        statements = [
            iam.PolicyStatement(
                sid="ReadReplicationConfiguration",
                actions=["s3:GetReplicationConfiguration", "s3:ListBucket"],
                resources=[self.source_bucket_arn],
            ),
            iam.PolicyStatement(
                sid="ReadSourceVersions",
                actions=[
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                resources=object_arns(self.source_bucket_arn, REPLICATED_PREFIXES),
            ),
            iam.PolicyStatement(
                sid="WriteReplicas",
                actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                resources=object_arns(self.replica_bucket_arn, REPLICATED_PREFIXES),
            ),
        ]
        if self.target.source_key is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="DecryptSourceObjects",
                    actions=["kms:Decrypt"],
                    resources=[self.target.source_key.key_arn],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"s3.{self.target.source_region}.amazonaws.com"
                        },
                        "StringLike": {
                            "kms:EncryptionContext:aws:s3:arn": self._context_arns(
                                self.source_bucket_arn
                            )
                        },
                    },
                )
            )
        if self.target.replica_key_alias is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="EncryptReplicas",
                    actions=["kms:Encrypt", "kms:GenerateDataKey"],
                    # The replica key's id is only known in the other region; its alias is not.
                    resources=[
                        f"arn:{Stack.of(self).partition}:kms:{self.target.replica_region}:"
                        f"{self._account()}:key/*"
                    ],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"s3.{self.target.replica_region}.amazonaws.com"
                        },
                        "ForAnyValue:StringEquals": {
                            "kms:ResourceAliases": [self.target.replica_key_alias]
                        },
                        "StringLike": {
                            "kms:EncryptionContext:aws:s3:arn": self._context_arns(
                                self.replica_bucket_arn
                            )
                        },
                    },
                )
            )
        return iam.PolicyDocument(statements=statements)

    @staticmethod
    def _context_arns(bucket_arn: str) -> list[str]:
        # With S3 Bucket Keys the encryption context is the bucket ARN, without them the
        # object ARN: accept both, but only under the replicated prefixes.
        return [bucket_arn, *object_arns(bucket_arn, REPLICATED_PREFIXES)]
