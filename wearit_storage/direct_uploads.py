"""Direct uploads: the app sends bytes to ``temp/{session_id}/`` itself, the API promotes them.

Mint ``session_id`` with :func:`~wearit_storage.paths.new_upload_session_id` and keep the
session-to-user binding on the server: whoever knows a session id could otherwise promote
that upload into their own account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from wearit_storage.categories import Category
from wearit_storage.client import StoredObject, SyncS3Client
from wearit_storage.errors import ImageRejected, UploadTooLarge
from wearit_storage.image_store import StoredImage, store_renditions
from wearit_storage.imaging import Renditions
from wearit_storage.paths import StoragePathBuilder, promotable_category, promotion_keys
from wearit_storage.presign import PresignedPost, validate_image_content_type
from wearit_storage.renditions import RenditionPolicy
from wearit_storage.versioning import purge_key

#: ``upload_temp`` also takes raw bytes whose type the app does not know yet.
TEMP_CONTENT_TYPES: Final = frozenset({"application/octet-stream"})


class DirectUploads:
    """The direct-upload operations, mixed into the repository (which provides the client
    and the rendering)."""

    s3_client: SyncS3Client
    policies: Mapping[Category, RenditionPolicy]

    def render(self, file_data: bytes, category: Category | str = Category.CLOTHING) -> Renditions:
        raise NotImplementedError

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
    ) -> PresignedPost:
        """Presigned POST into ``temp/{session_id}/{filename}`` for the mobile app."""
        key = StoragePathBuilder.temp_path(session_id, filename)
        return self.s3_client.generate_presigned_post(
            key,
            content_type=content_type,
            max_bytes=self.s3_client.settings.max_upload_bytes if max_bytes is None else max_bytes,
            expires_in=expires_in,
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
        target = promotable_category(category)
        main_key, thumbnail_key = promotion_keys(
            target, user_id, item_id, with_thumbnail=self.policies[target].has_thumbnail
        )
        try:
            data = self.s3_client.download_file(
                temp_key, max_bytes=self.s3_client.settings.max_upload_bytes
            )
            renditions = self.render(data, target)
        except (ImageRejected, UploadTooLarge) as exc:
            purge_key(self.s3_client, temp_key)
            if isinstance(exc, ImageRejected):
                raise
            # A presigned PUT cannot bound the size: refuse before reading the body.
            raise ImageRejected(str(exc), key=temp_key, reason="too_large") from exc
        stored = store_renditions(self.s3_client, renditions, main_key, thumbnail_key)
        purge_key(self.s3_client, temp_key)
        return stored
