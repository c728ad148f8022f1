"""IAM, proven by enforcement: the roles of the synthesized template, assumed, against S3.

A separate moto server runs as a child process (IAM enforcement is process-global state in
moto). It is provisioned from the real dev templates with ``provision_environment``, the
roles are assumed, and then enforcement is switched on (``INITIAL_NO_AUTH_ACTION_COUNT`` set
to 0 through moto's ``/moto-api/reset-auth``, which also resets the request counter, so
the set-up calls before it are free however many there are).

What moto 5.2 can and cannot prove, and how each cell of the matrix is checked:

* moto evaluates identity policies: Allow/Deny, actions and resources with wildcards. Cells
  without a marker are ENFORCED: the call is made with the role's credentials and must
  succeed (and do what it says) or fail with AccessDenied.
* moto evaluates no condition of an S3 request: it counts operators other than
  ``StringEquals`` as satisfied, and fills no S3 context key (``s3:prefix``,
  ``s3:RequestObjectTag/...``, ``s3:ExistingObjectTag/...``), and a ``StringEquals`` on a key
  it did not fill holds too. The API's list permission is conditioned on ``StringLike
  s3:prefix``, so moto would let the API list *any* prefix (see test_moto_canaries.py), and
  the upload worker's tag conditions would let it write untagged renditions. Cells marked
  ``*`` are therefore DOCUMENT-CHECKED: the role's policy in the template is evaluated,
  condition included, by a small evaluator (tests/local/iam_policy.py).
  ``test_markers_follow_the_policy`` keeps the markers honest if the policy changes.
* moto's trust-policy check compares the caller's ARN literally with the principal, so the
  account-root principal (``arn:aws:iam::ACCOUNT:root``) never matches an IAM user under
  enforcement: the roles are assumed before enforcement is switched on, and the trust
  policy is checked on the document (``test_trust_policy``).
* Bucket policies are not involved: moto would apply their TLS-only Deny to every request
  (see test_moto_canaries.py), so this server runs the default provisioning without them.
* Presigned URLs are not used: moto answers them with 500 under IAM enforcement.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.local.iam_policy import (
    conditions_hold,
    matching_statements,
    role_policies,
    role_resource,
)
from tests.sdk.helpers import make_jpeg, object_created
from wearit_local import (
    LocalCredentials,
    MotoServerError,
    MotoServerProcess,
    ProvisionedEnvironment,
    emulator_client,
    enforce_iam,
    provision_environment,
)
from wearit_local.intrinsics import intrinsics_used
from wearit_storage import (
    StorageError,
    StorageSettings,
    StorageUnavailable,
    SyncStorageRepository,
)
from wearit_storage.privacy.eraser import Eraser
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.workers import Outcome, UploadProcessor

# Rows: role and action. Columns: where. ``allow``/``deny``: enforced by moto.
# ``allow*``/``deny*``: checked on the policy document (moto cannot evaluate the condition).
# ``other-bucket`` is a bucket outside the template; ``replica`` is the replica bucket; the
# key prefix in both is clothing/.
MATRIX = """
role             action          clothing/  body/   tryon/  avatars/
ApiRole          get             allow      allow   allow   allow
ApiRole          put             allow      allow   allow   allow
ApiRole          delete          allow      allow   allow   allow
ApiRole          delete-version  deny       deny    deny    deny
ApiRole          list            allow*     allow*  allow*  allow*
TryOnWorkerRole  get             allow      allow   allow   deny
TryOnWorkerRole  put             deny       deny    allow   deny
TryOnWorkerRole  delete          deny       deny    allow   deny
TryOnWorkerRole  delete-version  deny       deny    deny    deny
TryOnWorkerRole  list            deny*      deny*   allow*  deny*
UploadWorkerRole get             deny       deny    deny    deny
UploadWorkerRole put             deny*      deny*   deny    deny*
UploadWorkerRole delete          allow      allow   deny    allow
UploadWorkerRole delete-version  deny       deny    deny    deny
UploadWorkerRole list            allow*     allow*  deny*   allow*
EraserRole       get             deny       deny    deny    deny
EraserRole       put             deny       deny    deny    deny
EraserRole       delete          allow      allow   allow   allow
EraserRole       delete-version  allow      allow   allow   allow
EraserRole       list            allow*     allow*  allow*  allow*
"""
# The same rows, more columns (two tables keep the lines short). The upload worker's
# ``put`` is untagged here: with its writer tag it may write renditions, which
# test_every_request_the_upload_worker_makes_is_allowed_by_its_policy decides.
MATRIX_ELSEWHERE = """
role             action          temp/   exports/  erasures/  sessions/  other-bucket  replica
ApiRole          get             allow   allow     allow      deny       deny          deny
ApiRole          put             allow   allow     deny       allow      deny          deny
ApiRole          delete          allow   allow     deny       deny       deny          deny
ApiRole          delete-version  allow   deny      deny       deny       deny          deny
ApiRole          list            allow*  allow*    allow*     deny*      deny          deny
TryOnWorkerRole  get             deny    deny      deny       deny       deny          deny
TryOnWorkerRole  put             deny    deny      deny       deny       deny          deny
TryOnWorkerRole  delete          deny    deny      deny       deny       deny          deny
TryOnWorkerRole  delete-version  deny    deny      deny       deny       deny          deny
TryOnWorkerRole  list            deny*   deny*     deny*      deny*      deny          deny
UploadWorkerRole get             allow   deny      deny       deny       deny          deny
UploadWorkerRole put             deny    deny      deny       deny       deny          deny
UploadWorkerRole delete          allow   deny      deny       deny       deny          deny
UploadWorkerRole delete-version  allow   deny      deny       deny       deny          deny
UploadWorkerRole list            allow*  deny*     deny*      deny*      deny          deny
EraserRole       get             deny    deny      allow      deny       deny          deny
EraserRole       put             deny    deny      deny       deny       deny          deny
EraserRole       delete          allow   allow     deny       allow      deny          allow
EraserRole       delete-version  allow   allow     deny       allow      deny          allow
EraserRole       list            allow*  allow*    allow*     allow*     deny          allow*
"""

OTHER_BUCKET = "wearit-unrelated-bucket"
ACTIONS = {
    "get": "s3:GetObject",
    "put": "s3:PutObject",
    "delete": "s3:DeleteObject",
    "delete-version": "s3:DeleteObjectVersion",
    "list": "s3:ListBucket",
}
# The condition keys moto fills in a request context, all outside S3 (its ``AssumeRole``'s
# external id): any condition on a statement deciding an S3 cell makes it document-checked.
MOTO_FILLED_KEYS = {"sts:ExternalId"}


@dataclass(frozen=True)
class Cell:
    role: str
    action: str
    place: str
    allowed: bool
    document_checked: bool

    @property
    def id(self) -> str:
        return f"{self.role}-{self.action}-{self.place}"


def parse_matrix(text: str) -> list[Cell]:
    header, *rows = [line.split() for line in text.strip().splitlines()]
    places = header[2:]
    cells = []
    for role, action, *outcomes in rows:
        assert len(outcomes) == len(places), f"row {role} {action} has a missing column"
        for place, outcome in zip(places, outcomes, strict=True):
            assert outcome.rstrip("*") in ("allow", "deny"), outcome
            cells.append(
                Cell(role, action, place, outcome.startswith("allow"), outcome.endswith("*"))
            )
    return cells


CELLS = parse_matrix(MATRIX) + parse_matrix(MATRIX_ELSEWHERE)
ENFORCED = [c for c in CELLS if not c.document_checked]
PLACES = sorted({c.place for c in CELLS})


def test_matrix_is_complete() -> None:
    roles = {c.role for c in CELLS}
    assert roles == {"ApiRole", "TryOnWorkerRole", "UploadWorkerRole", "EraserRole"}
    assert {c.action for c in CELLS} == set(ACTIONS)
    assert (
        len(CELLS)
        == len(roles) * len(ACTIONS) * len(PLACES)
        == len({(c.role, c.action, c.place) for c in CELLS})
    )


# --- the environment -------------------------------------------------------------------


def location(env: ProvisionedEnvironment, place: str) -> tuple[str, str, str]:
    """(bucket, region, key prefix) of a matrix column."""
    if place == "other-bucket":
        return OTHER_BUCKET, env.region, "clothing/"
    if place == "replica":
        return env.replica_bucket, env.replica_region, "clothing/"
    return env.data_bucket, env.region, place


@dataclass(frozen=True)
class Matrix:
    env: ProvisionedEnvironment
    role_arns: dict[str, str]
    sessions: dict[str, LocalCredentials]
    versions: dict[tuple[str, str], str]  # (role, place) -> seeded version id to delete
    endpoint: str

    def location(self, place: str) -> tuple[str, str, str]:
        return location(self.env, place)

    def s3(self, role: str, region: str) -> Any:
        return _client("s3", self.endpoint, region, self.sessions[role])


# Whole-body checksums, not aws-chunked uploads: moto's signature check (enforced here)
# recomputes SigV4 and does not understand streaming-trailer payloads.
_CONFIG = Config(
    request_checksum_calculation="when_required",
    response_checksum_validation="when_required",
    retries={"max_attempts": 1},
)


def _client(service: str, endpoint: str, region: str, credentials: LocalCredentials) -> Any:
    return emulator_client(service, endpoint, region, credentials=credentials, config=_CONFIG)


SETUP = LocalCredentials("setup", "setup")


def seed_key(prefix: str, role: str, what: str) -> str:
    return f"{prefix}matrix/{role}-{what}.txt"


@pytest.fixture(scope="module")
def matrix(cdk_out: Path) -> Iterator[Matrix]:
    with MotoServerProcess() as server:
        endpoint = server.endpoint_url
        env = provision_environment(cdk_out, "dev", s3_endpoint=endpoint)
        setup_s3 = _client("s3", endpoint, env.region, SETUP)
        setup_s3.create_bucket(Bucket=OTHER_BUCKET)
        setup_s3.put_bucket_versioning(
            Bucket=OTHER_BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )
        role_arns = {
            "ApiRole": env.api_role_arn,
            "TryOnWorkerRole": env.tryon_worker_role_arn,
            "UploadWorkerRole": env.upload_worker_role_arn,
            "EraserRole": env.eraser_role_arn,
        }
        versions: dict[tuple[str, str], str] = {}
        for place in PLACES:
            bucket, region, prefix = location(env, place)
            s3 = _client("s3", endpoint, region, SETUP)
            for role in role_arns:
                for what in ("get", "delete"):
                    s3.put_object(
                        Bucket=bucket, Key=seed_key(prefix, role, what), Body=what.encode()
                    )
                response = s3.put_object(
                    Bucket=bucket, Key=seed_key(prefix, role, "version"), Body=b"v"
                )
                versions[(role, place)] = response["VersionId"]
        _seed_erased_user(endpoint, env)
        sts = _client("sts", endpoint, env.region, SETUP)
        sessions = {}
        for role, arn in role_arns.items():
            credentials = sts.assume_role(RoleArn=arn, RoleSessionName=f"matrix-{role}")[
                "Credentials"
            ]
            sessions[role] = LocalCredentials(
                credentials["AccessKeyId"],
                credentials["SecretAccessKey"],
                credentials["SessionToken"],
            )
        enforce_iam(endpoint)
        yield Matrix(env, role_arns, sessions, versions, endpoint)


ERASED_KEY = "clothing/erased/i1/image.jpg"


def _seed_erased_user(endpoint: str, env: ProvisionedEnvironment) -> None:
    """Two versions in the primary, one in the replica, written before enforcement."""
    primary = _client("s3", endpoint, env.region, SETUP)
    replica = _client("s3", endpoint, env.replica_region, SETUP)
    for version in (b"a", b"b"):
        primary.put_object(Bucket=env.data_bucket, Key=ERASED_KEY, Body=version)
    replica.put_object(Bucket=env.replica_bucket, Key=ERASED_KEY, Body=b"r")


def test_enforcement_is_on(matrix: Matrix) -> None:
    stranger = _client("s3", matrix.endpoint, matrix.env.region, SETUP)
    with pytest.raises(ClientError) as raised:
        stranger.list_objects_v2(Bucket=matrix.env.data_bucket, Prefix="clothing/")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    for role, arn in matrix.role_arns.items():
        sts = _client("sts", matrix.endpoint, matrix.env.region, matrix.sessions[role])
        identity = sts.get_caller_identity()["Arn"]
        assert identity.startswith(f"arn:aws:sts::{matrix.env.account_id}:assumed-role/")
        assert identity.split("/")[1] == arn.rsplit("/", 1)[1]


# --- enforced cells --------------------------------------------------------------------


def perform(matrix: Matrix, cell: Cell) -> None:
    """Make the cell's call as the role; assert it did its job if it was allowed."""
    bucket, region, prefix = matrix.location(cell.place)
    s3 = matrix.s3(cell.role, region)
    if cell.action == "get":
        body = s3.get_object(Bucket=bucket, Key=seed_key(prefix, cell.role, "get"))["Body"]
        assert body.read() == b"get"
    elif cell.action == "put":
        assert s3.put_object(Bucket=bucket, Key=seed_key(prefix, cell.role, "put"), Body=b"p")[
            "ETag"
        ]
    elif cell.action == "delete":
        response = s3.delete_object(Bucket=bucket, Key=seed_key(prefix, cell.role, "delete"))
        assert response["DeleteMarker"] is True  # versioned: the object is now hidden
    elif cell.action == "delete-version":
        version = matrix.versions[(cell.role, cell.place)]
        response = s3.delete_object(
            Bucket=bucket, Key=seed_key(prefix, cell.role, "version"), VersionId=version
        )
        assert response["VersionId"] == version
    else:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        assert listed["KeyCount"] >= 1


