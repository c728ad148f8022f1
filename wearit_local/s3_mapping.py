"""Pure translations from CloudFormation ``AWS::S3::Bucket`` properties to S3 API requests.

CloudFormation and the S3 API spell the same settings differently (``Id`` vs ``ID``,
``ExpirationInDays`` vs ``Expiration.Days``, ``MaxAge`` vs ``MaxAgeSeconds``...). Each
function takes the *resolved* property (no intrinsics left) and returns the request shape
boto3 expects. A key these functions do not know raises :class:`UnsupportedPropertyError`:
dropping it silently would provision a bucket that differs from the template.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from wearit_local.errors import UnsupportedPropertyError


def _check_keys(value: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise UnsupportedPropertyError(
            f"{path}.{unknown[0]} has no S3 API mapping in wearit_local.s3_mapping"
        )


def _tags(tags: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    return [{"Key": tag["Key"], "Value": tag["Value"]} for tag in tags]


def versioning_configuration(prop: Mapping[str, Any]) -> dict[str, str]:
    """``VersioningConfiguration`` → ``put_bucket_versioning(VersioningConfiguration=...)``."""
    _check_keys(prop, {"Status"}, "VersioningConfiguration")
    return {"Status": prop["Status"]}


def lifecycle_configuration(prop: Mapping[str, Any]) -> dict[str, Any]:
    """``LifecycleConfiguration`` → ``put_bucket_lifecycle_configuration(...)``."""
    _check_keys(prop, {"Rules"}, "LifecycleConfiguration")
    return {"Rules": [lifecycle_rule(rule) for rule in prop["Rules"]]}


_LIFECYCLE_RULE_KEYS = {
    "Id",
    "Status",
    "Prefix",
    "TagFilters",
    "ObjectSizeGreaterThan",
    "ObjectSizeLessThan",
    "ExpirationInDays",
    "ExpirationDate",
    "ExpiredObjectDeleteMarker",
    "NoncurrentVersionExpiration",
    "NoncurrentVersionExpirationInDays",
    "AbortIncompleteMultipartUpload",
    "Transitions",
    "NoncurrentVersionTransitions",
}


def lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    _check_keys(rule, _LIFECYCLE_RULE_KEYS, "LifecycleConfiguration.Rules[]")
    api: dict[str, Any] = {"Status": rule["Status"], "Filter": lifecycle_filter(rule)}
    if "Id" in rule:
        api["ID"] = rule["Id"]
    expiration: dict[str, Any] = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = int(rule["ExpirationInDays"])
    if "ExpirationDate" in rule:
        expiration["Date"] = rule["ExpirationDate"]
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = bool(rule["ExpiredObjectDeleteMarker"])
    if expiration:
        api["Expiration"] = expiration
    noncurrent = _noncurrent_expiration(rule)
    if noncurrent:
        api["NoncurrentVersionExpiration"] = noncurrent
    if "AbortIncompleteMultipartUpload" in rule:
        abort = rule["AbortIncompleteMultipartUpload"]
        _check_keys(abort, {"DaysAfterInitiation"}, "AbortIncompleteMultipartUpload")
        api["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(abort["DaysAfterInitiation"])
        }
    if "Transitions" in rule:
        api["Transitions"] = [_transition(t) for t in rule["Transitions"]]
    if "NoncurrentVersionTransitions" in rule:
        api["NoncurrentVersionTransitions"] = [
            _noncurrent_transition(t) for t in rule["NoncurrentVersionTransitions"]
        ]
    return api


def lifecycle_filter(rule: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's flat ``Prefix``/``TagFilters``/size keys → the API's ``Filter``."""
    conditions: dict[str, Any] = {}
    if "Prefix" in rule:
        conditions["Prefix"] = rule["Prefix"]
    tags = _tags(rule.get("TagFilters", ()))
    for size_key in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        if size_key in rule:
            conditions[size_key] = int(rule[size_key])
    if len(conditions) + len(tags) > 1:  # several conditions must be combined with And
        return {"And": {**conditions, **({"Tags": tags} if tags else {})}}
    if tags:
        return {"Tag": tags[0]}
    # No condition at all: an empty prefix is the whole bucket.
    return conditions or {"Prefix": ""}


