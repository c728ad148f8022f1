"""The async storage repository (seed API): :class:`SyncStorageRepository` run off the loop.

Each method runs the synchronous twin's method, image rendering included, on the
bounded executor of the primary :class:`S3Client`; nothing blocks the event loop.
See :mod:`wearit_storage.sync_repository` for what each upload stores.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from wearit_storage.client import S3Client
from wearit_storage.erasure import (
    DEFAULT_BACKOFF_S,
    DEFAULT_RETRIES,
    ErasureProgress,
    ErasureReport,
)
from wearit_storage.imaging import ImageLimits
from wearit_storage.observability import MetricsHook
from wearit_storage.paths import Category, StoragePathBuilder
from wearit_storage.presign import PresignedPost
from wearit_storage.settings import StorageSettings
from wearit_storage.sync_client import StoredObject, SyncS3Client
from wearit_storage.sync_repository import Size, StoredImage, SyncStorageRepository
from wearit_storage.usage import StorageUsage


class StorageRepository:
    def __init__(
        self,
        s3_client: S3Client | None = None,
        *,
        replica_client: S3Client | SyncS3Client | None = None,
        main_size: Size = (800, 800),
        thumbnail_size: Size = (200, 200),
        image_limits: ImageLimits | None = None,
        max_upload_bytes: int | None = None,
        erasure_retries: int = DEFAULT_RETRIES,
        erasure_backoff_s: float = DEFAULT_BACKOFF_S,
    ) -> None:
        # As in the seed, a repository built without a client owns an unconnected one:
        # ``await repo.s3_client.connect(...)`` before use (or use ``from_settings``).
        self.s3_client = s3_client if s3_client is not None else S3Client()
        self.replica_client = replica_client
        self.path_builder = StoragePathBuilder()
        replica_sync = (
            replica_client.sync_client if isinstance(replica_client, S3Client) else replica_client
        )
        self.sync_repository = SyncStorageRepository(
            self.s3_client.sync_client,
            replica_client=replica_sync,
            main_size=main_size,
            thumbnail_size=thumbnail_size,
            image_limits=image_limits,
            max_upload_bytes=max_upload_bytes,
            erasure_retries=erasure_retries,
            erasure_backoff_s=erasure_backoff_s,
        )

    @classmethod
    async def from_settings(
        cls, settings: StorageSettings, *, metrics_hook: MetricsHook | None = None
    ) -> StorageRepository:
        """Connected primary client, plus the replica client when one is configured."""
        primary = await S3Client.from_settings(settings, metrics_hook=metrics_hook)
        replica = None
        if settings.replica_bucket_name is not None:
            try:
                replica = await S3Client.from_settings(
                    settings, metrics_hook=metrics_hook, replica=True
                )
            except BaseException:
                await primary.close()
                raise
        return cls(primary, replica_client=replica, max_upload_bytes=settings.max_upload_bytes)

    async def close(self) -> None:
        if isinstance(self.replica_client, S3Client):
            await self.replica_client.close()
        elif self.replica_client is not None and self.replica_client.connected:
            await asyncio.to_thread(self.replica_client.close)
        await self.s3_client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- seed API ------------------------------------------------------------------------

    async def upload_clothing_image(
        self, user_id: str, clothing_id: str, file_data: bytes, filename: str
    ) -> str:
        sync = self.sync_repository
        return await self.s3_client.run(
            sync.upload_clothing_image, user_id, clothing_id, file_data, filename
        )

    async def upload_body_image(
        self, user_id: str, body_id: str, file_data: bytes, filename: str
    ) -> str:
        sync = self.sync_repository
        return await self.s3_client.run(
            sync.upload_body_image, user_id, body_id, file_data, filename
        )

    async def upload_tryon_result(
        self, user_id: str, tryon_id: str, file_data: bytes, filename: str
    ) -> str:
        sync = self.sync_repository
        return await self.s3_client.run(
            sync.upload_tryon_result, user_id, tryon_id, file_data, filename
        )

    async def upload_avatar(self, user_id: str, file_data: bytes, filename: str) -> str:
        return await self.s3_client.run(
            self.sync_repository.upload_avatar, user_id, file_data, filename
        )

    async def upload_optimized_image(self, file_data: bytes, s3_key: str) -> str:
        return await self.s3_client.run(
            self.sync_repository.upload_optimized_image, file_data, s3_key
        )

    async def delete_user_files(
        self, user_id: str, *, progress: ErasureProgress | None = None
    ) -> ErasureReport:
        """Truthy report only when nothing of the user remains (seed returned a bool).

        ``progress`` receives the running count of deleted entries after each batch; it
        is called from the worker thread, so it must not touch the event loop directly.
        """
        return await self.s3_client.run(
            self.sync_repository.delete_user_files, user_id, progress=progress
        )

    # -- beyond the seed -----------------------------------------------------------------

    async def store_image(
        self, file_data: bytes, main_key: str, *, thumbnail_key: str | None = None
    ) -> StoredImage:
        return await self.s3_client.run(
            self.sync_repository.store_image, file_data, main_key, thumbnail_key=thumbnail_key
        )

    async def upload_temp(
        self,
        session_id: str,
        file_data: bytes,
        filename: str,
        content_type: str = "application/octet-stream",
    ) -> StoredObject:
        return await self.s3_client.run(
            self.sync_repository.upload_temp, session_id, file_data, filename, content_type
        )

    def presign_upload(
        self,
        session_id: str,
        filename: str,
        content_type: str | None = None,
        *,
        max_bytes: int | None = None,
        expires_in: int | None = None,
    ) -> PresignedPost:
        """Synchronous: signing is local CPU work."""
        return self.sync_repository.presign_upload(
            session_id, filename, content_type, max_bytes=max_bytes, expires_in=expires_in
        )

    def presign_upload_put(
        self, session_id: str, filename: str, content_type: str, *, expires_in: int | None = None
    ) -> str:
        return self.sync_repository.presign_upload_put(
            session_id, filename, content_type, expires_in=expires_in
        )

    def presigned_url(self, s3_key: str, expires_in: int | None = None) -> str:
        return self.sync_repository.presigned_url(s3_key, expires_in)

    async def promote_temp_upload(
        self,
        session_id: str,
        filename: str,
        *,
        user_id: str,
        category: Category | str,
        item_id: str | None = None,
    ) -> StoredImage:
        return await self.s3_client.run(
            self.sync_repository.promote_temp_upload,
            session_id,
            filename,
            user_id=user_id,
            category=category,
            item_id=item_id,
        )

    async def delete_clothing_item(self, user_id: str, clothing_id: str) -> ErasureReport:
        return await self.s3_client.run(
            self.sync_repository.delete_clothing_item, user_id, clothing_id
        )

    async def restore_previous_version(self, s3_key: str) -> str:
        return await self.s3_client.run(self.sync_repository.restore_previous_version, s3_key)

    async def user_storage_usage(self, user_id: str) -> StorageUsage:
        return await self.s3_client.run(self.sync_repository.user_storage_usage, user_id)
