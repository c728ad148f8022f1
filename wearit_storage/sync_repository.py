"""The synchronous storage repository: the one implementation behind both repositories.

What the seed-signature upload methods store (``filename`` keeps the seed's meaning: the
key is ``StoragePathBuilder.<category>_path(..., filename)``):

=====================  ==========================================  ======================
method                 main rendition (JPEG, fits ``main_size``)   thumbnail (JPEG, crop)
=====================  ==========================================  ======================
upload_clothing_image  ``clothing/{u}/{item}/{filename}``          ``{stem}_thumb.jpg``
upload_avatar          ``avatars/{u}/{filename}``                  ``{stem}_thumb.jpg``
upload_body_image      ``body/{u}/{item}/{filename}``              none (no extra copies)
upload_tryon_result    ``tryon/{u}/{item}/{filename}``             none (seed tree)
=====================  ==========================================  ======================

Every image goes through ``ImageProcessor.render`` (validated, EXIF-rotated, metadata
stripped, re-encoded as JPEG, ``Content-Type: image/jpeg``) whatever the extension of
``filename``; the methods return the presigned GET URL of the main rendition, as the
seed did. ``promote_temp_upload`` chooses the names itself: ``image.jpg`` / ``thumb.jpg``
(``avatar.jpg`` / ``avatar_thumb.jpg`` for avatars).

Renditions are written main first, thumbnail second; if the second write fails the
version written by the first is deleted (by its ``VersionId``), so neither is left and a
previous version of the main key, if any, is current again.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Final, Self

from wearit_storage.erasure import (
    DEFAULT_BACKOFF_S,
    DEFAULT_RETRIES,
    ErasureProgress,
    ErasureReport,
    ErasureTarget,
    erase_prefixes,
)
from wearit_storage.errors import (
    ImageRejected,
    InvalidStorageKey,
    InvalidStorageRequest,
    StorageError,
)
from wearit_storage.imaging import ImageLimits, ImageProcessor, Renditions
from wearit_storage.observability import MetricsHook, logger
from wearit_storage.paths import (
    AVATAR_RENDITION_NAME,
    AVATAR_THUMBNAIL_RENDITION_NAME,
    MAIN_RENDITION_NAME,
    THUMBNAIL_RENDITION_NAME,
    USER_CATEGORIES,
    Category,
    StoragePathBuilder,
    build_key,
    item_prefix,
    thumbnail_name,
    user_prefix,
    validate_id,
    validate_key,
)
from wearit_storage.presign import PresignedPost, validate_image_content_type
from wearit_storage.settings import StorageSettings
from wearit_storage.sync_client import StoredObject, SyncS3Client
from wearit_storage.usage import StorageUsage, user_storage_usage
from wearit_storage.versioning import purge_key, restore_previous_version

Size = tuple[int, int]
JPEG: Final = "image/jpeg"
#: ``upload_temp`` also takes raw bytes whose type the app does not know yet.
TEMP_CONTENT_TYPES: Final = frozenset({"application/octet-stream"})
#: Categories a temp upload may be promoted into.
PROMOTABLE: Final = frozenset({Category.CLOTHING, Category.BODY, Category.AVATARS})
_WITH_THUMBNAIL: Final = frozenset({Category.CLOTHING, Category.AVATARS})


@dataclass(frozen=True, slots=True)
class StoredImage:
    main: StoredObject
    thumbnail: StoredObject | None
    url: str  # presigned GET URL of the main rendition


class SyncStorageRepository:
    def __init__(
        self,
        s3_client: SyncS3Client | None = None,
        *,
        replica_client: SyncS3Client | None = None,
        main_size: Size = (800, 800),
        thumbnail_size: Size = (200, 200),
        image_limits: ImageLimits | None = None,
        max_upload_bytes: int | None = None,
        erasure_retries: int = DEFAULT_RETRIES,
        erasure_backoff_s: float = DEFAULT_BACKOFF_S,
    ) -> None:
        self.s3_client = s3_client if s3_client is not None else SyncS3Client()
        self.replica_client = replica_client
        self.path_builder = StoragePathBuilder()
        self.main_size = main_size
        self.thumbnail_size = thumbnail_size
        self.image_limits = image_limits
        self._max_upload_bytes = max_upload_bytes
        self.erasure_retries = erasure_retries
        self.erasure_backoff_s = erasure_backoff_s

    @classmethod
    def from_settings(
        cls, settings: StorageSettings, *, metrics_hook: MetricsHook | None = None
    ) -> SyncStorageRepository:
        """Connected primary client, plus the replica client when one is configured."""
        primary = SyncS3Client.from_settings(settings, metrics_hook=metrics_hook)
        replica = None
        if settings.replica_bucket_name is not None:
            try:
                replica = SyncS3Client.from_settings(
                    settings, metrics_hook=metrics_hook, replica=True
                )
            except BaseException:
                primary.close()
                raise
        return cls(primary, replica_client=replica, max_upload_bytes=settings.max_upload_bytes)

    def close(self) -> None:
        self.s3_client.close()
        if self.replica_client is not None:
            self.replica_client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def max_upload_bytes(self) -> int:
        if self._max_upload_bytes is not None:
            return self._max_upload_bytes
        return self.s3_client.presign_defaults.max_upload_bytes

    # -- seed uploads ------------------------------------------------------------------

    def upload_clothing_image(
        self, user_id: str, clothing_id: str, file_data: bytes, filename: str
    ) -> str:
        key = self.path_builder.clothing_path(user_id, clothing_id, filename)
        return self.store_image(file_data, key, thumbnail_key=_thumbnail_key(key)).url

    def upload_body_image(self, user_id: str, body_id: str, file_data: bytes, filename: str) -> str:
        key = self.path_builder.body_path(user_id, body_id, filename)
        return self.store_image(file_data, key).url

    def upload_tryon_result(
        self, user_id: str, tryon_id: str, file_data: bytes, filename: str
    ) -> str:
        key = self.path_builder.tryon_path(user_id, tryon_id, filename)
        return self.store_image(file_data, key).url

    def upload_avatar(self, user_id: str, file_data: bytes, filename: str) -> str:
        key = self.path_builder.avatar_path(user_id, filename)
        return self.store_image(file_data, key, thumbnail_key=_thumbnail_key(key)).url

    def upload_optimized_image(self, file_data: bytes, s3_key: str) -> str:
        """Seed API ("Compression"): store the main rendition at ``s3_key``, return its URL."""
        return self.store_image(file_data, s3_key).url

    # -- renditions --------------------------------------------------------------------

    def render(self, file_data: bytes) -> Renditions:
        return ImageProcessor.render(
            file_data,
            main_size=self.main_size,
            thumbnail_size=self.thumbnail_size,
            limits=self.image_limits,
        )

    def store_image(
        self, file_data: bytes, main_key: str, *, thumbnail_key: str | None = None
    ) -> StoredImage:
        """Render ``file_data`` and store its renditions atomically (see module doc)."""
        validate_key(main_key)
        if thumbnail_key is not None:
            validate_key(thumbnail_key)
        return self.store_renditions(self.render(file_data), main_key, thumbnail_key)

    def store_renditions(
        self, renditions: Renditions, main_key: str, thumbnail_key: str | None
    ) -> StoredImage:
        main = self.s3_client.put_object(renditions.main, main_key, JPEG)
        thumbnail = None
        if thumbnail_key is not None:
            try:
                thumbnail = self.s3_client.put_object(renditions.thumbnail, thumbnail_key, JPEG)
            except BaseException:
                self._roll_back(main)
                raise
        return StoredImage(main, thumbnail, self.s3_client.generate_presigned_url(main_key))

    def _roll_back(self, written: StoredObject) -> None:
        try:
            if written.version_id is not None:
                self.s3_client.delete_versions(written.key, [written.version_id])
            else:  # unversioned bucket: the object itself is the only copy
                self.s3_client.boto_client.delete_object(
                    Bucket=self.s3_client.bucket_name, Key=written.key
                )
        except Exception:
            logger.exception(
                "rollback failed: %s (version %s) is left behind", written.key, written.version_id
            )

    # -- temp uploads ------------------------------------------------------------------

    def upload_temp(
        self,
        session_id: str,
        file_data: bytes,
        filename: str,
        content_type: str = "application/octet-stream",
    ) -> StoredObject:
        """Store raw bytes under ``temp/{session_id}/{filename}`` (no rendering)."""
        key = self.path_builder.temp_path(session_id, filename)
        if content_type not in TEMP_CONTENT_TYPES:
            validate_image_content_type(content_type)
        if len(file_data) > self.max_upload_bytes:
            raise InvalidStorageRequest(
                f"upload of {len(file_data)} bytes to {key!r} exceeds the limit of "
                f"{self.max_upload_bytes} bytes: send a smaller file",
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
        """Presigned POST into ``temp/{session_id}/{filename}`` for the mobile app.

        Mint ``session_id`` with :func:`~wearit_storage.paths.new_upload_session_id` and
        keep the session-to-user binding on the server: whoever knows a session id could
        otherwise promote that upload into their own account.
        """
        key = self.path_builder.temp_path(session_id, filename)
        return self.s3_client.generate_presigned_post(
            key,
            content_type=content_type,
            max_bytes=self.max_upload_bytes if max_bytes is None else max_bytes,
            expires_in=expires_in,
        )

    def presign_upload_put(
        self, session_id: str, filename: str, content_type: str, *, expires_in: int | None = None
    ) -> str:
        """Presigned PUT into ``temp/``; the client must send exactly ``content_type``."""
        key = self.path_builder.temp_path(session_id, filename)
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

        - rejected image (``ImageRejected``, including an object over
          ``max_upload_bytes``, refused before its body is read): the temp object is
          deleted anyway (every version) before re-raising: it is unusable and possibly
          hostile, and the app has to upload again in any case;
        - storage failure while writing the renditions: the temp object is kept so the
          promotion can be retried;
        - success: the temp object is deleted (every version).

        Names: ``{category}/{user_id}/{item_id}/image.jpg`` + ``thumb.jpg`` (clothing),
        ``body/{user_id}/{item_id}/image.jpg`` (body, no thumbnail),
        ``avatars/{user_id}/avatar.jpg`` + ``avatar_thumb.jpg``.
        """
        temp_key = self.path_builder.temp_path(session_id, filename)
        target = _promotable_category(category)
        main_key, thumbnail_key = _promotion_keys(target, user_id, item_id)
        try:
            data = self.s3_client.download_file(temp_key, max_bytes=self.max_upload_bytes)
            renditions = self.render(data)
        except (ImageRejected, InvalidStorageRequest) as exc:
            purge_key(self.s3_client, temp_key)
            if isinstance(exc, ImageRejected):
                raise
            # A presigned PUT cannot bound the size: refuse before reading the body.
            raise ImageRejected(str(exc), key=temp_key) from exc
        stored = self.store_renditions(renditions, main_key, thumbnail_key)
        purge_key(self.s3_client, temp_key)
        return stored

    # -- deletion, versions, usage -----------------------------------------------------

    def delete_user_files(
        self, user_id: str, *, progress: ErasureProgress | None = None
    ) -> ErasureReport:
        """Erase every version of everything the user owns, in primary and replica.

        Returns an :class:`ErasureReport`, truthy only when nothing of the user remains
        (the seed returned a bool). Never raises for per-object failures: they are in the
        report (``report.raise_if_incomplete()`` turns them into ``ErasureIncomplete``).
        """
        prefixes = {category: user_prefix(category, user_id) for category in USER_CATEGORIES}
        return self._erase(f"user {user_id}", prefixes, progress)

    def delete_clothing_item(self, user_id: str, clothing_id: str) -> ErasureReport:
        """Erase every version of every file of one clothing item (primary and replica)."""
        validate_id(clothing_id, field="clothing_id")
        prefixes = {Category.CLOTHING: item_prefix(Category.CLOTHING, user_id, clothing_id)}
        return self._erase(f"clothing item {user_id}/{clothing_id}", prefixes)

    def _erase(
        self,
        subject: str,
        prefixes: dict[Category, str],
        progress: ErasureProgress | None = None,
    ) -> ErasureReport:
        targets = [ErasureTarget(self.s3_client.boto_client, self.s3_client.bucket_name)]
        if self.replica_client is not None:
            targets.append(
                ErasureTarget(
                    self.replica_client.boto_client,
                    self.replica_client.bucket_name,
                    aborts_uploads=False,
                )
            )
        report = ErasureReport(subject)
        label = ",".join(prefixes.values())
        try:
            with self.s3_client.operation("erase", label) as record:
                erase_prefixes(
                    targets,
                    prefixes,
                    report,
                    retries=self.erasure_retries,
                    backoff_s=self.erasure_backoff_s,
                    progress=progress,
                )
                record.bytes = 0
                if not report:
                    raise _IncompleteErasureError(report)
        except _IncompleteErasureError:
            pass  # logged at ERROR and reported to the metrics hook; the report says what
        return report

    def restore_previous_version(self, s3_key: str) -> str:
        """Undo the last overwrite or delete of ``s3_key``; returns the current version id."""
        return restore_previous_version(self.s3_client, s3_key)

    def user_storage_usage(self, user_id: str) -> StorageUsage:
        return user_storage_usage(self.s3_client, user_id)

    def presigned_url(self, s3_key: str, expires_in: int | None = None) -> str:
        return self.s3_client.generate_presigned_url(s3_key, expires_in)


