"""No request ever carries an ACL: the buckets have ACLs disabled (BucketOwnerEnforced)."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.sdk.helpers import make_jpeg
from wearit_storage import SyncS3Client, SyncStorageRepository


class _AclSpy:
    def __init__(self, *boto_clients: Any) -> None:
        self.operations: list[str] = []
        self.violations: list[str] = []
        for boto_client in boto_clients:
            events = boto_client.meta.events
            events.register("provide-client-params.s3", self.check_params)
            events.register("before-send.s3", self.check_request)

    def check_params(self, params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        self.operations.append(model.name)
        if any("acl" in name.lower() or "grant" in name.lower() for name in params):
            self.violations.append(f"{model.name} params {sorted(params)}")

    def check_request(self, request: Any, **kwargs: Any) -> None:
        headers = {name.lower() for name in request.headers}
        if {h for h in headers if h == "x-amz-acl" or h.startswith("x-amz-grant")}:
            self.violations.append(f"headers of {request.url}")
        if "acl" in parse_qs(urlsplit(request.url).query, keep_blank_values=True):
            self.violations.append(f"?acl in {request.url}")


def test_no_operation_sends_an_acl(
    settings: Any, client: SyncS3Client, replica_client: SyncS3Client
) -> None:
    multipart = SyncS3Client.from_settings(
        dataclasses.replace(settings, multipart_threshold=5 * 1024 * 1024)
    )
    spy = _AclSpy(client.boto_client, replica_client.boto_client, multipart.boto_client)
    repo = SyncStorageRepository(client, replica_client=replica_client, erasure_backoff_s=0)
    jpeg = make_jpeg()

    client.upload_file(b"x", "tryon/u1/t1/r.jpg")
    multipart.put_object(b"m" * (6 * 1024 * 1024), "tryon/u1/t1/big.jpg")
    client.download_file("tryon/u1/t1/r.jpg")
    client.delete_file("tryon/u1/t1/r.jpg")
    repo.restore_previous_version("tryon/u1/t1/r.jpg")
    repo.upload_tryon_result("u1", "t1", jpeg, "r.jpg")
    repo.restore_previous_version("tryon/u1/t1/r.jpg")  # copy_object path
    repo.upload_clothing_image("u1", "c1", jpeg, "a.jpg")
    repo.upload_avatar("u1", jpeg, "a.jpg")
    repo.upload_body_image("u1", "b1", jpeg, "a.jpg")
    repo.upload_temp("s1", jpeg, "a.jpg", "image/jpeg")
    repo.promote_temp_upload("s1", "a.jpg", user_id="u1", category="clothing", item_id="c2")
    replica_client.put_object(b"r", "clothing/u1/c1/a.jpg")
    repo.user_storage_usage("u1")
    repo.delete_clothing_item("u1", "c1")
    assert repo.delete_user_files("u1")
    put_url = client.generate_presigned_put_url("temp/s1/b.jpg", "image/jpeg", 1)
    post = repo.presign_upload("s1", "c.jpg", "image/jpeg")
    multipart.close()

    expected = {
        "PutObject",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "GetObject",
        "DeleteObject",
        "CopyObject",
        "ListObjectVersions",
        "DeleteObjects",
    }
    assert expected <= set(spy.operations)  # the spy did see every kind of call
    assert spy.violations == []
    assert "acl" not in urlsplit(put_url).query.lower()
    assert not any("acl" in name.lower() for name in post.fields)
