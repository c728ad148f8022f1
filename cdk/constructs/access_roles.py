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
    APPLICATION_PREFIXES,
    BODY,
    CLOTHING,
    ERASED_PREFIXES,
    ERASURE_REQUEST_OBJECTS,
    ERASURE_STATUS_OBJECTS,
    ERASURES,
    EXPORTS,
    PROMOTED_PREFIXES,
    REPLICATED_PREFIXES,
    SESSIONS,
    STATUS_OBJECTS,
    TEMP,
    TRYON,
)
from wearit_storage.uploads.store import UPLOAD_WORKER_WRITER, WRITER_TAG

# S3 needs these to serve SSE-KMS objects: GenerateDataKey to write, Decrypt to read and to
# complete multipart uploads.
KMS_DATA_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
#: Writing a tagged object (``x-amz-tagging``) needs PutObjectTagging; reading the tags of a
#: version (an upload's id) needs GetObjectVersionTagging; a copy of a version keeps them.
TAG_ACTIONS = ("s3:PutObjectTagging", "s3:GetObjectTagging", "s3:GetObjectVersionTagging")


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


def signing_key_statement(secret_arn: str | None) -> list[iam.PolicyStatement]:
    """Reading the CDN's private key (the roles whose URLs the app shows sign them)."""
    if secret_arn is None:
        return []
    return [
        iam.PolicyStatement(
            sid="ReadCdnSigningKey",
            actions=["secretsmanager:GetSecretValue"],
            resources=[secret_arn],
        )
    ]


def api_policy(
    access: BucketAccess, *, cdn_key_secret_arn: str | None = None
) -> iam.PolicyDocument:
    """The WearIT API: what the app's requests need, and nothing that destroys data for
    good. It decodes untrusted images in-process: a leak of its credentials must not be
    able to delete any version, or reach the replica at all.

    Objects of every category: read (versions too: a restore or an undone upload copies an
    older version back on top), write (tagged: the renditions of an upload share an upload
    id tag), hide behind a delete marker; ``temp/`` uploads it promotes itself are purged
    (transient raw bytes, never replicated). Erasure is asked for (``erasures/``: it writes
    requests, and reads the eraser's status records, which it cannot forge), not done: the
    eraser does it. It records which user each upload session belongs to (``sessions/``)."""
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="ObjectsReadWriteHide",
                actions=[
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    *TAG_ACTIONS,
                ],
                resources=object_arns(access.bucket_arn, APPLICATION_PREFIXES),
            ),
            iam.PolicyStatement(
                sid="PurgePromotedUploads",
                # temp/ only: raw uploads (GPS included) go for good once promoted.
                actions=["s3:DeleteObjectVersion"],
                resources=object_arns(access.bucket_arn, (TEMP,)),
            ),
            iam.PolicyStatement(
                sid="BindUploadSessions",
                actions=["s3:PutObject"],
                resources=object_arns(access.bucket_arn, (SESSIONS,)),
            ),
            iam.PolicyStatement(
                sid="AskForErasure",
                # Write requests only, never delete or hide one (a tombstone), never write a
                # status: a leaked credential could otherwise report an erasure done.
                actions=["s3:PutObject"],
                resources=[f"{access.bucket_arn}/{ERASURE_REQUEST_OBJECTS}"],
            ),
            iam.PolicyStatement(
                sid="ReadErasureRequestsAndStatus",
                actions=["s3:GetObject"],
                resources=object_arns(access.bucket_arn, (ERASURES,)),
            ),
            list_statement("ListOwnPrefixes", access.bucket_arn, (*APPLICATION_PREFIXES, ERASURES)),
            *kms_statement("UseBucketKey", access),
            *signing_key_statement(cdn_key_secret_arn),
        ]
    )


