"""Presigned GET / PUT / POST, checked at the level of the signed request and the policy.

moto does not enforce expiry, signatures or POST policy conditions, so the assertions
look at what S3 would enforce: X-Amz-Expires, X-Amz-SignedHeaders, the decoded policy.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sdk.post_policy import policy_violations
from wearit_local.http_upload import post_presigned
from wearit_storage import (
    InvalidStorageKey,
    InvalidStorageRequest,
    SyncS3Client,
    SyncStorageRepository,
    UploadDestination,
)
from wearit_storage.paths import IMAGE_EXTENSIONS
from wearit_storage.s3.presign import CONTENT_TYPE_BY_EXTENSION

KEY = "clothing/u1/c1/photo.jpg"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_get_url_default_expiry_and_it_downloads(client: SyncS3Client) -> None:
    client.put_object(b"hello", KEY)
    url = client.generate_presigned_url(KEY)
    assert _query(url)["X-Amz-Expires"] == "3600"
    assert _query(url)["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    with urllib.request.urlopen(url) as response:  # noqa: S310 - local moto endpoint
        assert response.read() == b"hello"


def test_body_photos_default_to_five_minutes(client: SyncS3Client) -> None:
    assert _query(client.generate_presigned_url("body/u1/b1/me.jpg"))["X-Amz-Expires"] == "300"
    explicit = client.generate_presigned_url("body/u1/b1/me.jpg", expires_in=60)
    assert _query(explicit)["X-Amz-Expires"] == "60"


@pytest.mark.parametrize("expires_in", [1, 3600, 604800])
def test_get_expiry_bounds_are_accepted(client: SyncS3Client, expires_in: int) -> None:
    url = client.generate_presigned_url(KEY, expires_in)
    assert _query(url)["X-Amz-Expires"] == str(expires_in)


@pytest.mark.parametrize("expires_in", [0, -1, 604801, True, 1.5])
def test_get_expiry_out_of_range_raises(client: SyncS3Client, expires_in: Any) -> None:
    with pytest.raises(InvalidStorageRequest, match="expires_in"):
        client.generate_presigned_url(KEY, expires_in)


def test_presign_raises_instead_of_returning_none(client: SyncS3Client) -> None:
    with pytest.raises(InvalidStorageKey):
        client.generate_presigned_url("not/a/valid/key/at/all.jpg")


def test_put_url_signs_the_content_type(client: SyncS3Client, admin: Any, bucket: str) -> None:
    url = client.generate_presigned_put_url("temp/s1/up.jpg", "image/png", 9)
    query = _query(url)
    assert {"content-type", "content-length"} <= set(query["X-Amz-SignedHeaders"].split(";"))
    assert query["X-Amz-Expires"] == "600"
    request = urllib.request.Request(  # noqa: S310 - local moto endpoint
        url, data=b"png-bytes", method="PUT", headers={"Content-Type": "image/png"}
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310
        assert response.status == 200
    head = admin.head_object(Bucket=bucket, Key="temp/s1/up.jpg")
    assert head["ContentType"] == "image/png"


@pytest.mark.parametrize(
    "key", ["clothing/u1/c1/photo.jpg", "body/u1/b1/photo.jpg", "avatars/u1/avatar.jpg"]
)
def test_put_url_targets_temp_only(client: SyncS3Client, key: str) -> None:
    """A PUT elsewhere would store bytes the uploader chose, EXIF included, unrendered."""
    with pytest.raises(InvalidStorageKey, match="only targets temp/"):
        client.generate_presigned_put_url(key, "image/jpeg", 100)


@pytest.mark.parametrize("length", [0, -1, 15 * 1024 * 1024 + 1, True, "12"])
def test_put_url_signs_a_length_within_the_upload_limit(client: SyncS3Client, length: Any) -> None:
    with pytest.raises(InvalidStorageRequest, match="content_length"):
        client.generate_presigned_put_url("temp/s1/up.jpg", "image/jpeg", length)


def test_a_put_of_another_length_does_not_match_the_signature(client: SyncS3Client) -> None:
    """moto verifies no presigned signature: the signed request is checked here instead, by
    signing the same request with another length and comparing."""
    url = client.generate_presigned_put_url("temp/s1/up.jpg", "image/jpeg", 100)
    other = client.generate_presigned_put_url("temp/s1/up.jpg", "image/jpeg", 101)
    same = client.generate_presigned_put_url("temp/s1/up.jpg", "image/jpeg", 100)
    signature = _query(url)["X-Amz-Signature"]
    assert (
        _query(same)["X-Amz-Signature"] == signature
        or _query(same)["X-Amz-Date"] != (_query(url)["X-Amz-Date"])
    )
    assert _query(other)["X-Amz-Signature"] != signature


def test_put_url_refuses_non_image_types(client: SyncS3Client) -> None:
    with pytest.raises(InvalidStorageRequest, match="text/html"):
        client.generate_presigned_put_url("temp/s1/up.jpg", "text/html", 9)


def _policy(fields: dict[str, str]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return decoded


def test_post_policy_conditions(repo: SyncStorageRepository, bucket: str) -> None:
    post = repo.presign_upload("sess-1", "upload.jpg", "image/jpeg", max_bytes=1234)
    assert post.key == "temp/sess-1/upload.jpg"
    assert post.fields["key"] == "temp/sess-1/upload.jpg"
    assert post.fields["Content-Type"] == "image/jpeg"
    assert post.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    policy = _policy(post.fields)
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 1234] in conditions
    assert ["starts-with", "$Content-Type", "image/"] in conditions
    assert {"key": "temp/sess-1/upload.jpg"} in conditions
    assert {"bucket": bucket} in conditions
    # nothing lets the uploader choose another key or an ACL
    assert not any(isinstance(c, list) and c[1] == "$key" for c in conditions)
    assert not any("acl" in json.dumps(c).lower() for c in conditions)
    assert post.expires_in == 600


def test_post_defaults_to_fifteen_megabytes_and_short_expiry(
    repo: SyncStorageRepository,
) -> None:
    import datetime as dt

    post = repo.presign_upload("sess-1", "upload.heic")
    policy = _policy(post.fields)
    assert ["content-length-range", 1, 15 * 1024 * 1024] in policy["conditions"]
    expiration = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    remaining = (expiration - dt.datetime.now(dt.UTC)).total_seconds()
    assert 590 <= remaining <= 600


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [("photo.jpg", "image/jpeg"), ("me.PNG", "image/png"), ("a.heic", "image/heic")],
)
@pytest.mark.parametrize(
    "destination",
    [None, UploadDestination("clothing", "u1", "c1"), UploadDestination("avatars", "u1")],
)
def test_exactly_the_returned_fields_plus_the_file_meet_every_condition(
    repo: SyncStorageRepository,
    bucket: str,
    filename: str,
    content_type: str,
    destination: UploadDestination | None,
) -> None:
    """What S3 checks (moto does not): a client that adds nothing to the fields, as a
    browser's FormData or `curl -F` built from them, is accepted."""
    post = repo.presign_upload("sess-1", filename, destination=destination)
    assert post.fields["Content-Type"] == content_type  # from the name: FormData adds none
    assert policy_violations(post.fields, bucket=bucket, file_size=1000) == []


