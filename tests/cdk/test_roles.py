"""Application roles: exactly the actions and prefixes each component needs, and who may
assume each of them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cdk.helpers import (
    APPLICATION_ROLES,
    DISTINCT_PRINCIPALS,
    ENVIRONMENTS,
    ERASED_PREFIXES,
    ROLE_SUFFIXES,
    SIGNING_KEY_SECRET,
    Templates,
    allowed_pairs,
    as_list,
    covers_prefix,
    grants,
    resources_of_type,
    role_named,
    role_statements,
    statements_by_sid,
)
from wearit_storage.categories import Category

#: What the API and the try-on workers do with the objects they own: read (versions too),
#: write, hide behind a delete marker, abort an upload, tag.
READ_WRITE_HIDE = [
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:GetObjectTagging",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionTagging",
    "s3:PutObject",
    "s3:PutObjectTagging",
]
#: The API's categories: every one but erasures/ and sessions/ (each its own statement).
API_PREFIXES = ["clothing/", "body/", "tryon/", "avatars/", "temp/", "exports/"]


def bucket(env: str) -> str:
    return f"arn:aws:s3:::wearit-storage-{env}"


def listing(env: str, sid: str, prefixes: list[str]) -> dict[str, Any]:
    return {
        "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
        "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
        "Effect": "Allow",
        "Resource": bucket(env),
        "Sid": sid,
    }


def bucket_key(env: str) -> list[dict[str, Any]]:
    """The prod roles' use of the data key, through S3 only; none in dev."""
    if env != "prod":
        return []
    return [
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": ["DataKey17AFBB84", "Arn"]},
            "Sid": "UseBucketKey",
        }
    ]


