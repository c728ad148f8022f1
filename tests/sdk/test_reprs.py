"""No bearer URL in a repr: logging a result (``log.info("%s", export)``) must never write
a credential to the logs."""

from __future__ import annotations

import logging

import pytest

from tests.sdk.helpers import make_jpeg
from wearit_storage import SyncStorageRepository
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.uploads.status import UploadStatus


def test_results_that_carry_urls_keep_them_out_of_their_repr(
    repo: SyncStorageRepository, caplog: pytest.LogCaptureFixture
) -> None:
    stored = repo.store_clothing_image("u1", "c1", make_jpeg(), "photo.jpg")
    export = repo.export_user_files("u1")
    status = UploadStatus("s1", "done", main_key="k", url=stored.url, thumbnail_url=stored.url)
    assert "X-Amz-Signature" in stored.url
    assert "X-Amz-Signature" in export.url
    with caplog.at_level(logging.INFO):
        for result in (stored, export, status):
            logging.getLogger("app").info("stored %s", result)
            assert "X-Amz-Signature" not in repr(result)
            assert "X-Amz-Signature" not in str(result)
    assert "X-Amz-Signature" not in caplog.text
    assert stored.main.key in caplog.text  # what a log line is for is still there


def test_a_post_presigned_for_a_destination_keeps_the_policy_out_of_logs(
    repo: SyncStorageRepository, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        post = repo.presign_upload(
            "s2", "photo.jpg", destination=UploadDestination("avatars", "u1")
        )
    assert post.fields["x-amz-signature"] not in caplog.text
