"""Least-privilege IAM roles, one per component that touches the data bucket.

The policy documents are pure functions of ``BucketAccess``: what each component may do is
written in one place. Every object permission is scoped to key prefixes; listing is scoped
with an ``s3:prefix`` condition; KMS use is scoped to the bucket's own key and to calls S3
makes on the caller's behalf.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk.compliance import acknowledge_prefix_wildcards, wildcard_resources
from cdk.prefixes import (
    ALL_PREFIXES,
    BODY,
    CLOTHING,
    ERASURES,
    EXPORTS,
    PROMOTED_PREFIXES,
    REPLICATED_PREFIXES,
    STATUS_OBJECTS,
    TEMP,
    TRYON,
)

# S3 needs these to serve SSE-KMS objects: GenerateDataKey to write, Decrypt to read and to
# complete multipart uploads.
KMS_DATA_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class BucketAccess:
    """What the roles need to know about the buckets they work on."""

    bucket_arn: str
    replica_bucket_arn: str
    region: str
    kms_key_arn: str | None


def object_arns(bucket_arn: str, prefixes: Iterable[str]) -> list[str]:
    return [f"{bucket_arn}/{prefix}*" for prefix in prefixes]


def list_statement(sid: str, bucket_arn: str, prefixes: Sequence[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid=sid,
        actions=["s3:ListBucket", "s3:ListBucketVersions"],
        resources=[bucket_arn],
        conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}},
    )


def kms_statement(sid: str, access: BucketAccess) -> list[iam.PolicyStatement]:
    if access.kms_key_arn is None:
        return []
    return [
        iam.PolicyStatement(
            sid=sid,
            actions=list(KMS_DATA_ACTIONS),
            resources=[access.kms_key_arn],
            # Only through S3 in the bucket's region: the role cannot use the key directly.
            conditions={"StringEquals": {"kms:ViaService": f"s3.{access.region}.amazonaws.com"}},
        )
    ]


def api_policy(access: BucketAccess) -> iam.PolicyDocument:
    """The WearIT API: full object lifecycle on every category, erasure on the replica."""
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="ObjectsReadWriteDelete",
                actions=[
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    # Erasure must remove every version, not only add a delete marker.
                    "s3:DeleteObjectVersion",
                    "s3:AbortMultipartUpload",
                ],
                resources=object_arns(access.bucket_arn, ALL_PREFIXES),
            ),
            list_statement("ListOwnPrefixes", access.bucket_arn, ALL_PREFIXES),
            iam.PolicyStatement(
                sid="FindUnfinishedUploads",
                # Erasure aborts a user's unfinished uploads: their parts are stored data.
                # S3 offers no prefix condition for this listing; it shows keys, not data.
                actions=["s3:ListBucketMultipartUploads"],
                resources=[access.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="ReplicaErasure",
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=object_arns(access.replica_bucket_arn, REPLICATED_PREFIXES),
            ),
            list_statement("ListReplicaPrefixes", access.replica_bucket_arn, REPLICATED_PREFIXES),
            *kms_statement("UseBucketKey", access),
        ]
    )


def tryon_worker_policy(access: BucketAccess) -> iam.PolicyDocument:
    """The VTO workers: read body and clothing photos, write try-on results. Nothing else."""
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="ReadInputs",
                actions=["s3:GetObject"],
                resources=object_arns(access.bucket_arn, (BODY, CLOTHING)),
            ),
            iam.PolicyStatement(
                sid="WriteResults",
                # AbortMultipartUpload lets a failed large upload clean up after itself.
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=object_arns(access.bucket_arn, (TRYON,)),
            ),
            *kms_statement("UseBucketKey", access),
        ]
    )


def exports_only_for(api_role_arn: str, bucket_arn: str) -> iam.PolicyStatement:
    """Bucket-policy statement: nobody but the API role reads or writes ``exports/``.

    An export is a copy of everything a user owns; identity policies alone would let any
    principal of the account with a broad S3 grant (an admin, a CI role) read it. Deleting
    stays open to them: removing an archive can only reduce what is exposed. The role is
    matched by ``aws:PrincipalArn``, which is the role's ARN for its sessions, and so for
    the URLs they presign.
    """
    return iam.PolicyStatement(
        sid="ExportsOnlyForTheApiRole",
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=["s3:GetObject*", "s3:PutObject*"],
        resources=[f"{bucket_arn}/{EXPORTS}*"],
        conditions={"ArnNotEquals": {"aws:PrincipalArn": api_role_arn}},
    )


def upload_worker_policy(
    access: BucketAccess, queue_arn: str, extra: Sequence[iam.PolicyStatement] = ()
) -> iam.PolicyDocument:
    """The upload workers: consume the upload queue, read and delete ``temp/`` uploads,
    record each session's outcome, write renditions into the categories they promote to,
    see whether a user asked for erasure. ``extra``: what running as a Lambda function
    adds (writing its own logs)."""
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="ConsumeUploadQueue",
                # GetQueueAttributes: what Lambda's event source mapping reads of the queue.
                actions=[
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                ],
                resources=[queue_arn],
            ),
            iam.PolicyStatement(
                sid="ReadAndDeleteUploads",
                # Versions: the worker reads and deletes exactly the version S3 announced.
                actions=[
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                ],
                resources=object_arns(access.bucket_arn, (TEMP,)),
            ),
            iam.PolicyStatement(
                sid="RecordUploadStatus",
                actions=["s3:PutObject"],
                resources=[f"{access.bucket_arn}/{STATUS_OBJECTS}"],
            ),
            iam.PolicyStatement(
                sid="WriteRenditions",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=object_arns(access.bucket_arn, PROMOTED_PREFIXES),
            ),
            iam.PolicyStatement(
                sid="RollBackOwnRenditions",
                # A half-written pair is rolled back by deleting the versions this upload
                # wrote (found by their upload id in the metadata): all-or-nothing needs it.
                actions=["s3:GetObjectVersion", "s3:DeleteObjectVersion"],
                resources=object_arns(access.bucket_arn, PROMOTED_PREFIXES),
            ),
            list_statement(
                # erasures/: whether the upload's user asked for erasure (the tombstone).
                "ListUploadsRenditionsAndErasures",
                access.bucket_arn,
                (TEMP, *PROMOTED_PREFIXES, ERASURES),
            ),
            *kms_statement("UseBucketKey", access),
            *queue_kms_statement(access),
            *extra,
        ]
    )


def queue_kms_statement(access: BucketAccess) -> list[iam.PolicyStatement]:
    """Reading a KMS-encrypted queue decrypts its messages with the queue's key, via SQS."""
    if access.kms_key_arn is None:
        return []
    return [
        iam.PolicyStatement(
            sid="DecryptUploadEvents",
            actions=["kms:Decrypt"],
            resources=[access.kms_key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"sqs.{access.region}.amazonaws.com"}},
        )
    ]


class ApplicationRole(Construct):
    """One role, one inline policy, assumable by one trusted principal."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        description: str,
        trusted_principal: iam.IPrincipal,
        policy: iam.PolicyDocument,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description=description,
            assumed_by=trusted_principal,
            max_session_duration=Duration.hours(1),
            inline_policies={"StorageAccess": policy},
        )
        acknowledge_prefix_wildcards(self.role, wildcard_resources(policy))