def policy_statements(template: dict[str, Any], suffix: str, env: str) -> list[dict[str, Any]]:
    role = role_named(template, f"wearit-storage-{env}-{suffix}")
    (policy,) = role["Properties"]["Policies"]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_api_role_is_exactly_read_write_hide_and_asking_for_erasure(
    templates: Templates, env: str
) -> None:
    data = bucket(env)
    assert policy_statements(templates[f"WearitStorage-{env}"], "api", env) == [
        {
            "Action": READ_WRITE_HIDE,
            "Effect": "Allow",
            "Resource": sorted(f"{data}/{p}*" for p in API_PREFIXES),
            "Sid": "ObjectsReadWriteHide",
        },
        {
            # temp/ only: the raw uploads it promoted itself.
            "Action": "s3:DeleteObjectVersion",
            "Effect": "Allow",
            "Resource": f"{data}/temp/*",
            "Sid": "PurgePromotedUploads",
        },
        {
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Resource": f"{data}/sessions/*",
            "Sid": "BindUploadSessions",
        },
        {
            # Requests only: a status it wrote could report an erasure done.
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Resource": f"{data}/erasures/*/request.json",
            "Sid": "AskForErasure",
        },
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": f"{data}/erasures/*",
            "Sid": "ReadErasureRequestsAndStatus",
        },
        listing(env, "ListOwnPrefixes", [*API_PREFIXES, "erasures/"]),
        *bucket_key(env),
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_tryon_worker_reads_body_and_clothing_and_owns_tryon_nothing_else(
    templates: Templates, env: str
) -> None:
    data = bucket(env)
    assert policy_statements(templates[f"WearitStorage-{env}"], "tryon-worker", env) == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": [f"{data}/body/*", f"{data}/clothing/*"],
            "Sid": "ReadInputs",
        },
        {
            # Reads its results back (the URL it returns works), supersedes a failed write.
            "Action": READ_WRITE_HIDE,
            "Effect": "Allow",
            "Resource": f"{data}/tryon/*",
            "Sid": "WriteResults",
        },
        # The user's erasure request alone, checked before it writes: no other user's.
        listing(env, "ListResultsAndErasures", ["tryon/", "erasures/*/request.json"]),
        *bucket_key(env),
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("suffix", APPLICATION_ROLES)
def test_no_application_role_deletes_a_version_of_user_data(
    templates: Templates, env: str, suffix: str
) -> None:
    """A leak of the API's or a worker's credentials cannot destroy a user's data for good:
    none holds a version delete on a user's prefixes, the upload worker's undo included (it
    hides; S3 could not confine a version delete to its own writes by their tags)."""
    found = role_statements(templates, env, suffix)
    deleting = {
        sid: statement
        for sid, statement in found.items()
        if grants(statement, "s3:DeleteObjectVersion")
        and any(
            covers_prefix(resource, bucket(env), prefix)
            for resource in as_list(statement["Resource"])
            for prefix in ERASED_PREFIXES
        )
    }
    assert deleting == {}


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("suffix", APPLICATION_ROLES)
def test_no_application_role_has_any_statement_on_the_replica(
    templates: Templates, env: str, suffix: str
) -> None:
    replica = f"wearit-storage-{env}-replica"
    for sid, statement in role_statements(templates, env, suffix).items():
        assert replica not in json.dumps(statement), sid


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_role_deletes_or_hides_an_erasure_request(templates: Templates, env: str) -> None:
    """The API asks for erasure and reads its status; the tombstone keeps an erased user's
    late uploads out, so no role, the API's least, may delete it or hide it behind a delete
    marker: only the lifecycle expires it."""
    erasures = Category.ERASURES.prefix
    api = role_statements(templates, env, "api")
    assert [
        sid
        for sid, statement in api.items()
        if any(covers_prefix(r, bucket(env), erasures) for r in as_list(statement["Resource"]))
    ] == ["AskForErasure", "ReadErasureRequestsAndStatus"]
    assert as_list(api["AskForErasure"]["Action"]) == ["s3:PutObject"]
    assert as_list(api["ReadErasureRequestsAndStatus"]["Action"]) == ["s3:GetObject"]
    for stack in (f"WearitStorage-{env}", f"WearitStorageReplica-{env}"):
        for role in resources_of_type(templates[stack], "AWS::IAM::Role").values():
            for policy in role["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    deletes = [
                        action
                        for action in ("s3:DeleteObject", "s3:DeleteObjectVersion")
                        if grants(statement, action)
                    ]
                    assert not deletes or not any(
                        covers_prefix(r, bucket(env), erasures)
                        for r in as_list(statement["Resource"])
                    ), (role["Properties"]["RoleName"], statement.get("Sid"), deletes)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_workers_read_no_user_photo_and_the_eraser_only_erasure_requests(
    templates: Templates, env: str
) -> None:
    """The upload worker and the eraser decode or handle hostile input: neither may read a
    user's photos (the upload worker reads temp/ uploads, the eraser the requests)."""
    expected = {"upload-worker": {f"{bucket(env)}/temp/*"}, "eraser": {f"{bucket(env)}/erasures/*"}}
    for suffix, readable in expected.items():
        pairs = allowed_pairs(role_statements(templates, env, suffix))
        read = {r for action, r in pairs if action in ("s3:GetObject", "s3:GetObjectVersion")}
        assert read == readable, suffix


def test_prod_roles_may_use_only_the_bucket_key_and_only_through_s3(templates: Templates) -> None:
    for suffix in ROLE_SUFFIXES.values():
        kms = role_statements(templates, "prod", suffix)["UseBucketKey"]
        assert kms == bucket_key("prod")[0], suffix


def test_dev_roles_have_no_kms_permissions(templates: Templates) -> None:
    for suffix in ROLE_SUFFIXES.values():
        found = role_statements(templates, "dev", suffix)
        assert not [s for s in found.values() if "kms:" in json.dumps(s["Action"])], suffix


def trust(template: dict[str, Any], env: str, suffix: str) -> list[dict[str, Any]]:
    role = role_named(template, f"wearit-storage-{env}-{suffix}")
    assert role["Properties"]["MaxSessionDuration"] == 3600
    statements: list[dict[str, Any]] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return statements


def trusting(principal: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": principal}]


ACCOUNT_ROOT = {"AWS": {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":root"]]}}
LAMBDA = {"Service": "lambda.amazonaws.com"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_unconfigured_roles_trust_the_account_and_lambda_workers_lambda_only(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorage-{env}"]
    for suffix in ("api", "tryon-worker"):
        assert trust(template, env, suffix) == trusting(ACCOUNT_ROOT), suffix
    for suffix in ("upload-worker", "eraser"):
        assert trust(template, env, suffix) == trusting(LAMBDA), suffix


@pytest.mark.parametrize("workers", ["none", "lambda"])
def test_each_role_trusts_its_own_configured_principal_and_no_other(
    distinctly_trusted: dict[str, dict[str, Any]], workers: str
) -> None:
    """Whoever may assume the API role may read users' exports: it must not be the
    workers' hosts. Each role trusts exactly its own ``trusted_principals`` entry; in
    Lambda the upload worker and the eraser trust Lambda alone."""
    template = distinctly_trusted[workers]
    for role, suffix in ROLE_SUFFIXES.items():
        in_lambda = workers == "lambda" and role in ("upload_worker", "eraser")
        expected = LAMBDA if in_lambda else {"AWS": DISTINCT_PRINCIPALS[role]}
        assert trust(template, "dev", suffix) == trusting(expected), suffix


def test_no_role_has_a_wildcard_action_or_a_bucket_wide_object_grant(templates: Templates) -> None:
    for template in templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::IAM::Role":
                continue
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    for action in as_list(statement["Action"]):
                        assert "*" not in action
                    for arn in as_list(statement["Resource"]):
                        assert not (isinstance(arn, str) and arn.endswith(":::*"))
                        assert not (isinstance(arn, str) and arn.endswith("storage-dev/*"))
                        assert not (isinstance(arn, str) and arn.endswith("storage-prod/*"))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_role_arns_and_bucket_names_are_outputs(templates: Templates, env: str) -> None:
    outputs = templates[f"WearitStorage-{env}"]["Outputs"]
    assert outputs["BucketName"]["Value"] == {"Ref": outputs["BucketName"]["Value"]["Ref"]}
    for name in (
        "ApiRoleArn",
        "TryOnWorkerRoleArn",
        "ReplicationRoleArn",
        "UploadWorkerRoleArn",
        "EraserRoleArn",
    ):
        assert outputs[name]["Value"]["Fn::GetAtt"][1] == "Arn"
    assert outputs["ReplicaBucketName"]["Value"] == f"wearit-storage-{env}-replica"
    replica_outputs = templates[f"WearitStorageReplica-{env}"]["Outputs"]
    assert "ReplicaBucketName" in replica_outputs


@pytest.mark.parametrize("workers", ["none", "lambda"])
def test_only_the_roles_that_show_images_read_the_cdn_signing_key(
    distinctly_trusted: dict[str, dict[str, Any]], workers: str
) -> None:
    """The API and the try-on workers return image URLs, signed with the CDN's private key;
    the upload worker and the eraser return none, so they cannot read it."""
    template = distinctly_trusted[workers]
    for suffix in ROLE_SUFFIXES.values():
        found = statements_by_sid(role_named(template, f"wearit-storage-dev-{suffix}"))
        reads = found.get("ReadCdnSigningKey")
        if suffix in ("api", "tryon-worker"):
            assert reads == {
                "Action": "secretsmanager:GetSecretValue",
                "Effect": "Allow",
                "Resource": SIGNING_KEY_SECRET,
                "Sid": "ReadCdnSigningKey",
            }
        else:
            assert reads is None
            assert "secretsmanager" not in str(found)
