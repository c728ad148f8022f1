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
* moto evaluates no condition operator except ``StringEquals``: others count as satisfied.
  The API's list permission is conditioned on ``StringLike s3:prefix``, so moto would let
  the API list *any* prefix (see test_moto_canaries.py). Cells marked ``*`` are therefore
  DOCUMENT-CHECKED: the role's policy in the template is evaluated, condition included,
  by a small evaluator (tests/local/iam_policy.py). ``test_markers_follow_the_policy``
  keeps the markers honest if the policy changes.
* moto's trust-policy check compares the caller's ARN literally with the principal, so the
  account-root principal (``arn:aws:iam::ACCOUNT:root``) never matches an IAM user under
  enforcement: the roles are assumed before enforcement is switched on, and the trust
  policy is checked on the document (``test_trust_policy``).
* Bucket policies are not involved: moto would apply their TLS-only Deny to every request
  (see test_moto_canaries.py), so this server runs the default provisioning without them.
* Presigned URLs are not used: moto answers them with 500 under IAM enforcement.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.local.iam_policy import (
    conditions_hold,
    matching_statements,
    role_policies,
    role_resource,
)
from tests.sdk.helpers import make_jpeg
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
from wearit_storage import StorageSettings, SyncStorageRepository
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.workers import Outcome, UploadProcessor, parse_message

# Rows: role and action. Columns: where. ``allow``/``deny``: enforced by moto.
# ``allow*``/``deny*``: checked on the policy document (moto cannot evaluate the condition).
# ``other-bucket`` is a bucket outside the template; ``replica`` is the replica bucket; the
# key prefix in both is clothing/.
MATRIX = """
role             action          clothing/  body/   tryon/  avatars/
ApiRole          get             allow      allow   allow   allow
ApiRole          put             allow      allow   allow   allow
ApiRole          delete          allow      allow   allow   allow
ApiRole          delete-version  allow      allow   allow   allow
ApiRole          list            allow*     allow*  allow*  allow*
TryOnWorkerRole  get             allow      allow   deny    deny
TryOnWorkerRole  put             deny       deny    allow   deny
TryOnWorkerRole  delete          deny       deny    deny    deny
TryOnWorkerRole  delete-version  deny       deny    deny    deny
TryOnWorkerRole  list            deny       deny    deny    deny
UploadWorkerRole get             deny       deny    deny    deny
UploadWorkerRole put             allow      allow   deny    allow
UploadWorkerRole delete          deny       deny    deny    deny
UploadWorkerRole delete-version  allow      allow   deny    allow
UploadWorkerRole list            allow*     allow*  deny*   allow*
"""
# The same rows, more columns (two tables keep the lines short).
MATRIX_ELSEWHERE = """
role             action          temp/   exports/  other-bucket  replica
ApiRole          get             allow   allow     deny          deny
ApiRole          put             allow   allow     deny          deny
ApiRole          delete          allow   allow     deny          allow
ApiRole          delete-version  allow   allow     deny          allow
ApiRole          list            allow*  allow*    deny          allow*
TryOnWorkerRole  get             deny    deny      deny          deny
TryOnWorkerRole  put             deny    deny      deny          deny
TryOnWorkerRole  delete          deny    deny      deny          deny
TryOnWorkerRole  delete-version  deny    deny      deny          deny
TryOnWorkerRole  list            deny    deny      deny          deny
UploadWorkerRole get             allow   deny      deny          deny
UploadWorkerRole put             deny    deny      deny          deny
UploadWorkerRole delete          allow   deny      deny          deny
UploadWorkerRole delete-version  allow   deny      deny          deny
UploadWorkerRole list            allow*  deny*     deny          deny
"""

OTHER_BUCKET = "wearit-unrelated-bucket"
ACTIONS = {
    "get": "s3:GetObject",
    "put": "s3:PutObject",
    "delete": "s3:DeleteObject",
    "delete-version": "s3:DeleteObjectVersion",
    "list": "s3:ListBucket",
}
# moto can evaluate these condition operators; any other makes a cell document-checked.
MOTO_EVALUATED_OPERATORS = {"StringEquals"}


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
    assert roles == {"ApiRole", "TryOnWorkerRole", "UploadWorkerRole"}
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
        set(statement.get("Condition", {})) - MOTO_EVALUATED_OPERATORS for statement in statements
    )
    assert cell.document_checked is unevaluable, cell.id


def test_the_upload_worker_writes_only_status_objects_under_temp(matrix: Matrix) -> None:
    """Enforced: under temp/ the worker may record outcomes, never plant an upload."""
    s3 = matrix.s3("UploadWorkerRole", matrix.env.region)
    bucket = matrix.env.data_bucket
    s3.put_object(Bucket=bucket, Key="temp/matrix-session/status.json", Body=b"{}")
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket=bucket, Key="temp/matrix-session/photo.jpg", Body=b"x")
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_trust_policy(cdk_out: Path, matrix: Matrix) -> None:
    """Checked on the document: moto cannot match an account-root principal (see above)."""
    for role in matrix.role_arns:
        resource = role_resource(cdk_out, role)
        (statement,) = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Effect"] == "Allow"
        # dev runs its upload worker in Lambda (workers: lambda): only Lambda assumes it.
        expected = (
            {"Service": "lambda.amazonaws.com"}
            if role == "UploadWorkerRole"
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


def test_the_upload_worker_role_is_enough_to_promote_a_pinned_upload(matrix: Matrix) -> None:
    """Enforced end to end: with only its role's permissions, the worker claims, renders,
    stores, records the outcome and purges the upload (every S3 call it makes)."""
    env = matrix.env
    temp_key = "temp/matrix-pinned/photo.jpg"
    destination = UploadDestination("clothing", "matrix-user", "item-1")
    api = matrix.s3("ApiRole", env.region)  # enforcement is on: the upload, as the API role
    api.put_object(
        Bucket=env.data_bucket, Key=temp_key, Body=make_jpeg(), Metadata=destination.metadata()
    )
    credentials = matrix.sessions["UploadWorkerRole"]
    settings = StorageSettings(
        region=env.region,
        bucket_name=env.data_bucket,
        endpoint_url=matrix.endpoint,
        access_key=credentials.access_key_id,
        secret_key=credentials.secret_access_key,
        session_token=credentials.session_token,
        max_attempts=1,
        botocore_config=_CONFIG,
    )
    event = json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Post",
                    "eventTime": "2026-12-01T00:00:00Z",
                    "s3": {"bucket": {"name": env.data_bucket}, "object": {"key": temp_key}},
                }
            ]
        }
    )
    with SyncStorageRepository.from_settings(settings) as worker_repo:
        (record,) = parse_message(event)
        result = UploadProcessor(worker_repo.uploads, worker_id="matrix").process(record)
        assert result.outcome is Outcome.DONE
        assert worker_repo.upload_status("matrix-pinned").state == "done"
    assert "Contents" in api.list_objects_v2(
        Bucket=env.data_bucket, Prefix="clothing/matrix-user/item-1/image"
    )
    assert "Versions" not in api.list_object_versions(Bucket=env.data_bucket, Prefix=temp_key)
