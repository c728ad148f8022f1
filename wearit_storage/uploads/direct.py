"""Direct uploads: the app sends bytes to ``temp/{session_id}/`` itself; the API, or the
upload worker for a pinned destination, promotes them.

Mint ``session_id`` with :func:`~wearit_storage.paths.new_upload_session_id` and keep the
session-to-user binding on the server: whoever knows a session id could otherwise promote
that upload into their own account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from wearit_storage.categories import Category
from wearit_storage.errors import ImageRejected, UploadTooLarge
from wearit_storage.imaging import Renditions
from wearit_storage.paths import StoragePathBuilder, pinned_upload_filename, promotion_keys
from wearit_storage.renditions import RenditionPolicy
from wearit_storage.s3.client import StoredObject, SyncS3Client
from wearit_storage.s3.presign import PresignedPost, validate_image_content_type
from wearit_storage.s3.versions import purge_key
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.uploads.sessions import bind_session
from wearit_storage.uploads.status import UploadStatus, status_for_api
from wearit_storage.uploads.store import StoredImage, store_renditions

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
        fields are pinned in the signed policy); poll ``upload_status(session_id)``. The
        session is recorded as the destination user's (``sessions/``, one PUT) before the
        POST is handed out, so that erasing the user reaches it. Without, the API promotes
        it with ``promote_temp_upload`` as before.
        """
        if destination is not None:
            # The worker is told of pinned uploads by their (lowercase) ending only.
            filename = pinned_upload_filename(filename)
        key = StoragePathBuilder.temp_path(session_id, filename)
        post = self.s3_client.generate_presigned_post(
            key,
            content_type=content_type,
            max_bytes=self.s3_client.settings.max_upload_bytes if max_bytes is None else max_bytes,
            expires_in=expires_in,
            pinned=None if destination is None else destination.form_fields(),
        )
        if destination is not None:
            # Before anyone can POST: an erasure finds the user's sessions by this record.
            bind_session(self.s3_client, destination.user_id, session_id)
        return post

    def presign_upload_put(
        self,
        session_id: str,
        filename: str,
        content_type: str,
        content_length: int,
        *,
        expires_in: int | None = None,
    ) -> str:
        """Presigned PUT into ``temp/``; the client must send exactly ``content_type`` and
        ``content_length`` bytes (both signed)."""
        key = StoragePathBuilder.temp_path(session_id, filename)
        return self.s3_client.generate_presigned_put_url(
            key, content_type, content_length, expires_in
        )

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

        Names: :func:`~wearit_storage.paths.promotion_keys`. Uploads presigned with a
        destination are the upload worker's (:mod:`wearit_storage.uploads.processor`).
        """
        temp_key = StoragePathBuilder.temp_path(session_id, filename)
        destination = UploadDestination(category, user_id, item_id)
        try:
            data = self.s3_client.download_file(
                temp_key, max_bytes=self.s3_client.settings.max_upload_bytes
            )
            renditions = self.render_for(data, destination)
        except (ImageRejected, UploadTooLarge) as exc:
            purge_key(self.s3_client, temp_key)
            if isinstance(exc, ImageRejected):
                raise
            # A presigned PUT cannot bound the size: refused before reading the body.
            raise ImageRejected(str(exc), key=temp_key, reason="too_large") from exc
        stored = self.store_for(renditions, destination)
        purge_key(self.s3_client, temp_key)
        return stored

    def render_for(self, data: bytes, destination: UploadDestination) -> Renditions:
        """The renditions of an upload under its destination category's policy."""
        return self.renderer(data, destination.category)

    def store_for(
        self,
        renditions: Renditions,
        destination: UploadDestination,
        *,
        writer: str | None = None,
    ) -> StoredImage:
        """Store ``renditions`` at the destination's promotion keys, all-or-nothing
        (``writer``: see :func:`~wearit_storage.uploads.store.store_renditions`)."""
        main_key, thumbnail_key = promotion_keys(
            destination.category,
            destination.user_id,
            destination.item_id,
            with_thumbnail=self.policies[destination.category].has_thumbnail,
        )
        return store_renditions(self.s3_client, renditions, main_key, thumbnail_key, writer=writer)

    def upload_status(self, session_id: str) -> UploadStatus:
        """``pending``, ``done`` (keys and fresh GET URLs) or ``rejected`` (reason) for a
        session presigned with a destination; one ``ListObjectsV2`` while pending."""
        return status_for_api(self.s3_client, session_id)