class _IncompleteErasureError(StorageError):
    """Internal: makes an incomplete erasure count as a failed operation in logs/metrics."""

    def __init__(self, report: ErasureReport) -> None:
        super().__init__(
            f"erasure of {report.subject} incomplete: {len(report.failures)} failure(s), "
            f"remaining {report.remaining}"
        )


def _thumbnail_key(main_key: str) -> str:
    folder, _, filename = main_key.rpartition("/")
    return f"{folder}/{thumbnail_name(filename)}"


def _promotable_category(category: Category | str) -> Category:
    value = "avatars" if category == "avatar" else category
    try:
        target = Category(value)
    except ValueError:
        target = None
    if target not in PROMOTABLE or target is None:
        raise InvalidStorageKey(
            f"cannot promote a temp upload into {category!r}: use one of "
            f"{', '.join(sorted(c.value for c in PROMOTABLE))}"
        )
    return target


def _promotion_keys(
    category: Category, user_id: str, item_id: str | None
) -> tuple[str, str | None]:
    if category is Category.AVATARS:
        if item_id is not None:
            raise InvalidStorageKey("avatars have no item id: pass item_id=None")
        main = build_key(category, user_id, None, AVATAR_RENDITION_NAME)
        thumb = build_key(category, user_id, None, AVATAR_THUMBNAIL_RENDITION_NAME)
        return str(main), str(thumb)
    if item_id is None:
        raise InvalidStorageKey(f"promoting into {category.value}/ needs an item_id")
    main = build_key(category, user_id, item_id, MAIN_RENDITION_NAME)
    if category not in _WITH_THUMBNAIL:
        return str(main), None
    return str(main), str(build_key(category, user_id, item_id, THUMBNAIL_RENDITION_NAME))