@pytest.mark.parametrize("cell", ENFORCED, ids=[c.id for c in ENFORCED])
def test_enforced_cell(matrix: Matrix, cell: Cell) -> None:
    if cell.allowed:
        perform(matrix, cell)
        return
    with pytest.raises(ClientError) as raised:
        perform(matrix, cell)
    assert raised.value.response["Error"]["Code"] == "AccessDenied", cell.id


# --- document-checked cells --------------------------------------------------------------


def request_of(cell: Cell, location: tuple[str, str, str]) -> tuple[str, str, dict[str, str]]:
    """The IAM action, resource ARN and request context S3 would evaluate for a cell."""
    bucket, _, prefix = location
    if cell.action == "list":
        return ACTIONS["list"], f"arn:aws:s3:::{bucket}", {"s3:prefix": prefix}
    return ACTIONS[cell.action], f"arn:aws:s3:::{bucket}/{prefix}matrix/x.txt", {}


def document_allows(documents: list[dict[str, Any]], cell: Cell, matrix: Matrix) -> bool:
    """IAM evaluation of identity policies: an explicit Deny wins, else any Allow."""
    action, resource, context = request_of(cell, matrix.location(cell.place))
    allowed = False
    for statement in matching_statements(documents, action, resource):
        if conditions_hold(statement.get("Condition", {}), context):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
