"""The storage repository: the WearIT operations, in :class:`SyncStorageRepository`, and
:class:`StorageRepository`, their async face (each operation on a bounded thread pool).

What the upload methods store (the key is ``StoragePathBuilder.<category>_path(...,
filename)`` with the extension made ``.jpg``, since every rendition has a JPEG; clothing
and avatars also store an AVIF beside each JPEG, ``{stem}.avif`` and ``{stem}_thumb.avif``):

=====================  ==================================  ==============================
method                 main rendition                      thumbnail
=====================  ==================================  ==============================
upload_clothing_image  ``clothing/{u}/{item}/{stem}.jpg``  ``{stem}_thumb.jpg``
upload_avatar          ``avatars/{u}/{stem}.jpg``          ``{stem}_thumb.jpg``
upload_body_image      ``body/{u}/{item}/{stem}.jpg``      none (no extra copies)
upload_tryon_result    ``tryon/{u}/{item}/{stem}.jpg``     none
=====================  ==================================  ==============================

Sizes and qualities come from the category's :class:`~wearit_storage.renditions.
RenditionPolicy` (800 px and a 200x200 thumbnail for the wardrobe, up to 2048 px for the
try-on model's inputs and outputs). Every image goes through the same safe pipeline
(validated, EXIF-rotated, metadata stripped, sRGB, re-encoded as JPEG) whatever the format;
the methods return the presigned GET URL of the main rendition. Renditions
are stored all-or-nothing (:mod:`wearit_storage.uploads.store`); direct uploads through
``temp/`` are the repository's :class:`~wearit_storage.uploads.direct.DirectUploads`
(``repository.uploads``, whose operations it also offers itself), erasure is in
:mod:`wearit_storage.privacy.erasure`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Self, TypedDict

from wearit_storage.categories import USER_CATEGORIES, Category
from wearit_storage.delivery.invalidation import EdgeInvalidator
from wearit_storage.delivery.signing import SignedCookies
from wearit_storage.errors import InvalidStorageKey
from wearit_storage.faces.asynchronous import AsyncFace, inline, offloaded
from wearit_storage.faces.closing import ClosedOnExit
from wearit_storage.imaging import ImageLimits, ImageProcessor, Renditions
from wearit_storage.imaging.budget import budget_for
from wearit_storage.imaging.limits import DEFAULT_LIMITS
from wearit_storage.observability import MetricsHook
from wearit_storage.paths import (
    StoragePathBuilder,
    item_prefix,
    key_category,
    parse_key,
    rendition_key,
    require_rendition_key,
    thumbnail_key,
    validate_id,
)
from wearit_storage.privacy.erasure import (
    DEFAULT_BACKOFF_S,
    DEFAULT_RETRIES,
    ErasurePreview,
    ErasureProgress,
    ErasureReport,
    Prefixes,
    erase,
    invalidate_erased_user,
    preview_erasure,
    user_erasure_prefixes,
)
from wearit_storage.privacy.export import ExportProgress, UserExport, export_user_files
from wearit_storage.privacy.requests import (
    ErasureStatus,
    erasure_status,
    refuse_if_erased,
    request_user_erasure,
)
from wearit_storage.privacy.usage import StorageUsage, user_storage_usage
from wearit_storage.renditions import WARDROBE, RenditionPolicy, merged_policies
from wearit_storage.s3.client import S3Client, StoredObject, SyncS3Client, executor_for
from wearit_storage.s3.health import HealthReport, check_health
from wearit_storage.s3.presign import PresignedPost
from wearit_storage.s3.transport import boto_session
from wearit_storage.settings import StorageSettings
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.uploads.direct import DirectUploads
from wearit_storage.uploads.restore import RestoredRenditions, restore_renditions
from wearit_storage.uploads.status import UploadStatus
from wearit_storage.uploads.store import StoredImage, store_renditions

if TYPE_CHECKING:
    from typing_extensions import Unpack

Size = tuple[int, int]


class RepositoryOptions(TypedDict, total=False):
    """What a repository renders and how hard its erasure retries (defaults below)."""

    policies: Mapping[Category | str, RenditionPolicy]  # rows over DEFAULT_POLICIES
    # Pixels and formats an upload may have; its byte limit is WEARIT_MAX_UPLOAD_BYTES.
    image_limits: ImageLimits | None
    erasure_retries: int  # retries of per-key DeleteObjects errors (3)
    erasure_backoff_s: float  # first retry delay, doubled each time (0.2 s)
    # Erasure drops the user's images from the CDN's edges (from_settings: built from
    # WEARIT_CDN_DISTRIBUTION_ID; none by default).
    edge_invalidator: EdgeInvalidator | None


class SyncStorageRepository(ClosedOnExit):
    def __init__(
        self,
        s3_client: SyncS3Client | None = None,
        *,
        replica_client: SyncS3Client | None = None,
        **options: Unpack[RepositoryOptions],
    ) -> None:
        # Built without a client, it owns an unconnected one: ``repo.s3_client.connect(...)``.
        self.s3_client = s3_client if s3_client is not None else SyncS3Client()
        self.replica_client = replica_client
        # Reads (workers, export, the CLI's download) survive a primary-region outage.
        self.s3_client.read_from_replica(replica_client)
        self.policies = merged_policies(options.get("policies"))
        self.image_limits = options.get("image_limits")
        if self.image_limits is not None and self.image_limits.max_bytes not in (
            DEFAULT_LIMITS.max_bytes,
            self._configured_max_bytes(),
        ):
            raise ValueError(
                f"image_limits.max_bytes={self.image_limits.max_bytes}: a repository's byte "
                "limit is WEARIT_MAX_UPLOAD_BYTES (StorageSettings.max_upload_bytes), the one "
                "limit of every upload path; set it there"
            )
        self.erasure_retries = options.get("erasure_retries", DEFAULT_RETRIES)
        self.erasure_backoff_s = options.get("erasure_backoff_s", DEFAULT_BACKOFF_S)
        self.edge_invalidator = options.get("edge_invalidator")
        #: Direct uploads through ``temp/``, rendered by this repository's ``render``.
        self.uploads = DirectUploads(self.s3_client, self.policies, self.render)

    @classmethod
    def from_settings(
        cls,
        settings: StorageSettings,
        *,
        metrics_hook: MetricsHook | None = None,
        **options: Unpack[RepositoryOptions],
    ) -> Self:
        """Connected primary client, plus the replica client when one is configured."""
        primary = SyncS3Client.from_settings(settings, metrics_hook=metrics_hook)
        replica = None
        if settings.has_replica:
            try:
                replica = SyncS3Client.from_settings(settings.replica(), metrics_hook=metrics_hook)
            except BaseException:
                primary.close()
                raise
        if "edge_invalidator" not in options:
            options["edge_invalidator"] = EdgeInvalidator.from_settings(
                settings, boto_session(settings)
            )
        return cls(primary, replica_client=replica, **options)

    def close(self) -> None:
        self.s3_client.close()
        if self.replica_client is not None:
            self.replica_client.close()

    @property
    def max_upload_bytes(self) -> int:
        return self.s3_client.settings.max_upload_bytes

    def _configured_max_bytes(self) -> int | None:
        return self.s3_client.settings.max_upload_bytes if self.s3_client.connected else None

    # -- uploads: the signatures of docs/design-document.fr.rst, returning the main URL ------

    def upload_clothing_image(
        self, user_id: str, clothing_id: str, file_data: bytes, filename: str
    ) -> str:
        return self.store_clothing_image(user_id, clothing_id, file_data, filename).url

    def upload_body_image(self, user_id: str, body_id: str, file_data: bytes, filename: str) -> str:
        return self.store_body_image(user_id, body_id, file_data, filename).url

    def upload_tryon_result(
        self, user_id: str, tryon_id: str, file_data: bytes, filename: str
    ) -> str:
        return self.store_tryon_result(user_id, tryon_id, file_data, filename).url

    def upload_avatar(self, user_id: str, file_data: bytes, filename: str) -> str:
        return self.store_avatar(user_id, file_data, filename).url

    def upload_optimized_image(self, file_data: bytes, s3_key: str) -> str:
        """Store the main rendition of ``file_data`` at ``s3_key`` (a ``.jpg`` key: the
        rendition is a JPEG); return its URL."""
        return self.store_image(file_data, s3_key).url

    # -- uploads returning everything that was stored (keys, version ids, URL) -----------

    def store_clothing_image(
        self, user_id: str, clothing_id: str, file_data: bytes, filename: str
    ) -> StoredImage:
        key = StoragePathBuilder.clothing_path(user_id, clothing_id, filename)
        return self._store_in(Category.CLOTHING, key, file_data)

    def store_body_image(
        self, user_id: str, body_id: str, file_data: bytes, filename: str
    ) -> StoredImage:
        key = StoragePathBuilder.body_path(user_id, body_id, filename)
        return self._store_in(Category.BODY, key, file_data)

    def store_tryon_result(
        self, user_id: str, tryon_id: str, file_data: bytes, filename: str
    ) -> StoredImage:
        key = StoragePathBuilder.tryon_path(user_id, tryon_id, filename)
        return self._store_in(Category.TRYON, key, file_data)

    def store_avatar(self, user_id: str, file_data: bytes, filename: str) -> StoredImage:
        key = StoragePathBuilder.avatar_path(user_id, filename)
        return self._store_in(Category.AVATARS, key, file_data)

    # -- reads, with the path builder's arguments (what the try-on workers need) ---------

    def download_clothing_image(self, user_id: str, clothing_id: str, filename: str) -> bytes:
        key = StoragePathBuilder.clothing_path(user_id, clothing_id, filename)
        return self.s3_client.download_file(rendition_key(key))

    def download_body_image(self, user_id: str, body_id: str, filename: str) -> bytes:
        key = StoragePathBuilder.body_path(user_id, body_id, filename)
        return self.s3_client.download_file(rendition_key(key))

    def download_tryon_result(self, user_id: str, tryon_id: str, filename: str) -> bytes:
        key = StoragePathBuilder.tryon_path(user_id, tryon_id, filename)
        return self.s3_client.download_file(rendition_key(key))

    def download_avatar(self, user_id: str, filename: str) -> bytes:
        key = StoragePathBuilder.avatar_path(user_id, filename)
        return self.s3_client.download_file(rendition_key(key))

    def health(self) -> HealthReport:
        """Whether the bucket (and the replica, when configured) answer; never raises."""
        return check_health(self.s3_client, self.replica_client)

    # -- renditions --------------------------------------------------------------------

    def render(self, file_data: bytes, category: Category | str = Category.CLOTHING) -> Renditions:
        """The renditions of an upload under ``category``'s policy and this repository's
        limits (``WEARIT_MAX_UPLOAD_BYTES`` bounds its bytes), admitted against the
        process's image memory budget."""
        return self._render_with(self.policies[Category(category)], file_data)

    def _render_with(self, policy: RenditionPolicy, file_data: bytes) -> Renditions:
        settings = self.s3_client.settings
        limits = dataclasses.replace(
            self.image_limits or DEFAULT_LIMITS, max_bytes=settings.max_upload_bytes
        )
        return ImageProcessor.render(
            file_data,
            main_size=policy.main_size,
            thumbnail_size=policy.thumbnail_size,
            main_quality=policy.main_quality,
            thumbnail_quality=policy.thumbnail_quality,
            formats=policy.formats,
            limits=limits,
            budget=budget_for(settings.image_memory_mb),
        )

    def store_image(
        self, file_data: bytes, main_key: str, *, thumbnail_key: str | None = None
    ) -> StoredImage:
        """Render ``file_data`` with the policy of ``main_key``'s category (the wardrobe's
        for other keys) and store its renditions all-or-nothing; a ``thumbnail_key`` gets
        a thumbnail even where the policy has none."""
        require_rendition_key(main_key)
        if thumbnail_key is not None:
            require_rendition_key(thumbnail_key)
        category = key_category(main_key)
        policy = self.policies.get(category or Category.CLOTHING, self.policies[Category.CLOTHING])
        if thumbnail_key is not None and policy.thumbnail_size is None:
            policy = dataclasses.replace(policy, thumbnail_size=WARDROBE.thumbnail_size)
        renditions = self._render_with(policy, file_data)
        parsed = parse_key(main_key)
        if parsed.category in USER_CATEGORIES:
            # Right before anything of the user is written: an erasure request wins.
            refuse_if_erased(self.s3_client, parsed.owner_id)
        return store_renditions(self.s3_client, renditions, main_key, thumbnail_key)

    def store_at_key(self, key: str, file_data: bytes) -> StoredImage:
        """Store an image at a key built elsewhere (a script, the CLI): ``key`` must lie in
        a category of user data; it is made ``.jpg`` and stored with the category's policy,
        thumbnail included, exactly as the ``upload_*`` method of that category would."""
        parsed = parse_key(key)
        if parsed.category not in self.policies:
            raise InvalidStorageKey(
                f"{key!r} is not in a category of user data ("
                + ", ".join(c.prefix for c in self.policies)
                + "): temp/ uploads go through upload_temp",
                key=key,
            )
        return self._store_in(parsed.category, key, file_data)

    def _store_in(self, category: Category, key: str, file_data: bytes) -> StoredImage:
        """Store at ``key`` (made ``.jpg``), with a thumbnail where the policy has one."""
        main = rendition_key(key)
        with_thumbnail = self.policies[category].has_thumbnail
        return self.store_image(
            file_data, main, thumbnail_key=thumbnail_key(main) if with_thumbnail else None
        )

    # -- direct uploads (``self.uploads``), offered here too --------------------------------

    def upload_temp(
        self,
        session_id: str,
        file_data: bytes,
        filename: str,
        content_type: str = "application/octet-stream",
    ) -> StoredObject:
        """Store raw bytes under ``temp/{session_id}/{filename}`` (no rendering)."""
        return self.uploads.upload_temp(session_id, file_data, filename, content_type)

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
        """Presigned POST into ``temp/{session_id}/{filename}`` (see
        :meth:`DirectUploads.presign_upload`)."""
        return self.uploads.presign_upload(
            session_id,
            filename,
            content_type,
            max_bytes=max_bytes,
            expires_in=expires_in,
            destination=destination,
        )

    def presign_upload_put(
        self,
        session_id: str,
        filename: str,
        content_type: str,
        content_length: int,
        *,
        expires_in: int | None = None,
    ) -> str:
        """Presigned PUT into ``temp/`` of exactly ``content_length`` bytes of
        ``content_type``."""
        return self.uploads.presign_upload_put(
            session_id, filename, content_type, content_length, expires_in=expires_in
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
        """Validate and render a temp upload into its category (see
        :meth:`DirectUploads.promote_temp_upload`)."""
        return self.uploads.promote_temp_upload(
            session_id, filename, user_id=user_id, category=category, item_id=item_id
        )

    def upload_status(self, session_id: str) -> UploadStatus:
        """``pending``, ``done`` or ``rejected`` for a session presigned with a destination."""
        return self.uploads.upload_status(session_id)

    # -- deletion, versions, usage -----------------------------------------------------

    def delete_user_files(
        self, user_id: str, *, progress: ErasureProgress | None = None
    ) -> ErasureReport:
        """Erase every version of everything the user owns, in primary and replica, and
        the archives exported for them (``exports/``, primary only: never replicated).

        With ``WEARIT_CDN_DISTRIBUTION_ID``, the user's paths are then invalidated at the
        CDN's edges (``report.cdn_invalidation``; a role without
        ``cloudfront:CreateInvalidation`` gets a failure in the report).
        Returns an :class:`ErasureReport`, truthy only when nothing of the user remains.
        Never raises for per-object failures: they are in the report
        (``report.raise_if_incomplete()`` turns them into ``ErasureIncomplete``).
        ``progress`` receives the running count of deleted entries after each batch, on
        the thread doing the work (from the async face: not the event loop's thread).
        """
        prefixes = user_erasure_prefixes(self.s3_client, user_id)
        report = self._erase(f"user {user_id}", prefixes, progress)
        return invalidate_erased_user(report, self.edge_invalidator, user_id)

    def preview_user_erasure(self, user_id: str) -> ErasurePreview:
        """What ``delete_user_files(user_id)`` would remove from the primary bucket (files,
        versions, export archives, unfinished uploads), counted without changing anything:
        what a confirmation prompt shows."""
        return preview_erasure(self.s3_client, user_erasure_prefixes(self.s3_client, user_id))

    def request_user_erasure(self, user_id: str) -> ErasureStatus:
        """Ask for the user's erasure and return at once: one PUT of
        ``erasures/{user_id}/request.json``, which the eraser acts on and which refuses
        every later upload of the user. What the API calls (its role deletes nothing for
        good); ``erasure_status`` tells when it is done."""
        return request_user_erasure(self.s3_client, user_id)

    def erasure_status(self, user_id: str) -> ErasureStatus:
        """``requested``, ``done`` (with the counts) or ``failed``; ``ObjectNotFound`` if no
        erasure was requested."""
        return erasure_status(self.s3_client, user_id)

    def export_user_files(
        self, user_id: str, *, progress: ExportProgress | None = None
    ) -> UserExport:
        """Write one ZIP of every current object the user owns (with ``manifest.json``) to
        ``exports/{user_id}/{export_id}.zip``, streamed as a multipart upload in bounded
        memory; return it with a short-lived download URL.

        Raises :class:`~wearit_storage.errors.ExportFailed` after aborting the upload: no
        partial archive is left, and calling again starts a new export. ``progress``
        receives the running counts of files and bytes after each file, on the thread
        doing the work.
        """
        return export_user_files(self.s3_client, user_id, progress=progress)

    def delete_clothing_item(self, user_id: str, clothing_id: str) -> ErasureReport:
        """Erase every version of every file of one clothing item (primary and replica)."""
        validate_id(clothing_id, field="clothing_id")
        prefixes = [(Category.CLOTHING, item_prefix(Category.CLOTHING, user_id, clothing_id))]
        return self._erase(f"clothing item {user_id}/{clothing_id}", prefixes)

    def _erase(
        self,
        subject: str,
        prefixes: Prefixes,
        progress: ErasureProgress | None = None,
    ) -> ErasureReport:
        return erase(
            self.s3_client,
            self.replica_client,
            subject,
            prefixes,
            retries=self.erasure_retries,
            backoff_s=self.erasure_backoff_s,
            progress=progress,
        )

    def restore_previous_version(self, s3_key: str) -> str:
        """Undo the last overwrite or delete of ``s3_key``, and of the other renditions of
        the same upload with it (see :meth:`restore_renditions`); returns ``s3_key``'s
        current version id."""
        return self.restore_renditions(s3_key).version_id

    def restore_renditions(self, s3_key: str) -> RestoredRenditions:
        """Undo the last overwrite or delete of ``s3_key`` together with the other
        renditions of the upload it brings back (its thumbnail), all-or-nothing: a main
        image never comes back beside another upload's thumbnail
        (:mod:`wearit_storage.uploads.restore`)."""
        return restore_renditions(self.s3_client, s3_key)

    def user_storage_usage(self, user_id: str) -> StorageUsage:
        return user_storage_usage(self.s3_client, user_id)

    def presigned_url(
        self, s3_key: str, expires_in: int | None = None, *, version_id: str | None = None
    ) -> str:
        """GET URL of ``s3_key``: presigned S3, or with the CDN a signed CloudFront URL of
        ``version_id`` (required for the served categories: no request is made here)."""
        return self.s3_client.generate_presigned_url(s3_key, expires_in, version_id=version_id)

    def image_url(
        self, s3_key: str, version_id: str | None = None, expires_in: int | None = None
    ) -> str:
        """Like :meth:`presigned_url`; without ``version_id`` a CDN URL names the current
        version (one ``HeadObject``)."""
        return self.s3_client.image_url(s3_key, version_id, expires_in)

    def signed_cookies(self, user_id: str) -> SignedCookies:
        """The CDN's signed cookies for every served image of ``user_id`` (``clothing/``,
        ``tryon/``, ``avatars/``), valid ``WEARIT_CDN_COOKIE_SECONDS``; set them with
        ``wearit_storage.fastapi.set_signed_cookies``."""
        return self.s3_client.signed_cookies(user_id)


class StorageRepository(AsyncFace[SyncStorageRepository]):
    """``await StorageRepository.from_settings(settings)``; or, as in the design document
    (``docs/design-document.fr.rst``),
    ``StorageRepository()`` then ``await repo.s3_client.connect(region, bucket, ...)``."""

    def __init__(
        self,
        s3_client: S3Client | None = None,
        *,
        replica_client: SyncS3Client | None = None,
        **options: Unpack[RepositoryOptions],
    ) -> None:
        primary = s3_client.sync_client if s3_client is not None else SyncS3Client()
        sync = SyncStorageRepository(primary, replica_client=replica_client, **options)
        self._attach(sync, s3_client)

    def _attach(self, sync: SyncStorageRepository, s3_client: S3Client | None) -> None:
        super().__init__(sync, executor_for(sync.s3_client))
        # The face of the primary client shares the repository's pool: one pool per
        # connection pool, whichever face a call goes through.
        self.s3_client = (
            s3_client if s3_client is not None else S3Client.sharing(sync.s3_client, self._executor)
        )

    @classmethod
    async def from_settings(
        cls,
        settings: StorageSettings,
        *,
        metrics_hook: MetricsHook | None = None,
        **options: Unpack[RepositoryOptions],
    ) -> Self:
        """Connected primary client, plus the replica client when one is configured."""
        sync = await asyncio.to_thread(
            SyncStorageRepository.from_settings, settings, metrics_hook=metrics_hook, **options
        )
        repository = cls.__new__(cls)
        repository._attach(sync, None)
        return repository

    async def close(self) -> None:
        await self._executor.shutdown()
        await self.s3_client.close()
        self._sync.close()

    @property
    def sync_repository(self) -> SyncStorageRepository:
        """The synchronous repository doing the work (for scripts and worker threads)."""
        return self._sync

    @property
    def replica_client(self) -> SyncS3Client | None:
        return self._sync.replica_client

    upload_clothing_image = offloaded(SyncStorageRepository.upload_clothing_image)
    upload_body_image = offloaded(SyncStorageRepository.upload_body_image)
    upload_tryon_result = offloaded(SyncStorageRepository.upload_tryon_result)
    upload_avatar = offloaded(SyncStorageRepository.upload_avatar)
    upload_optimized_image = offloaded(SyncStorageRepository.upload_optimized_image)
    store_clothing_image = offloaded(SyncStorageRepository.store_clothing_image)
    store_body_image = offloaded(SyncStorageRepository.store_body_image)
    store_tryon_result = offloaded(SyncStorageRepository.store_tryon_result)
    store_avatar = offloaded(SyncStorageRepository.store_avatar)
    store_at_key = offloaded(SyncStorageRepository.store_at_key)
    download_clothing_image = offloaded(SyncStorageRepository.download_clothing_image)
    download_body_image = offloaded(SyncStorageRepository.download_body_image)
    download_tryon_result = offloaded(SyncStorageRepository.download_tryon_result)
    download_avatar = offloaded(SyncStorageRepository.download_avatar)
    health = offloaded(SyncStorageRepository.health)
    store_image = offloaded(SyncStorageRepository.store_image)
    upload_temp = offloaded(SyncStorageRepository.upload_temp)
    promote_temp_upload = offloaded(SyncStorageRepository.promote_temp_upload)
    upload_status = offloaded(SyncStorageRepository.upload_status)
    delete_user_files = offloaded(SyncStorageRepository.delete_user_files)
    request_user_erasure = offloaded(SyncStorageRepository.request_user_erasure)
    erasure_status = offloaded(SyncStorageRepository.erasure_status)
    preview_user_erasure = offloaded(SyncStorageRepository.preview_user_erasure)
    delete_clothing_item = offloaded(SyncStorageRepository.delete_clothing_item)
    export_user_files = offloaded(SyncStorageRepository.export_user_files)
    restore_previous_version = offloaded(SyncStorageRepository.restore_previous_version)
    restore_renditions = offloaded(SyncStorageRepository.restore_renditions)
    user_storage_usage = offloaded(SyncStorageRepository.user_storage_usage)
    # A presign with a destination records the session's owner (one PUT): off the loop.
    presign_upload = offloaded(SyncStorageRepository.presign_upload)
    presign_upload_put = inline(SyncStorageRepository.presign_upload_put)
    presigned_url = inline(SyncStorageRepository.presigned_url)
    image_url = offloaded(SyncStorageRepository.image_url)
    signed_cookies = offloaded(SyncStorageRepository.signed_cookies)
