"""cdk-nag acknowledgements: each names one exact finding and a reason specific to it.

cdk-nag 3 reports each wildcard resource of AwsSolutions-IAM5 as its own finding, so an
acknowledgement cannot hide a wildcard added later: a new one fails ``cdk synth``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from constructs import IConstruct

if TYPE_CHECKING:
    from cdk.constructs.worker_function import QueueWorkerFunction

NAG_PACK = "AwsSolutions"


def finding_id(rule: str, detail: str = "") -> str:
    suffix = f"[{detail}]" if detail else ""
    return f"{NAG_PACK}::{NAG_PACK}-{rule}{suffix}"


def wildcard_resources(document: iam.PolicyDocument) -> list[str]:
    """The literal resources of a policy that end in a wildcard, in statement order."""
    found: list[str] = []
    for statement in document.to_json().get("Statement", []):
        resources = statement.get("Resource", [])
        for resource in [resources] if isinstance(resources, str) else resources:
            # A resource with a token (an account id left to deployment) is acknowledged
            # where it is made, as cdk-nag prints it.
            literal = isinstance(resource, str) and not Token.is_unresolved(resource)
            if literal and resource.endswith("*") and resource not in found:
                found.append(resource)
    return found


def acknowledge_prefix_wildcards(role: iam.Role, object_resources: Iterable[str]) -> None:
    """IAM5 on ``arn:...:bucket/<prefix>/*``: keys below a prefix are created at run time."""
    Validations.of(role).acknowledge(
        *(
            Acknowledgment(
                id=finding_id("IAM5", f"Resource::{resource}"),
                reason=(
                    f"Scoped to one key prefix ({resource.split(':::', 1)[-1]}): object keys "
                    "below it are per-user and per-item ids created at run time and cannot be "
                    "listed in a policy."
                ),
            )
            for resource in object_resources
        )
    )


def acknowledge_alias_scoped_key(role: iam.Role, partition: str, region: str) -> None:
    """IAM5 on ``arn:...:kms:<replica region>:<account>:key/*`` of the replication role."""
    stack = Stack.of(role)
    # cdk-nag prints the account pseudo-parameter this way when the account is not fixed.
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    Validations.of(role).acknowledge(
        Acknowledgment(
            id=finding_id("IAM5", f"Resource::arn:{partition}:kms:{region}:{account}:key/*"),
            reason=(
                "The replica key is created in another region, so its id is unknown here; the "
                "statement matches that single key through kms:ResourceAliases and is further "
                "limited by kms:ViaService and the replica bucket's encryption context."
            ),
        )
    )


def acknowledge_fixed_name_objects(role: iam.Role, resource: str, *, owners: str) -> None:
    """IAM5 on ``arn:...:bucket/<prefix>/*/<name>.json``: one file name under every owner
    (a session's status, a user's erasure request or progress)."""
    filename = resource.rsplit("/", 1)[-1]
    Validations.of(role).acknowledge(
        Acknowledgment(
            id=finding_id("IAM5", f"Resource::{resource}"),
            reason=(
                f"Only the {filename} object under each {owners}: the ids are created at "
                "run time, the file name is fixed."
            ),
        )
    )


def acknowledge_worker_function(
    worker: QueueWorkerFunction, role: iam.Role, log_group_name: str
) -> None:
    """The findings a worker function (and its role's log rights) raise, each for its exact
    reason."""
    stack = Stack.of(worker)
    # cdk-nag prints the account pseudo-parameter this way when the account is not fixed.
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    log_streams = (
        f"arn:{stack.partition}:logs:{stack.region}:{account}:log-group:{log_group_name}:*"
    )
    Validations.of(worker.function).acknowledge(
        Acknowledgment(
            id=finding_id("L1"),
            reason=(
                "Python 3.13 on purpose: the bundle is built for it (cp313 wheels of Pillow, "
                "pillow-heif and the image libraries), and the CLI worker and tests run it."
            ),
        )
    )
    Validations.of(role).acknowledge(
        Acknowledgment(
            id=finding_id("IAM5", f"Resource::{log_streams}"),
            reason=(
                "The log streams of the function's own log group: Lambda names each stream "
                "at run time, one per execution environment."
            ),
        )
    )


def rule_id(rule: str) -> str:
    """A rule that reports a whole resource (no detail in brackets)."""
    return f"{NAG_PACK}::{NAG_PACK}-{rule}"


def acknowledge_edge_distribution(distribution: IConstruct) -> None:
    """The image CDN's distribution: the three CloudFront rules it does not follow."""
    Validations.of(distribution).acknowledge(
        Acknowledgment(
            id=rule_id("CFR1"),
            reason=(
                "No geo restriction: WearIT's users are wherever the app is installed; every "
                "request needs a valid signature of ours, wherever it comes from."
            ),
        ),
        Acknowledgment(
            id=rule_id("CFR2"),
            reason=(
                "No WAF: the distribution serves only signed URLs and cookies (trusted key "
                "group), refused at the edge without a valid signature before any origin "
                "request, and only GET/HEAD of images; there is no form or API behind it."
            ),
        ),
        Acknowledgment(
            id=rule_id("CFR3"),
            reason=(
                "No CloudFront standard logs: the legacy ones need ACLs, which every bucket "
                "here disables; every origin fetch is in the buckets' S3 server access logs, "
                "and viewer-side logs would store every signed URL, a bearer credential."
            ),
        ),
    )