def test_policy_document_agrees_with_the_matrix(cdk_out: Path, matrix: Matrix, cell: Cell) -> None:
    """Every cell, enforced or not: decisive for ``*`` cells, a cross-check for the rest."""
    documents = role_policies(cdk_out, cell.role)
    assert not intrinsics_used(documents), "resolve the documents before evaluating them"
    assert document_allows(documents, cell, matrix) is cell.allowed, cell.id


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
def test_markers_follow_the_policy(cdk_out: Path, matrix: Matrix, cell: Cell) -> None:
    """A cell is document-checked exactly when a statement moto cannot evaluate decides it."""
    action, resource, _ = request_of(cell, matrix.location(cell.place))
    statements = matching_statements(role_policies(cdk_out, cell.role), action, resource)
    unevaluable = any(
        operator != "StringEquals" or set(keys) - MOTO_FILLED_KEYS
        for statement in statements
        for operator, keys in statement.get("Condition", {}).items()
    )
    assert cell.document_checked is unevaluable, cell.id


@pytest.mark.parametrize(
    ("role", "written", "refused"),
    [
        # Under temp/ the worker may record outcomes, never plant an upload.
        ("UploadWorkerRole", "temp/matrix-session/status.json", "temp/matrix-session/photo.jpg"),
        # A leaked API credential cannot report an erasure done (or postpone its second
        # pass) by writing the eraser's status record.
        ("ApiRole", "erasures/matrix-asker/request.json", "erasures/matrix-asker/status.json"),
    ],
    ids=["upload-worker-temp", "api-erasures"],
)
def test_a_role_writes_only_its_one_kind_of_object_there(
    matrix: Matrix, role: str, written: str, refused: str
) -> None:
    """Enforced."""
    s3 = matrix.s3(role, matrix.env.region)
    bucket = matrix.env.data_bucket
    s3.put_object(Bucket=bucket, Key=written, Body=b"{}")
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket=bucket, Key=refused, Body=b"x")
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_trust_policy(cdk_out: Path, matrix: Matrix) -> None:
    """Checked on the document: moto cannot match an account-root principal (see above)."""
    for role in matrix.role_arns:
        resource = role_resource(cdk_out, role)
        (statement,) = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Effect"] == "Allow"
        # dev runs its workers in Lambda (workers: lambda): only Lambda assumes their roles.
        expected = (
            {"Service": "lambda.amazonaws.com"}
            if role in ("UploadWorkerRole", "EraserRole")
            else {"AWS": {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":root"]]}}
        )
        assert statement["Principal"] == expected
        assert resource["Properties"]["MaxSessionDuration"] == 3600


