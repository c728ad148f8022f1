"""CANARIES: what moto 5.2 does NOT enforce, pinned down so that the day it does, we know.

The local environment and its tests lean on these gaps or work around them (see each
test). A failing canary is good news: moto now enforces something, so the workaround can
go and the behaviour can be asserted against the emulator instead.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.local.iam_policy import conditions_hold, matching_statements, role_policies
from wearit_local import (
    LocalCredentials,
    MotoServerProcess,
    ProvisionedEnvironment,
    emulator_client,
    enforce_iam,
    provision_environment,
)
from wearit_local.http_upload import get_url, post_form

CANARY_KEY = "clothing/canary/item/image.jpg"


def presigned_get(env: ProvisionedEnvironment, key: str, expires_in: int = 60) -> str:
    """A SigV4 presigned GET of ``key`` in the data bucket, as the SDK signs them."""
    api = emulator_client(
        "s3", env.endpoint_url, env.region, config=Config(signature_version="s3v4")
    )
    url: str = api.generate_presigned_url(
        "get_object", Params={"Bucket": env.data_bucket, "Key": key}, ExpiresIn=expires_in
    )
    return url


@pytest.fixture
def stored_object(dev: ProvisionedEnvironment) -> str:
    """An object in dev's data bucket (default provisioning: no bucket policy in the way)."""
    emulator_client("s3", dev.endpoint_url, dev.region).put_object(
        Bucket=dev.data_bucket, Key=CANARY_KEY, Body=b"canary"
    )
    return CANARY_KEY


def test_canary_moto_still_hides_replication_filters(dev: ProvisionedEnvironment) -> None:
    """GetBucketReplication hard-codes the filter and delete-marker replication, so
    test_drift_buckets.py reads them from moto's state; when this fails, use the API."""
    api = emulator_client("s3", dev.endpoint_url, dev.region)
    rules = api.get_bucket_replication(Bucket=dev.data_bucket)["ReplicationConfiguration"]["Rules"]
    assert {r["Filter"]["Prefix"] for r in rules} == {""}
    assert {r["DeleteMarkerReplication"]["Status"] for r in rules} == {"Disabled"}


def test_canary_moto_denies_every_object_request_under_the_tls_only_policy(
    provisioned: ProvisionedEnvironment,
) -> None:
    """Why policies are not held by default; when this fails moto evaluates the conditions."""
    api = emulator_client("s3", provisioned.endpoint_url, provisioned.region)
    with pytest.raises(ClientError) as raised:
        api.put_object(Bucket=provisioned.data_bucket, Key="clothing/u1/x.txt", Body=b"x")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_canary_moto_ignores_the_list_prefix_condition(cdk_out: Path) -> None:
    """Why the API role's list cells in test_iam_enforcement.py are document-checked: under
    IAM enforcement moto lets the role list outside its ``StringLike s3:prefix`` condition.

    When this fails, moto evaluates ``StringLike``: enforce those cells instead.
    """
    outside = "not-a-wearit-prefix/"
    with MotoServerProcess() as server:  # IAM enforcement is process-global in moto
        env = provision_environment(cdk_out, "dev", s3_endpoint=server.endpoint_url)
        bucket_arn = f"arn:aws:s3:::{env.data_bucket}"
        statements = matching_statements(
            role_policies(cdk_out, "ApiRole"), "s3:ListBucket", bucket_arn
        )
        assert statements
        assert not any(conditions_hold(s["Condition"], {"s3:prefix": outside}) for s in statements)
        sts = emulator_client("sts", server.endpoint_url, env.region)
        assumed = sts.assume_role(RoleArn=env.api_role_arn, RoleSessionName="canary")
        session = assumed["Credentials"]
        api_role = LocalCredentials(
            session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]
        )
        enforce_iam(server.endpoint_url)
        s3 = emulator_client("s3", server.endpoint_url, env.region, credentials=api_role)
        s3.list_objects_v2(Bucket=env.data_bucket, Prefix=outside)  # AWS would deny this


