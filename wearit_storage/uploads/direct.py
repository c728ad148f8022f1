"""Direct uploads: the app sends bytes to ``temp/{session_id}/`` itself; the API, or the
upload worker for a pinned destination, promotes them.

Mint ``session_id`` with :func:`~wearit_storage.paths.new_upload_session_id` and keep the
session-to-user binding on the server: whoever knows a session id could otherwise promote
that upload into their own account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Final

from wearit_storage.categories import Category
from wearit_storage.errors import ImageRejected, InvalidStorageRequest, UploadTooLarge
from wearit_storage.imaging import Renditions
from wearit_storage.paths import StoragePathBuilder, promotion_keys
from wearit_storage.renditions import RenditionPolicy
from wearit_storage.s3.client import StoredObject, SyncS3Client
from wearit_storage.s3.presign import PresignedPost, validate_image_content_type
from wearit_storage.s3.versions import purge_key
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.uploads.status import StatusRecord, UploadStatus, status_for_api, write_status
from wearit_storage.uploads.store import StoredImage, store_renditions

#: Called with the outcome of a promotion before the temp object is deleted.
Settle = Callable[[StoredImage | ImageRejected], None]

#: Renders an upload: the renditions of its bytes under a category's rendition policy
#: (the repository's ``render``, with its limits and memory budget).
Renderer = Callable[[bytes, Category], Renditions]

#: ``upload_temp`` also takes raw bytes whose type the app does not know yet.
TEMP_CONTENT_TYPES: Final = frozenset({"application/octet-stream"})


class DirectUploads:
    """The direct-upload operations, on one bucket: the repository holds one and hands it
    the client it stores with and the renderer it renders with."""

    def __init__(
        self,
        s3_client: SyncS3Client,
        policies: Mapping[Category, RenditionPolicy],
        renderer: Renderer,
    ) -> None:
        self.s3_client = s3_client
        self.policies = policies
        self.renderer = renderer

    def upload_temp(
        self,
        session_id: str,
        file_data: bytes,
        filename: str,
        content_type: str = "application/octet-stream",
    ) -> StoredObject:
        """Store raw bytes under ``temp/{session_id}/{filename}`` (no rendering)."""
        key = StoragePathBuilder.temp_path(session_id, filename)
        if content_type not in TEMP_CONTENT_TYPES:
            validate_image_content_type(content_type)
        limit = self.s3_client.settings.max_upload_bytes
        if len(file_data) > limit:
            raise UploadTooLarge(
                f"upload of {len(file_data)} bytes to {key!r} exceeds the limit of {limit} bytes: "
                "send a smaller file",
                key=key,
            )
        return self.s3_client.put_object(file_data, key, content_type)

    def presign_upload(
        self,
        session_id: str,
        filename: str,
        content_type: str | None = None,
        *,
        max_bytes: int | None = None,
        expires_in: int | None = None,
        destination: UploadDestination | None = None,
    ) -> PresignedPost:
        """Presigned POST into ``temp/{session_id}/{filename}`` for the mobile app.

        With ``destination``, the upload worker promotes the upload into it by itself (the
        fields are pinned in the signed policy); poll ``upload_status(session_id)``.
        Without, the API promotes it with ``promote_temp_upload`` as before.
        """
        key = StoragePathBuilder.temp_path(session_id, filename)
        return self.s3_client.generate_presigned_post(
            key,
            content_type=content_type,
            max_bytes=self.s3_client.settings.max_upload_bytes if max_bytes is None else max_bytes,
            expires_in=expires_in,
            pinned=None if destination is None else destination.form_fields(),
        )

    def presign_upload_put(
        self,
        session_id: str,
        filename: str,
        content_type: str,
        *,
        expires_in: int | None = None,
    ) -> str:
        """Presigned PUT into ``temp/``; the client must send exactly ``content_type``."""
        key = StoragePathBuilder.temp_path(session_id, filename)
        return self.s3_client.generate_presigned_put_url(key, content_type, expires_in)

    def promote_temp_upload(
        self,
        session_id: str,
        filename: str,
        *,
        user_id: str,
        category: Category | str,
        item_id: str | None = None,
    ) -> StoredImage:
        """Validate and render ``temp/{session_id}/{filename}`` into its final category.

        - rejected image (``ImageRejected``, including an object over ``max_upload_bytes``,
          refused before its body is read): the temp object is deleted anyway (every version)
          before re-raising: it is unusable and possibly hostile, and the app has to upload
          again in any case;
        - storage failure while writing the renditions: the temp object is kept so the
          promotion can be retried;
        - success: the temp object is deleted (every version).

        Names: :func:`~wearit_storage.paths.promotion_keys`.
        """
        temp_key = StoragePathBuilder.temp_path(session_id, filename)
        return self._promote(temp_key, UploadDestination(category, user_id, item_id))

    def promote_pinned_upload(self, session_id: str, filename: str) -> StoredImage:
        """Promote ``temp/{session_id}/{filename}`` into the destination pinned when its
        POST was presigned (read back with ``HeadObject``), and record the outcome for
        ``upload_status`` before the temp object is deleted. What the upload worker runs;
        ``InvalidStorageRequest`` if the upload carries no destination."""
        temp_key = StoragePathBuilder.temp_path(session_id, filename)
        head = self.s3_client.head_object(temp_key)
        destination = UploadDestination.from_metadata(head.metadata, key=temp_key)
        if destination is None:
            raise InvalidStorageRequest(
                f"{temp_key!r} was uploaded without a pinned destination: promote it with "
                "promote_temp_upload, or presign with destination=UploadDestination(...)",
                key=temp_key,
            )

        def settle(outcome: StoredImage | ImageRejected) -> None:
            now = datetime.now(UTC)
            if isinstance(outcome, ImageRejected):
                record = StatusRecord(
                    "rejected",
                    filename,
                    upload_etag=head.etag,
                    reason=outcome.reason,
                    message=str(outcome),
                    completed_at=now,
                )
            else:
                record = StatusRecord(
                    "done",
                    filename,
                    upload_etag=head.etag,
                    main_key=outcome.main.key,
                    thumbnail_key=outcome.thumbnail.key if outcome.thumbnail else None,
                    completed_at=now,
                    main_version_id=outcome.main.version_id,
                    thumbnail_version_id=(
                        outcome.thumbnail.version_id if outcome.thumbnail else None
                    ),
                )
            write_status(self.s3_client, session_id, record)

        return self._promote(temp_key, destination, settle)

    def upload_status(self, session_id: str) -> UploadStatus:
        """``pending``, ``done`` (keys and fresh GET URLs) or ``rejected`` (reason) for a
        session presigned with a destination; one ``ListObjectsV2`` while pending."""
        return status_for_api(self.s3_client, session_id)

    def _promote(
        self, temp_key: str, destination: UploadDestination, settle: Settle | None = None
    ) -> StoredImage:
        target = destination.category
        main_key, thumbnail_key = promotion_keys(
            target,
            destination.user_id,
            destination.item_id,
            with_thumbnail=self.policies[target].has_thumbnail,
        )
        try:
            data = self.s3_client.download_file(
                temp_key, max_bytes=self.s3_client.settings.max_upload_bytes
            )
            renditions = self.renderer(data, target)
        except (ImageRejected, UploadTooLarge) as exc:
            # A presigned PUT cannot bound the size: refused before reading the body.
            rejected = (
                exc
                if isinstance(exc, ImageRejected)
                else ImageRejected(str(exc), key=temp_key, reason="too_large")
            )
            if settle is not None:
                settle(rejected)
            purge_key(self.s3_client, temp_key)
            if rejected is exc:
                raise
            raise rejected from exc
        stored = store_renditions(self.s3_client, renditions, main_key, thumbnail_key)
        # The outcome is recorded before the temp object goes: a missing temp object with
        # no recorded outcome then always means expired or erased, never "in progress".
        if settle is not None:
            settle(stored)
        purge_key(self.s3_client, temp_key)
        return stored