def test_a_server_on_a_taken_port_fails_fast_naming_the_cause() -> None:
    """The enforcing server is a child process: a port clash must not look like a hang."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = MotoServerProcess(port=taken.getsockname()[1])
        started = time.monotonic()
        with pytest.raises(MotoServerError, match="exited before answering"):
            server.start(timeout_s=30)
        assert time.monotonic() - started < 15
        assert server.pid is not None


def _role_settings(matrix: Matrix, role: str) -> StorageSettings:
    env = matrix.env
    credentials = matrix.sessions[role]
    return StorageSettings(
        region=env.region,
        bucket_name=env.data_bucket,
        endpoint_url=matrix.endpoint,
        access_key=credentials.access_key_id,
        secret_key=credentials.secret_access_key,
        session_token=credentials.session_token,
        replica_bucket_name=env.replica_bucket,
        replica_region=env.replica_region,
        max_attempts=1,
        botocore_config=_CONFIG,
    )


def test_canary_moto_authorizes_a_batch_delete_on_the_bucket_arn(matrix: Matrix) -> None:
    """Why the eraser's run is decided on its policy document (below), not enforced: moto
    authorizes ``DeleteObjects`` as ``s3:DeleteObject`` on the bucket's ARN, where S3
    authorizes each key (``s3:DeleteObjectVersion`` on the object). The version the
    eraser may delete alone (the enforced ``EraserRole-delete-version`` cells) it may not
    delete in a batch here. When this fails, enforce the eraser's run end to end."""
    env = matrix.env
    s3 = matrix.s3("EraserRole", env.region)
    listed = s3.list_object_versions(Bucket=env.data_bucket, Prefix=ERASED_KEY)["Versions"]
    objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in listed]
    response = s3.delete_objects(Bucket=env.data_bucket, Delete={"Objects": objects})
    assert {error["Code"] for error in response["Errors"]} == {"AccessDenied"}
    assert "Deleted" not in response