def test_the_policy_check_refuses_what_s3_refuses(repo: SyncStorageRepository, bucket: str) -> None:
    """The check above can fail: each edit a client could make is a violation."""
    post = repo.presign_upload(
        "sess-1", "photo.jpg", destination=UploadDestination("body", "u1", "b1")
    )
    fields = post.fields
    assert policy_violations(fields, bucket=bucket, file_size=16 * 1024 * 1024)
    assert policy_violations(fields, bucket=bucket, file_size=0)
    assert policy_violations(fields, bucket="another-bucket", file_size=10)
    without_type = {k: v for k, v in fields.items() if k != "Content-Type"}
    assert policy_violations(without_type, bucket=bucket, file_size=10)
    for name, value in [
        ("Content-Type", "text/html"),
        ("key", "temp/sess-1/other.jpg"),
        ("x-amz-meta-wearit-user-id", "u2"),
        ("acl", "public-read"),
    ]:
        assert policy_violations({**fields, name: value}, bucket=bucket, file_size=10), name
    assert policy_violations({**fields, "x-ignore-note": "x"}, bucket=bucket, file_size=10) == []


def test_every_image_extension_has_its_content_type() -> None:
    assert set(CONTENT_TYPE_BY_EXTENSION) == IMAGE_EXTENSIONS


def test_a_post_whose_type_the_name_does_not_tell_needs_one(repo: SyncStorageRepository) -> None:
    with pytest.raises(InvalidStorageRequest, match="pass content_type"):
        repo.presign_upload("sess-1", "upload.bin")
    post = repo.presign_upload("sess-1", "upload.bin", "image/png")
    assert post.fields["Content-Type"] == "image/png"


def test_post_only_targets_temp(client: SyncS3Client) -> None:
    with pytest.raises(InvalidStorageKey, match="temp/"):
        client.generate_presigned_post(KEY)


def test_post_upload_lands_in_temp(repo: SyncStorageRepository, admin: Any, bucket: str) -> None:
    """Smoke test of the form fields as a browser posts them. moto ignores POST policies,
    so the limits themselves are proven on the decoded policy (test_post_policy_conditions)."""
    post = repo.presign_upload("sess-2", "upload.jpg", "image/jpeg")
    assert post_presigned(post, b"jpeg-bytes", "image/jpeg") in (200, 201, 204)
    stored = admin.get_object(Bucket=bucket, Key="temp/sess-2/upload.jpg")
    assert stored["Body"].read() == b"jpeg-bytes"
    assert stored["ContentType"] == "image/jpeg"
    # Without a type given, the name's type is a field, and the object is stored with it.
    post = repo.presign_upload("sess-3", "upload.png")
    assert post_presigned(post, b"png-bytes", "application/octet-stream") in (200, 201, 204)
    assert admin.head_object(Bucket=bucket, Key=post.key)["ContentType"] == "image/png"


def test_urls_and_signatures_are_never_logged(
    client: SyncS3Client, repo: SyncStorageRepository, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        urls = [
            client.upload_file(b"x", KEY),
            client.generate_presigned_url(KEY),
            client.generate_presigned_url("body/u1/b1/a.jpg", 10),
            client.generate_presigned_put_url("temp/s/a.jpg", "image/jpeg", 1),
        ]
        post = repo.presign_upload("s", "a.jpg")
    secrets = [urlsplit(url).query for url in urls] + [
        post.fields["x-amz-signature"],
        post.fields["policy"],
    ]
    ours = [r for r in caplog.records if r.name.startswith("wearit_storage")]
    assert any(KEY in r.getMessage() for r in ours)  # keys and expiries are logged...
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        assert secret not in text  # ...signatures and policies are not
    assert "X-Amz-Signature" not in text


def test_unvalidated_temp_uploads_are_served_as_downloads(client: SyncS3Client) -> None:
    # The uploader chose the Content-Type (image/svg+xml passes "starts-with image/").
    query = parse_qs(urlsplit(client.generate_presigned_url("temp/s1/up.jpg")).query)
    assert query["response-content-disposition"] == ["attachment"]
    assert query["response-content-type"] == ["application/octet-stream"]
    final = parse_qs(urlsplit(client.generate_presigned_url("clothing/u1/c1/image.jpg")).query)
    assert "response-content-disposition" not in final
