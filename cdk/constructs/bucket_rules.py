"""Lifecycle and CORS rules: small pure functions from settings to CDK rule objects."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_s3 as s3

from cdk.config import RetentionSettings
from cdk.prefixes import ERASURES, EXPORTS, TEMP

CORS_MAX_AGE_SECONDS = 3000
# The mobile app reads through presigned GETs and uploads through presigned PUT/POST.
# DELETE is deliberately absent: deletions go through the API, which erases every version
# instead of leaving a recoverable delete marker.
CORS_METHODS = (
    s3.HttpMethods.GET,
    s3.HttpMethods.HEAD,
    s3.HttpMethods.PUT,
    s3.HttpMethods.POST,
)


def abort_incomplete_multipart_rule(retention: RetentionSettings) -> s3.LifecycleRule:
    """Every bucket has it: the parts of an upload never completed are stored, and billed."""
    return s3.LifecycleRule(
        id="DeleteIncompleteMultipart",
        abort_incomplete_multipart_upload_after=Duration.days(retention.incomplete_multipart_days),
    )


def data_lifecycle_rules(retention: RetentionSettings) -> list[s3.LifecycleRule]:
    """Rules of the primary bucket. An id is the rule's name in the deployed bucket
    configuration: renaming one changes the bucket."""
    return [
        s3.LifecycleRule(
            id="DeleteOldVersions",
            noncurrent_version_expiration=Duration.days(retention.noncurrent_version_days),
            # Once the last noncurrent version is gone, the delete marker is pure clutter.
            expired_object_delete_marker=True,
        ),
        abort_incomplete_multipart_rule(retention),
        s3.LifecycleRule(
            id="ExpireTempUploads",
            prefix=TEMP,
            expiration=Duration.days(retention.temp_upload_days),
            # Expiration in a versioned bucket only adds a delete marker; drop the bytes too.
            noncurrent_version_expiration=Duration.days(retention.temp_upload_days),
        ),
        s3.LifecycleRule(
            id="ExpireExports",
            prefix=EXPORTS,
            expiration=Duration.days(retention.export_days),
            # Once expired (or deleted), an archive's bytes go the next day, not after the
            # 30 days other noncurrent versions are kept: it is a copy, nothing to undo.
            noncurrent_version_expiration=Duration.days(1),
        ),
        s3.LifecycleRule(
            id="ExpireErasureRequests",
            prefix=ERASURES,
            # Long enough to refuse every late upload of an erased user (cdk/config.py
            # checks the floor); then the request itself, a user id, goes too.
            expiration=Duration.days(retention.erasure_request_days),
            noncurrent_version_expiration=Duration.days(1),
        ),
    ]


def replica_lifecycle_rules(retention: RetentionSettings) -> list[s3.LifecycleRule]:
    return [
        s3.LifecycleRule(
            id="DeleteOldReplicaVersions",
            noncurrent_version_expiration=Duration.days(retention.replica_noncurrent_version_days),
            expired_object_delete_marker=True,
        ),
        abort_incomplete_multipart_rule(retention),
    ]


def access_log_lifecycle_rules(retention: RetentionSettings) -> list[s3.LifecycleRule]:
    return [
        s3.LifecycleRule(
            id="ExpireAccessLogs",
            expiration=Duration.days(retention.access_log_days),
        ),
        abort_incomplete_multipart_rule(retention),
    ]


def cors_rules(origins: Sequence[str]) -> list[s3.CorsRule]:
    return [
        s3.CorsRule(
            id="MobileAppDirectAccess",
            allowed_origins=list(origins),
            allowed_methods=list(CORS_METHODS),
            allowed_headers=["*"],
            exposed_headers=["ETag"],
            max_age=CORS_MAX_AGE_SECONDS,
        )
    ]