def test_the_try_on_role_stores_results_it_can_read_back(matrix: Matrix) -> None:
    """Enforced: ``upload_tryon_result`` under the try-on role, and the result's bytes read
    back with the same role (its URL is signed by it)."""
    with SyncStorageRepository.from_settings(_role_settings(matrix, "TryOnWorkerRole")) as repo:
        stored = repo.store_tryon_result("tryon-user", "t1", make_jpeg(), "result.jpg")
        assert repo.download_tryon_result("tryon-user", "t1", "result.jpg")[:2] == b"\xff\xd8"
        assert "X-Amz-Signature" in stored.url


# --- every request the upload worker makes, on its policy document ------------------------


@dataclass(frozen=True)
class SentRequest:
    action: str
    resource: str
    context: dict[str, str]


_S3_ACTIONS = {
    "PutObject": "s3:PutObject",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
    "GetObjectTagging": "s3:GetObjectTagging",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
}
#: With a version id, S3 authorizes the ``*Version`` action.
_VERSIONED = {
    "s3:GetObject": "s3:GetObjectVersion",
    "s3:DeleteObject": "s3:DeleteObjectVersion",
    "s3:GetObjectTagging": "s3:GetObjectVersionTagging",
}


def _record_requests(boto_client: Any, admin: Any, sent: list[SentRequest]) -> None:
    """What S3 would authorize for each call: its action(s), resource and the request
    context the role's conditions read (the tags sent, the tags of the version acted on)."""

    def record(model: Any, params: dict[str, Any], **kwargs: Any) -> None:
        if kwargs["context"].get("is_presign_request"):
            return  # signed locally, sent by no one here
        bucket, key = params["Bucket"], params.get("Key")
        if model.name == "DeleteObjects":  # S3 authorizes each key of a batch
            for target in params["Delete"]["Objects"]:
                action = "s3:DeleteObjectVersion" if "VersionId" in target else "s3:DeleteObject"
                sent.append(SentRequest(action, f"arn:aws:s3:::{bucket}/{target['Key']}", {}))
            return
        if key is None:
            listing = {"s3:prefix": params.get("Prefix", "")}
            sent.append(SentRequest(_S3_ACTIONS[model.name], f"arn:aws:s3:::{bucket}", listing))
            return
        action = _S3_ACTIONS[model.name]
        if "VersionId" in params:
            action = _VERSIONED.get(action, action)
        context: dict[str, str] = {}
        for tag_key, value in parse_qsl(params.get("Tagging", "")):
            context[f"s3:RequestObjectTag/{tag_key}"] = value
        if action == "s3:DeleteObjectVersion":
            tags = admin.get_object_tagging(Bucket=bucket, Key=key, VersionId=params["VersionId"])[
                "TagSet"
            ]
            context |= {f"s3:ExistingObjectTag/{t['Key']}": t["Value"] for t in tags}
        resource = f"arn:aws:s3:::{bucket}/{key}"
        sent.append(SentRequest(action, resource, context))
        if params.get("Tagging"):
            sent.append(SentRequest("s3:PutObjectTagging", resource, context))

    # The API parameters (``Tagging`` as sent, before serialization into a header).
    boto_client.meta.events.register("provide-client-params.s3", record)