def test_canary_moto_serves_an_expired_presigned_get(
    dev: ProvisionedEnvironment, stored_object: str
) -> None:
    """Expiry is asserted on the signed URL (tests/sdk/test_presign.py), not over HTTP."""
    url = presigned_get(dev, stored_object, expires_in=1)
    assert "X-Amz-Expires=1&" in url
    time.sleep(1.5)
    assert get_url(url) == b"canary"


def test_canary_moto_serves_a_presigned_get_with_a_wrong_signature(
    dev: ProvisionedEnvironment, stored_object: str
) -> None:
    """Signatures are not verified: an HTTP fetch proves the URL's shape, not its signing."""
    url = presigned_get(dev, stored_object)
    assert "X-Amz-Signature=" in url
    assert get_url(url.replace("X-Amz-Signature=", "X-Amz-Signature=0")) == b"canary"


def test_canary_moto_ignores_post_policy_conditions(dev: ProvisionedEnvironment) -> None:
    """POST policies are asserted on the decoded policy (tests/sdk/test_presign.py)."""
    api = emulator_client("s3", dev.endpoint_url, dev.region)
    key = "temp/canary/upload.jpg"
    post = api.generate_presigned_post(
        dev.data_bucket,
        key,
        Fields={"Content-Type": "image/jpeg"},
        Conditions=[["content-length-range", 1, 10], {"Content-Type": "image/jpeg"}],
    )
    fields = {**post["fields"], "Content-Type": "text/html"}  # outside both conditions
    assert post_form(post["url"], fields, b"x" * 1000, "text/html") in (200, 201, 204)
    stored = api.head_object(Bucket=dev.data_bucket, Key=key)
    assert (stored["ContentLength"], stored["ContentType"]) == (1000, "text/html")


def test_canary_moto_answers_any_origin_on_simple_requests(
    dev: ProvisionedEnvironment, stored_object: str
) -> None:
    """The CORS rules are compared as configuration (test_drift_buckets.py), not by HTTP."""
    api = emulator_client("s3", dev.endpoint_url, dev.region)
    (rule,) = api.get_bucket_cors(Bucket=dev.data_bucket)["CORSRules"]
    origin = "https://not-an-allowed-origin.example"
    assert origin not in rule["AllowedOrigins"]
    request = urllib.request.Request(presigned_get(dev, stored_object), headers={"Origin": origin})  # noqa: S310 - local
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local
        assert response.headers["Access-Control-Allow-Origin"] == origin


def test_canary_moto_accepts_acls_on_a_bucket_owner_enforced_bucket(
    dev: ProvisionedEnvironment,
) -> None:
    """ACLs disabled is checked on the templates, and the SDK never sends an ACL
    (tests/sdk/test_no_acl.py); AWS would reject this request."""
    api = emulator_client("s3", dev.endpoint_url, dev.region)
    ownership = api.get_bucket_ownership_controls(Bucket=dev.data_bucket)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    api.put_object(
        Bucket=dev.data_bucket, Key="clothing/canary/acl.txt", Body=b"x", ACL="public-read"
    )


def test_canary_moto_ignores_the_queue_policy(dev: ProvisionedEnvironment) -> None:
    """The TLS-only upload queue policy is held, yet plain-HTTP sends and receives by any
    caller work, and moto's S3 delivers whatever the SourceArn. The policy is asserted on
    the template (tests/cdk/test_work_queues.py) and read back as declared
    (tests/local/test_upload_pipeline.py); when this fails, moto evaluates queue policies."""
    sqs = emulator_client("sqs", dev.endpoint_url, dev.region)
    assert dev.endpoint_url.startswith("http://")
    sqs.send_message(QueueUrl=dev.upload_queue_url, MessageBody="canary")
    bodies: list[str] = []
    for _ in range(10):
        for message in sqs.receive_message(
            QueueUrl=dev.upload_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            bodies.append(message["Body"])
            sqs.delete_message(
                QueueUrl=dev.upload_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        if "canary" in bodies:
            break
    assert "canary" in bodies