def tryon_worker_policy(
    access: BucketAccess, *, cdn_key_secret_arn: str | None = None
) -> iam.PolicyDocument:
    """The VTO workers: read body and clothing photos, write try-on results and read them
    back (the URL ``upload_tryon_result`` returns must work), see whether the result's user
    asked for erasure (before it writes). A failed write is undone by copying the previous
    result back (tags and versions of ``tryon/`` only). Nothing else."""
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="ReadInputs",
                actions=["s3:GetObject"],
                resources=object_arns(access.bucket_arn, (BODY, CLOTHING)),
            ),
            iam.PolicyStatement(
                sid="WriteResults",
                # AbortMultipartUpload lets a failed large upload clean up after itself;
                # versions, tags and delete markers let a failed one be superseded.
                actions=[
                    "s3:PutObject",
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    *TAG_ACTIONS,
                ],
                resources=object_arns(access.bucket_arn, (TRYON,)),
            ),
            # The erasure request of the result's user (one key, the tombstone), listed:
            # a missing key answers 404 only to a role that may list it.
            list_statement(
                "ListResultsAndErasures", access.bucket_arn, (TRYON, ERASURE_REQUEST_OBJECTS)
            ),
            *kms_statement("UseBucketKey", access),
            *signing_key_statement(cdn_key_secret_arn),
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
    adds (writing its own logs).

    They decode hostile files, so they read no user's photos and delete no version of
    one: every rendition they write carries their writer tag (``s3:RequestObjectTag``:
    none without it), and their undo of a half-written upload hides its renditions behind
    delete markers, finding them by their tags, never their bytes. No tag condition could
    confine a version delete: S3 evaluates ``s3:ExistingObjectTag`` for no delete (S3
    User Guide, "Tagging and access control policies"), and a role that tags its writes
    may tag any current version."""
    tagged = {"StringEquals": {f"s3:RequestObjectTag/{WRITER_TAG}": UPLOAD_WORKER_WRITER}}
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
                sid="WriteOwnRenditions",
                actions=["s3:PutObject", "s3:PutObjectTagging"],
                resources=object_arns(access.bucket_arn, PROMOTED_PREFIXES),
                conditions=tagged,
            ),
            iam.PolicyStatement(
                sid="AbortOwnMultipartUploads",
                actions=["s3:AbortMultipartUpload"],
                resources=object_arns(access.bucket_arn, PROMOTED_PREFIXES),
            ),
            iam.PolicyStatement(
                sid="FindOwnVersions",
                # The tags of a version (its upload id), never its bytes.
                actions=["s3:GetObjectVersionTagging"],
                resources=object_arns(access.bucket_arn, PROMOTED_PREFIXES),
            ),
            iam.PolicyStatement(
                sid="HideFailedRenditions",
                # A delete marker: every version stays in the key's history.
                actions=["s3:DeleteObject"],
                resources=object_arns(access.bucket_arn, PROMOTED_PREFIXES),
            ),
            list_statement(
                # Whether the upload's user asked for erasure: their request's key alone.
                "ListUploadsRenditionsAndErasures",
                access.bucket_arn,
                (TEMP, *PROMOTED_PREFIXES, ERASURE_REQUEST_OBJECTS),
            ),
            *kms_statement("UseBucketKey", access),
            *queue_kms_statement(access),
            *extra,
        ]
    )


def eraser_policy(
    access: BucketAccess,
    queue_arn: str,
    extra: Sequence[iam.PolicyStatement] = (),
    *,
    distribution_arn: str | None = None,
) -> iam.PolicyDocument:
    """The eraser: the one role that deletes versions of user data, in both buckets. It
    decodes nothing and reads no photo: it lists, deletes, aborts unfinished uploads,
    reads the erasure requests and bindings it acts on, records its progress and schedules
    its second pass on its own queue; with the CDN, it alone invalidates the erased users'
    paths at the edges (``distribution_arn``)."""
    erased = (*ERASED_PREFIXES, TEMP)
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="ConsumeErasureQueue",
                # SendMessage: the delayed second pass, on this queue only.
                actions=[
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                    "sqs:SendMessage",
                ],
                resources=[queue_arn],
            ),
            iam.PolicyStatement(
                sid="EraseEveryVersion",
                actions=[
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                    "s3:AbortMultipartUpload",
                ],
                resources=object_arns(access.bucket_arn, erased),
            ),
            list_statement("ListErased", access.bucket_arn, (*erased, ERASURES)),
            iam.PolicyStatement(
                sid="FindUnfinishedUploads",
                actions=["s3:ListBucketMultipartUploads"],
                resources=[access.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="ReadRequestsAndRecordProgress",
                actions=["s3:GetObject"],
                resources=object_arns(access.bucket_arn, (ERASURES,)),
            ),
            iam.PolicyStatement(
                sid="RecordProgress",
                actions=["s3:PutObject"],
                resources=[f"{access.bucket_arn}/{ERASURE_STATUS_OBJECTS}"],
            ),
            iam.PolicyStatement(
                sid="EraseReplica",
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=object_arns(access.replica_bucket_arn, REPLICATED_PREFIXES),
            ),
            list_statement("ListReplica", access.replica_bucket_arn, REPLICATED_PREFIXES),
            *kms_statement("UseBucketKey", access),
            *queue_kms_statement(access, send=True),
            *(
                []
                if distribution_arn is None
                else [
                    iam.PolicyStatement(
                        sid="InvalidateErasedUsers",
                        actions=["cloudfront:CreateInvalidation"],
                        resources=[distribution_arn],
                    )
                ]
            ),
            *extra,
        ]
    )


def queue_kms_statement(access: BucketAccess, *, send: bool = False) -> list[iam.PolicyStatement]:
    """Reading a KMS-encrypted queue decrypts its messages with the queue's key, via SQS;
    sending to it (``send``) encrypts them with it."""
    if access.kms_key_arn is None:
        return []
    return [
        iam.PolicyStatement(
            sid="UseQueueKey" if send else "DecryptUploadEvents",
            actions=["kms:Decrypt", "kms:GenerateDataKey"] if send else ["kms:Decrypt"],
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