def _allowed(documents: list[dict[str, Any]], request: SentRequest) -> bool:
    allowed = False
    for statement in matching_statements(documents, request.action, request.resource):
        if conditions_hold(statement.get("Condition", {}), request.context):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


@pytest.fixture(scope="module")
def open_env(cdk_out: Path) -> Iterator[ProvisionedEnvironment]:
    """A second server without enforcement: moto cannot evaluate the tag conditions."""
    with MotoServerProcess() as server:
        yield provision_environment(cdk_out, "dev", s3_endpoint=server.endpoint_url)


def test_every_request_the_upload_worker_makes_is_allowed_by_its_policy(
    cdk_out: Path, open_env: ProvisionedEnvironment
) -> None:
    """moto's enforcement hands identity policies no S3 request context, so a condition on
    ``s3:RequestObjectTag`` or ``s3:ExistingObjectTag`` never holds there. Every call the
    worker makes (a promotion, then one whose thumbnail fails, so its own half-written main
    is hidden) is decided on the role's policy document instead, with the context S3 would
    give: all allowed, the undo a delete marker, never a version deleted outside temp/."""
    env = open_env
    settings = StorageSettings.from_env(env.environment_variables())
    admin = emulator_client("s3", env.endpoint_url, env.region)
    documents = role_policies(cdk_out, "UploadWorkerRole")
    sent: list[SentRequest] = []
    with SyncStorageRepository.from_settings(settings) as repo:
        _record_requests(repo.s3_client.boto_client, admin, sent)
        for session, fail_thumbnail in (("matrix-ok", False), ("matrix-fail", True)):
            destination = UploadDestination("clothing", "matrix-user", session)
            key = f"temp/{session}/photo.jpg"
            admin.put_object(
                Bucket=env.data_bucket, Key=key, Body=make_jpeg(), Metadata=destination.metadata()
            )
            if fail_thumbnail:
                _fail_thumbnail_puts(repo.s3_client.boto_client)
            event = object_created(env.data_bucket, key)
            processor = UploadProcessor(repo.uploads, worker_id="matrix")
            if fail_thumbnail:
                with pytest.raises(StorageError):
                    processor.process(event)
            else:
                assert processor.process(event).outcome is Outcome.DONE
    refused = [request for request in sent if not _allowed(documents, request)]
    assert refused == []
    hidden = [r for r in sent if r.action == "s3:DeleteObject" and "/clothing/" in r.resource]
    assert hidden
    assert not [
        r for r in sent if r.action == "s3:DeleteObjectVersion" and "/temp/" not in r.resource
    ]
    # Never a read of a user's photo.
    assert not [
        r
        for r in sent
        if r.action.startswith("s3:GetObject")
        and "/clothing/" in r.resource
        and "Tagging" not in r.action
    ]


