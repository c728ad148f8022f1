"""WearIT storage SDK: validated keys, S3 client (async + sync), repository, images.

Async (FastAPI)::

    repo = await StorageRepository.from_settings(StorageSettings.from_env())
    url = await repo.upload_clothing_image(user_id, item_id, data, "photo.jpg")
    await repo.request_user_erasure(user_id)   # the eraser erases; erasure_status() tells
    await repo.close()

Sync (scripts, workers): the same with ``SyncStorageRepository`` and no ``await``.
"""

from __future__ import annotations

from wearit_storage._version import installed_version
from wearit_storage.categories import Category
from wearit_storage.errors import (
    ErasureIncomplete,
    ExportFailed,
    ImageRejected,
    InvalidStorageKey,
    InvalidStorageRequest,
    ObjectNotFound,
    StorageAccessDenied,
    StorageConfigurationError,
    StorageError,
    StorageNotConnected,
    StorageUnavailable,
    UploadTooLarge,
    UserErased,
)
from wearit_storage.imaging import ImageLimits, ImageProcessor, Renditions
from wearit_storage.observability import MetricsHook, OperationMetric
from wearit_storage.paths import (
    MAIN_RENDITION_NAME,
    THUMBNAIL_RENDITION_NAME,
    StorageKey,
    StoragePathBuilder,
    new_upload_session_id,
    parse_key,
)
from wearit_storage.privacy.erasure import CategoryErasure, ErasureFailure, ErasureReport
from wearit_storage.privacy.export import UserExport
from wearit_storage.privacy.requests import ErasureCounts, ErasureStatus
from wearit_storage.privacy.usage import CategoryUsage, StorageUsage
from wearit_storage.renditions import DEFAULT_POLICIES, RenditionPolicy
from wearit_storage.repository import RepositoryOptions, StorageRepository, SyncStorageRepository
from wearit_storage.s3.client import S3Client, StoredObject, SyncS3Client
from wearit_storage.s3.presign import PresignedPost
from wearit_storage.settings import StorageSettings
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.uploads.status import UploadStatus
from wearit_storage.uploads.store import StoredImage

__version__ = installed_version()

__all__ = [
    "DEFAULT_POLICIES",
    "MAIN_RENDITION_NAME",
    "THUMBNAIL_RENDITION_NAME",
    "Category",
    "CategoryErasure",
    "CategoryUsage",
    "ErasureCounts",
    "ErasureFailure",
    "ErasureIncomplete",
    "ErasureReport",
    "ErasureStatus",
    "ExportFailed",
    "ImageLimits",
    "ImageProcessor",
    "ImageRejected",
    "InvalidStorageKey",
    "InvalidStorageRequest",
    "MetricsHook",
    "ObjectNotFound",
    "OperationMetric",
    "PresignedPost",
    "RenditionPolicy",
    "Renditions",
    "RepositoryOptions",
    "S3Client",
    "StorageAccessDenied",
    "StorageConfigurationError",
    "StorageError",
    "StorageKey",
    "StorageNotConnected",
    "StoragePathBuilder",
    "StorageRepository",
    "StorageSettings",
    "StorageUnavailable",
    "StorageUsage",
    "StoredImage",
    "StoredObject",
    "SyncS3Client",
    "SyncStorageRepository",
    "UploadDestination",
    "UploadStatus",
    "UploadTooLarge",
    "UserErased",
    "UserExport",
    "__version__",
    "new_upload_session_id",
    "parse_key",
]