def _noncurrent_expiration(rule: Mapping[str, Any]) -> dict[str, int]:
    if "NoncurrentVersionExpiration" in rule:
        prop = rule["NoncurrentVersionExpiration"]
        _check_keys(
            prop, {"NoncurrentDays", "NewerNoncurrentVersions"}, "NoncurrentVersionExpiration"
        )
        return {key: int(value) for key, value in prop.items()}
    if "NoncurrentVersionExpirationInDays" in rule:
        return {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
    return {}


def _transition(prop: Mapping[str, Any]) -> dict[str, Any]:
    _check_keys(prop, {"StorageClass", "TransitionInDays", "TransitionDate"}, "Transitions[]")
    api: dict[str, Any] = {"StorageClass": prop["StorageClass"]}
    if "TransitionInDays" in prop:
        api["Days"] = int(prop["TransitionInDays"])
    if "TransitionDate" in prop:
        api["Date"] = prop["TransitionDate"]
    return api


def _noncurrent_transition(prop: Mapping[str, Any]) -> dict[str, Any]:
    _check_keys(
        prop,
        {"StorageClass", "TransitionInDays", "NewerNoncurrentVersions"},
        "NoncurrentVersionTransitions[]",
    )
    api: dict[str, Any] = {
        "StorageClass": prop["StorageClass"],
        "NoncurrentDays": int(prop["TransitionInDays"]),
    }
    if "NewerNoncurrentVersions" in prop:
        api["NewerNoncurrentVersions"] = int(prop["NewerNoncurrentVersions"])
    return api


_CORS_RULE_KEYS = {
    "Id": "ID",
    "AllowedHeaders": "AllowedHeaders",
    "AllowedMethods": "AllowedMethods",
    "AllowedOrigins": "AllowedOrigins",
    "ExposedHeaders": "ExposeHeaders",
    "MaxAge": "MaxAgeSeconds",
}


def cors_configuration(prop: Mapping[str, Any]) -> dict[str, Any]:
    """``CorsConfiguration`` → ``put_bucket_cors(CORSConfiguration=...)``."""
    _check_keys(prop, {"CorsRules"}, "CorsConfiguration")
    rules = []
    for rule in prop["CorsRules"]:
        _check_keys(rule, _CORS_RULE_KEYS, "CorsConfiguration.CorsRules[]")
        api = {_CORS_RULE_KEYS[key]: value for key, value in rule.items()}
        if "MaxAgeSeconds" in api:
            api["MaxAgeSeconds"] = int(api["MaxAgeSeconds"])
        rules.append(api)
    return {"CORSRules": rules}


def encryption_configuration(prop: Mapping[str, Any]) -> dict[str, Any]:
    """``BucketEncryption`` → ``put_bucket_encryption(ServerSideEncryptionConfiguration=...)``."""
    _check_keys(prop, {"ServerSideEncryptionConfiguration"}, "BucketEncryption")
    rules = []
    for rule in prop["ServerSideEncryptionConfiguration"]:
        path = "BucketEncryption.ServerSideEncryptionConfiguration[]"
        _check_keys(rule, {"ServerSideEncryptionByDefault", "BucketKeyEnabled"}, path)
        api: dict[str, Any] = {}
        if "ServerSideEncryptionByDefault" in rule:
            default = rule["ServerSideEncryptionByDefault"]
            _check_keys(default, {"SSEAlgorithm", "KMSMasterKeyID"}, f"{path}.ByDefault")
            api["ApplyServerSideEncryptionByDefault"] = dict(default)
        if "BucketKeyEnabled" in rule:
            api["BucketKeyEnabled"] = bool(rule["BucketKeyEnabled"])
        rules.append(api)
    return {"Rules": rules}


_PUBLIC_ACCESS_BLOCK_KEYS = (
    "BlockPublicAcls",
    "BlockPublicPolicy",
    "IgnorePublicAcls",
    "RestrictPublicBuckets",
)


def public_access_block(prop: Mapping[str, Any]) -> dict[str, bool]:
    """``PublicAccessBlockConfiguration`` → ``put_public_access_block(...)``; unset is false."""
    _check_keys(prop, _PUBLIC_ACCESS_BLOCK_KEYS, "PublicAccessBlockConfiguration")
    return {key: bool(prop.get(key, False)) for key in _PUBLIC_ACCESS_BLOCK_KEYS}


def ownership_controls(prop: Mapping[str, Any]) -> dict[str, Any]:
    """``OwnershipControls`` → ``put_bucket_ownership_controls(OwnershipControls=...)``."""
    _check_keys(prop, {"Rules"}, "OwnershipControls")
    for rule in prop["Rules"]:
        _check_keys(rule, {"ObjectOwnership"}, "OwnershipControls.Rules[]")
    return {"Rules": [{"ObjectOwnership": rule["ObjectOwnership"]} for rule in prop["Rules"]]}


def logging_status(prop: Mapping[str, Any]) -> dict[str, Any]:
    """``LoggingConfiguration`` → ``put_bucket_logging(BucketLoggingStatus=...)``."""
    _check_keys(prop, {"DestinationBucketName", "LogFilePrefix"}, "LoggingConfiguration")
    enabled = {"TargetBucket": prop["DestinationBucketName"]}
    # S3 stores an absent prefix as the empty string.
    enabled["TargetPrefix"] = prop.get("LogFilePrefix", "")
    return {"LoggingEnabled": enabled}


_REPLICATION_RULE_KEYS = {
    "Id",
    "Status",
    "Priority",
    "Prefix",
    "Filter",
    "DeleteMarkerReplication",
    "Destination",
    "SourceSelectionCriteria",
}


def replication_configuration(prop: Mapping[str, Any]) -> dict[str, Any]:
    """``ReplicationConfiguration`` → ``put_bucket_replication(ReplicationConfiguration=...)``."""
    _check_keys(prop, {"Role", "Rules"}, "ReplicationConfiguration")
    return {"Role": prop["Role"], "Rules": [replication_rule(rule) for rule in prop["Rules"]]}


def replication_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    path = "ReplicationConfiguration.Rules[]"
    _check_keys(rule, _REPLICATION_RULE_KEYS, path)
    api: dict[str, Any] = {
        "Status": rule["Status"],
        "Destination": _replication_destination(rule["Destination"]),
    }
    if "Id" in rule:
        api["ID"] = rule["Id"]
    if "Priority" in rule:
        api["Priority"] = int(rule["Priority"])
    if "Prefix" in rule:  # the legacy V1 rule shape
        api["Prefix"] = rule["Prefix"]
    if "Filter" in rule:
        api["Filter"] = _replication_filter(rule["Filter"])
    if "DeleteMarkerReplication" in rule:
        api["DeleteMarkerReplication"] = {"Status": rule["DeleteMarkerReplication"]["Status"]}
    if "SourceSelectionCriteria" in rule:
        criteria = rule["SourceSelectionCriteria"]
        keys = {"SseKmsEncryptedObjects", "ReplicaModifications"}
        _check_keys(criteria, keys, f"{path}.SourceSelectionCriteria")
        api["SourceSelectionCriteria"] = {
            key: {"Status": criteria[key]["Status"]} for key in keys if key in criteria
        }
    return api


def _replication_filter(prop: Mapping[str, Any]) -> dict[str, Any]:
    _check_keys(prop, {"Prefix", "TagFilter", "And"}, "ReplicationConfiguration.Rules[].Filter")
    api: dict[str, Any] = {}
    if "Prefix" in prop:
        api["Prefix"] = prop["Prefix"]
    if "TagFilter" in prop:
        api["Tag"] = _tags([prop["TagFilter"]])[0]
    if "And" in prop:
        conjunction = prop["And"]
        api["And"] = {
            **({"Prefix": conjunction["Prefix"]} if "Prefix" in conjunction else {}),
            **({"Tags": _tags(conjunction["TagFilters"])} if "TagFilters" in conjunction else {}),
        }
    return api


def _replication_destination(prop: Mapping[str, Any]) -> dict[str, Any]:
    path = "ReplicationConfiguration.Rules[].Destination"
    _check_keys(
        prop,
        {
            "Bucket",
            "StorageClass",
            "Account",
            "AccessControlTranslation",
            "EncryptionConfiguration",
            "Metrics",
            "ReplicationTime",
        },
        path,
    )
    api: dict[str, Any] = {"Bucket": prop["Bucket"]}
    for key in ("StorageClass", "Account"):
        if key in prop:
            api[key] = prop[key]
    if "AccessControlTranslation" in prop:
        api["AccessControlTranslation"] = {"Owner": prop["AccessControlTranslation"]["Owner"]}
    if "EncryptionConfiguration" in prop:
        replica_key = prop["EncryptionConfiguration"]["ReplicaKmsKeyID"]
        api["EncryptionConfiguration"] = {"ReplicaKmsKeyID": replica_key}
    if "Metrics" in prop:
        metrics: dict[str, Any] = {"Status": prop["Metrics"]["Status"]}
        if "EventThreshold" in prop["Metrics"]:
            metrics["EventThreshold"] = {
                "Minutes": int(prop["Metrics"]["EventThreshold"]["Minutes"])
            }
        api["Metrics"] = metrics
    if "ReplicationTime" in prop:
        api["ReplicationTime"] = {
            "Status": prop["ReplicationTime"]["Status"],
            "Time": {"Minutes": int(prop["ReplicationTime"]["Time"]["Minutes"])},
        }
    return api


def tagging(tags: Iterable[Mapping[str, str]]) -> dict[str, list[dict[str, str]]]:
    """``Tags`` → ``put_bucket_tagging(Tagging=...)``."""
    return {"TagSet": _tags(tags)}


def bucket_policy(document: Mapping[str, Any]) -> str:
    """``AWS::S3::BucketPolicy.PolicyDocument`` → ``put_bucket_policy(Policy=...)``."""
    return json.dumps(document, separators=(",", ":"))


def notification_configuration(prop: Mapping[str, Any]) -> dict[str, Any]:
    """``NotificationConfiguration`` → ``put_bucket_notification_configuration(...)``.

    Queue configurations only (the stacks declare nothing else): CloudFormation names
    one ``Event`` and ``Filter.S3Key.Rules``, the API a list of ``Events`` and
    ``Filter.Key.FilterRules``.
    """
    _check_keys(prop, {"QueueConfigurations"}, "NotificationConfiguration")
    return {
        "QueueConfigurations": [
            _queue_configuration(entry) for entry in prop.get("QueueConfigurations", [])
        ]
    }


def _queue_configuration(entry: Mapping[str, Any]) -> dict[str, Any]:
    _check_keys(
        entry, {"Event", "Filter", "Queue"}, "NotificationConfiguration.QueueConfigurations"
    )
    configuration: dict[str, Any] = {"QueueArn": entry["Queue"], "Events": [entry["Event"]]}
    if "Filter" in entry:
        _check_keys(entry["Filter"], {"S3Key"}, "QueueConfigurations.Filter")
        _check_keys(entry["Filter"]["S3Key"], {"Rules"}, "QueueConfigurations.Filter.S3Key")
        configuration["Filter"] = {
            "Key": {
                "FilterRules": [
                    {"Name": rule["Name"], "Value": rule["Value"]}
                    for rule in entry["Filter"]["S3Key"]["Rules"]
                ]
            }
        }
    return configuration