def test_every_request_of_an_erasure_is_allowed_by_the_roles_policies(
    cdk_out: Path, open_env: ProvisionedEnvironment
) -> None:
    """The API asks, the eraser does, each call decided on its role's document with the
    context S3 would give (a batch delete authorized key by key): the API's request and
    status reads, the eraser's two passes over both buckets. They end with nothing of the
    user in either bucket and the request reported done."""
    env = open_env
    admin = emulator_client("s3", env.endpoint_url, env.region)
    replica_admin = emulator_client("s3", env.endpoint_url, env.replica_region)
    for body in (b"a", b"b"):
        admin.put_object(Bucket=env.data_bucket, Key=ERASED_KEY, Body=body)
    replica_admin.put_object(Bucket=env.replica_bucket, Key=ERASED_KEY, Body=b"r")
    settings = StorageSettings.from_env(env.environment_variables())
    sent_by: dict[str, list[SentRequest]] = {"ApiRole": [], "EraserRole": []}
    with SyncStorageRepository.from_settings(settings) as api:
        _record_requests(api.s3_client.boto_client, admin, sent_by["ApiRole"])
        assert api.request_user_erasure("erased").state == "requested"
    with SyncStorageRepository.from_settings(settings) as repo:
        assert repo.replica_client is not None
        for client in (repo.s3_client, repo.replica_client):
            _record_requests(client.boto_client, admin, sent_by["EraserRole"])
        eraser = Eraser(
            repo.s3_client, repo.replica_client, schedule=lambda *_: None, delay=timedelta(0)
        )
        eraser.first_pass("erased")
        eraser.second_pass("erased")
    with SyncStorageRepository.from_settings(settings) as api:
        _record_requests(api.s3_client.boto_client, admin, sent_by["ApiRole"])
        assert api.erasure_status("erased").state == "done"
    for role, sent in sent_by.items():
        documents = role_policies(cdk_out, role)
        assert [request for request in sent if not _allowed(documents, request)] == [], role
    deleted = [r for r in sent_by["EraserRole"] if r.action == "s3:DeleteObjectVersion"]
    assert {r.resource.split(":::")[1].split("/")[0] for r in deleted} == {
        env.data_bucket,
        env.replica_bucket,
    }
    for client, bucket in ((admin, env.data_bucket), (replica_admin, env.replica_bucket)):
        listed = client.list_object_versions(Bucket=bucket, Prefix="clothing/erased/")
        assert "Versions" not in listed
        assert "DeleteMarkers" not in listed


def test_every_request_of_a_try_on_result_is_allowed_by_its_policy(
    cdk_out: Path, open_env: ProvisionedEnvironment
) -> None:
    """Found by a review: the try-on worker checks for its user's erasure request (a
    listing of that one key) before it writes, which moto allowed whatever the role's
    ``s3:prefix`` condition said. Every call of a stored result, one read back and one
    whose write fails (then looked up to be undone), decided on the try-on role's
    document."""
    env = open_env
    admin = emulator_client("s3", env.endpoint_url, env.region)
    settings = StorageSettings.from_env(env.environment_variables())
    sent: list[SentRequest] = []
    with SyncStorageRepository.from_settings(settings) as repo:
        _record_requests(repo.s3_client.boto_client, admin, sent)
        repo.store_tryon_result("tryon-user", "t1", make_jpeg(), "result.jpg")
        assert repo.download_tryon_result("tryon-user", "t1", "result.jpg")[:2] == b"\xff\xd8"
        _fail_puts_ending(repo.s3_client.boto_client, "result.jpg")
        with pytest.raises(StorageError):
            repo.store_tryon_result("tryon-user", "t1", make_jpeg(color="red"), "result.jpg")
    listed = [r.context["s3:prefix"] for r in sent if r.action == "s3:ListBucket"]
    assert "erasures/tryon-user/request.json" in listed
    documents = role_policies(cdk_out, "TryOnWorkerRole")
    assert [request for request in sent if not _allowed(documents, request)] == []


def _fail_thumbnail_puts(boto_client: Any) -> None:
    _fail_puts_ending(boto_client, "_thumb.jpg")


def _fail_puts_ending(boto_client: Any, ending: str) -> None:
    def refuse(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].endswith(ending):
            raise StorageUnavailable(f"the PUT of {params['Key']} kept failing", key=params["Key"])

    boto_client.meta.events.register("provide-client-params.s3.PutObject", refuse)
