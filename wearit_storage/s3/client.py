"""The S3 client: :class:`SyncS3Client` does the work, :class:`S3Client` is its async face.

- never sends ``ACL=`` (buckets enforce "bucket owner" ownership, ACLs are disabled);
- every upload sends a SHA-256 checksum and a ``ContentType``; bodies at or above
  ``multipart_threshold`` use managed multipart transfer;
- keys are validated (:func:`wearit_storage.paths.parse_key`) before any request;
- errors are translated into :mod:`wearit_storage.errors` (``ObjectNotFound``,
  ``StorageUnavailable``...), so callers can answer 404 or 503;
- ``delete_file`` returns a bool and only adds a delete marker in a
  versioned bucket (recoverable, see ``restore_previous_version``); a failure is logged
  at ERROR with the key and reported to the metrics hook, then ``False`` is returned.
  An invalid key raises ``InvalidStorageKey`` (no request is made);
- ``generate_presigned_url`` raises on bad input; ``expires_in=None``
  (the default) means 3600 s, except 300 s for ``body/`` keys.

The async face runs every blocking call on a bounded thread pool of ``max_concurrency``
threads, the same number as the boto3 connection pool, so a FastAPI server stays responsive
during uploads and a burst of requests queues in the pool instead of opening unbounded
connections. Presigning is local CPU work and stays synchronous.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Self
from urllib.parse import urlencode

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import (
    ConnectionClosedError,
    FlexibleChecksumError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from urllib3.exceptions import ProtocolError

from wearit_storage.categories import REPLICATED_CATEGORIES
from wearit_storage.delivery.signing import SignedCookies
from wearit_storage.delivery.urls import ImageUrls
from wearit_storage.errors import (
    StorageConfigurationError,
    StorageError,
    StorageNotConnected,
    StorageUnavailable,
    UploadTooLarge,
)
from wearit_storage.faces.asynchronous import AsyncFace, BoundedExecutor, inline, offloaded
from wearit_storage.faces.closing import ClosedOnExit
from wearit_storage.observability import Instrumentation, MetricsHook, OperationRecord, logger
from wearit_storage.paths import key_category, validate_key
from wearit_storage.s3.presign import PresignedPost, Presigner
from wearit_storage.s3.transport import (
    CHECKSUM_ALGORITHM,
    boto_session,
    create_s3_client,
    translate_error,
)
from wearit_storage.settings import StorageSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as BotoS3Client

#: Failures while a response body streams: botocore's retries end with the headers (and
#: a reset mid-body reaches us as urllib3's ProtocolError, unwrapped).
BODY_ERRORS: Final = (
    ProtocolError,
    ResponseStreamingError,
    IncompleteReadError,
    ReadTimeoutError,
    ConnectionClosedError,
    FlexibleChecksumError,
)
_BODY_RETRY_BACKOFF_S: Final = 0.1
_DOWNLOAD_CHUNK: Final = 1024**2


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    version_id: str | None  # None on unversioned buckets
    size: int


@dataclass(frozen=True, slots=True)
class ObjectHead:
    """What ``HeadObject`` says about an object: no body is read."""

    key: str
    size: int
    metadata: Mapping[str, str]
    version_id: str | None
    etag: str


@dataclass(frozen=True, slots=True)
class DownloadedObject:
    """An object's bytes and what the GET said about them."""

    data: bytes
    head: ObjectHead


@dataclass(frozen=True, slots=True)
class _Connection:
    settings: StorageSettings
    boto_client: BotoS3Client
    presigner: Presigner
    urls: ImageUrls


class SyncS3Client(ClosedOnExit):
    """One bucket, one boto3 client (thread-safe, reused by every call until ``close``).

    ``SyncS3Client(settings).connect()`` or ``SyncS3Client.from_settings(settings)``; the
    design document's ``SyncS3Client().connect(region, bucket_name, access_key, secret_key)``
    (``docs/design-document.fr.rst``) builds the settings from those four values.
    """

    def __init__(
        self, settings: StorageSettings | None = None, *, metrics_hook: MetricsHook | None = None
    ) -> None:
        self._settings = settings
        self._instrumentation = Instrumentation(metrics_hook)
        self._connection: _Connection | None = None
        self._completed = threading.local()
        self._replica: SyncS3Client | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def connect(
        self,
        region: str | None = None,
        bucket_name: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        """Create the boto3 client, from the constructor's settings or the four values."""
        if region is None and bucket_name is None:
            if self._settings is None:
                raise StorageConfigurationError(
                    "no settings to connect with: pass region and bucket_name, or build the "
                    "client with StorageSettings"
                )
            settings = self._settings
        elif region is None or bucket_name is None:
            raise StorageConfigurationError(
                "pass both region and bucket_name (or neither, to use the constructor's settings)"
            )
        else:
            settings = StorageSettings.for_bucket(region, bucket_name, access_key, secret_key)
        boto_client = create_s3_client(settings)
        boto_client.meta.events.register(
            "after-call.s3.CompleteMultipartUpload", self._remember_completion
        )
        presigner = Presigner(boto_client, settings)
        try:
            urls = ImageUrls.from_settings(settings, presigner, boto_session(settings))
        except BaseException:
            boto_client.close()
            raise
        self.close()
        self._connection = _Connection(settings, boto_client, presigner, urls)

    @classmethod
    def from_settings(
        cls, settings: StorageSettings, *, metrics_hook: MetricsHook | None = None
    ) -> SyncS3Client:
        """A connected client for ``settings.bucket_name`` (``settings.replica()``: the replica)."""
        client = cls(settings, metrics_hook=metrics_hook)
        client.connect()
        return client

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.boto_client.close()

    @property
    def connected(self) -> bool:
        return self._connection is not None

    def read_from_replica(self, replica: SyncS3Client | None) -> None:
        """Serve GETs from ``replica`` when this bucket stays unavailable (see
        :meth:`get_object`); ``None`` turns it off. Writes never go there."""
        self._replica = replica

    @property
    def _conn(self) -> _Connection:
        if self._connection is None:
            raise StorageNotConnected("the S3 client is not connected: call connect() first")
        return self._connection

    @property
    def settings(self) -> StorageSettings:
        """The settings of the current connection."""
        return self._conn.settings

    @property
    def boto_client(self) -> BotoS3Client:
        """The underlying boto3 client (thread-safe; shared by every call)."""
        return self._conn.boto_client

    @property
    def bucket_name(self) -> str:
        return self._conn.settings.bucket_name

    @property
    def max_concurrency(self) -> int:
        return self._conn.settings.max_concurrency

    @contextmanager
    def operation(self, name: str, key: str, nbytes: int = 0) -> Iterator[OperationRecord]:
        """Log + metric + boto error translation around one logical operation."""
        with self._instrumentation.operation(name, key, nbytes) as record:
            try:
                yield record
            except StorageError:
                raise
            except Exception as exc:
                bucket = self._connection.settings.bucket_name if self._connection else "?"
                raise translate_error(exc, operation=name, key=key, bucket=bucket) from exc

    # -- objects -----------------------------------------------------------------------

    def put_object(
        self,
        file_data: bytes,
        s3_key: str,
        content_type: str = "image/jpeg",
        *,
        metadata: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        operation: str = "upload",
    ) -> StoredObject:
        """Store ``file_data``; returns the version id S3 assigned (for rollbacks).

        ``metadata`` becomes ``x-amz-meta-*`` headers; ``tags`` the object's tags (e.g. the
        id that ties renditions of one upload together: readable without the bytes);
        ``operation`` names the write in logs and metrics.
        """
        validate_key(s3_key)
        conn = self._conn
        extra: dict[str, Any] = {
            "ContentType": content_type,
            "ChecksumAlgorithm": CHECKSUM_ALGORITHM,
            "Metadata": dict(metadata or {}),
        }
        if tags:
            extra["Tagging"] = urlencode(dict(tags))
        with self.operation(operation, s3_key, len(file_data)):
            if len(file_data) >= conn.settings.multipart_threshold:
                version_id = self._upload_multipart(conn, file_data, s3_key, extra)
                return StoredObject(s3_key, version_id, len(file_data))
            response = conn.boto_client.put_object(
                Bucket=conn.settings.bucket_name, Key=s3_key, Body=file_data, **extra
            )
            return StoredObject(s3_key, response.get("VersionId"), len(file_data))

    def _upload_multipart(
        self, conn: _Connection, file_data: bytes, s3_key: str, extra: dict[str, Any]
    ) -> str | None:
        """Managed multipart upload; the version id comes from its completion response."""
        # Parts go up one after another on the calling worker thread: concurrency is
        # bounded at the worker level (max_concurrency threads = pool size), and parallel
        # parts inside every worker would need more connections than the pool holds.
        threshold = conn.settings.multipart_threshold
        transfer_config = TransferConfig(
            multipart_threshold=threshold,
            multipart_chunksize=threshold,
            use_threads=False,
        )
        # upload_fileobj returns nothing; CompleteMultipartUpload runs on this thread, so a
        # thread-local slot filled by the after-call hook (see connect) carries its answer.
        self._completed.version_id = None
        conn.boto_client.upload_fileobj(
            io.BytesIO(file_data),
            conn.settings.bucket_name,
            s3_key,
            ExtraArgs=extra,
            Config=transfer_config,
        )
        version_id: str | None = self._completed.version_id
        return version_id

    def _remember_completion(self, parsed: Mapping[str, Any], **_: Any) -> None:
        self._completed.version_id = parsed.get("VersionId")

    def upload_file(self, file_data: bytes, s3_key: str, content_type: str = "image/jpeg") -> str:
        """Store the bytes and return a presigned GET URL (design-document signature)."""
        stored = self.put_object(file_data, s3_key, content_type)
        return self.image_url(s3_key, stored.version_id)

    def download_file(self, s3_key: str, *, max_bytes: int | None = None) -> bytes:
        """The object's bytes, checksum-verified; with ``max_bytes``, refuse larger objects
        before reading them (``UploadTooLarge``), e.g. a presigned PUT upload of any
        size.

        botocore retries a request until its headers arrive; a connection cut while the body
        streams, or a body whose SHA-256 does not match the one stored with the object, is
        retried here with a fresh GET, up to ``max_attempts`` in all, then
        ``StorageUnavailable``.
        """
        return self.download_object(s3_key, max_bytes=max_bytes).data

    def download_object(
        self, s3_key: str, version_id: str | None = None, *, max_bytes: int | None = None
    ) -> DownloadedObject:
        """Like :meth:`download_file`, with what the GET answered besides the bytes (version,
        ETag, ``x-amz-meta-*`` metadata: no ``HeadObject`` needed); ``version_id`` reads
        exactly that version (``ObjectNotFound`` once it is deleted)."""
        validate_key(s3_key)
        conn = self._conn
        attempts = conn.settings.max_attempts
        with self.operation("download", s3_key) as record:
            attempt = 1
            while True:
                try:
                    downloaded = self._get_body(s3_key, version_id, max_bytes)
                except BODY_ERRORS as exc:
                    if attempt == attempts:
                        raise StorageUnavailable(
                            f"download of {s3_key!r} was cut or corrupted in transit "
                            f"{attempts} times ({type(exc).__name__}); try again later",
                            key=s3_key,
                        ) from exc
                    time.sleep(_BODY_RETRY_BACKOFF_S * 2 ** (attempt - 1))
                    attempt += 1
                    continue
                record.bytes = len(downloaded.data)
                return downloaded

    def _get_body(
        self, s3_key: str, version_id: str | None, max_bytes: int | None
    ) -> DownloadedObject:
        request: dict[str, Any] = {} if version_id is None else {"VersionId": version_id}
        response = self.get_object(s3_key, ChecksumMode="ENABLED", **request)
        body = response["Body"]
        # Not ``with body as raw``: StreamingBody.__enter__ returns the raw urllib3 stream,
        # which skips botocore's length check and the checksum validation.
        try:
            size = int(response.get("ContentLength", 0))
            if max_bytes is not None and size > max_bytes:
                raise UploadTooLarge(
                    f"{s3_key!r} is {size} bytes, over the limit of {max_bytes}: "
                    "upload a smaller file",
                    key=s3_key,
                )
            data: bytes = body.read()
        finally:
            body.close()
        return DownloadedObject(
            data=data,
            head=ObjectHead(
                key=s3_key,
                size=size,
                metadata=dict(response.get("Metadata", {})),
                version_id=response.get("VersionId"),
                etag=str(response.get("ETag", "")),
            ),
        )

    def get_object(self, s3_key: str, **params: Any) -> Any:
        """``GetObject`` of this bucket (``params``: ``VersionId``, ``Range``...), the raw
        boto3 response. When it still fails after botocore's retries with a 5xx or an
        unreachable endpoint, a replica is set (:meth:`read_from_replica`) and the key is
        replicated, the replica answers the same request (S3 keeps version ids when it
        replicates); each such fallback is logged and reported as ``replica_fallback``."""
        conn = self._conn
        try:
            return conn.boto_client.get_object(
                Bucket=conn.settings.bucket_name, Key=s3_key, **params
            )
        except Exception as exc:
            replica = self._replica
            if replica is None or key_category(s3_key) not in REPLICATED_CATEGORIES:
                raise
            translated = translate_error(
                exc, operation="download", key=s3_key, bucket=conn.settings.bucket_name
            )
            if not isinstance(translated, StorageUnavailable):
                raise  # a missing key or a denial is the answer, not an outage
            logger.warning(
                "storage GET of %s failed on %s (%s): serving it from the replica %s",
                s3_key,
                conn.settings.bucket_name,
                type(exc).__name__,
                replica.bucket_name,
            )
            response = replica.boto_client.get_object(
                Bucket=replica.bucket_name, Key=s3_key, **params
            )
            self._instrumentation.event("replica_fallback", s3_key)
            return response

    def download_to_file(self, s3_key: str, path: str | os.PathLike[str]) -> int:
        """Stream the object to ``path`` in 1 MiB chunks (for objects too large to hold, such
        as export archives); returns its size. The bytes go to a ``.part`` file renamed into
        place when complete, so a failed download leaves no truncated file behind.
        """
        validate_key(s3_key)
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        with self.operation("download", s3_key) as record:
            response = self.get_object(s3_key, ChecksumMode="ENABLED")
            body = response["Body"]
            try:
                with partial.open("wb") as out:
                    while chunk := body.read(_DOWNLOAD_CHUNK):
                        out.write(chunk)
                        record.bytes += len(chunk)
                partial.replace(target)
            except BODY_ERRORS as exc:
                raise StorageUnavailable(
                    f"download of {s3_key!r} was cut or corrupted in transit "
                    f"({type(exc).__name__}); try again",
                    key=s3_key,
                ) from exc
            finally:
                body.close()
                partial.unlink(missing_ok=True)
            return record.bytes

    def head_object(self, s3_key: str) -> ObjectHead:
        """Size, version and ``x-amz-meta-*`` metadata of an object (``ObjectNotFound``)."""
        validate_key(s3_key)
        conn = self._conn
        with self.operation("head", s3_key) as record:
            response = conn.boto_client.head_object(Bucket=conn.settings.bucket_name, Key=s3_key)
            record.bytes = int(response.get("ContentLength", 0))
        return ObjectHead(
            key=s3_key,
            size=record.bytes,
            metadata=dict(response.get("Metadata", {})),
            version_id=response.get("VersionId"),
            etag=str(response.get("ETag", "")),
        )

    def key_exists(self, s3_key: str) -> bool:
        """Whether ``s3_key`` exists, by a ``ListObjectsV2`` of exactly that key: a role that
        may list only some prefixes (an ``s3:prefix`` condition) gets 403, not 404, from a
        ``HeadObject`` of a missing key."""
        validate_key(s3_key)
        conn = self._conn
        with self.operation("exists", s3_key):
            listed = conn.boto_client.list_objects_v2(
                Bucket=conn.settings.bucket_name, Prefix=s3_key, MaxKeys=1
            )
        return any(entry["Key"] == s3_key for entry in listed.get("Contents", []))

    def delete_file(self, s3_key: str) -> bool:
        """Hide the current version (delete marker); False if S3 refused.

        Use the repository's erasure methods to remove data for good.
        """
        validate_key(s3_key)
        conn = self._conn
        try:
            with self.operation("delete", s3_key):
                conn.boto_client.delete_object(Bucket=conn.settings.bucket_name, Key=s3_key)
        except StorageError:
            return False  # already logged at ERROR and reported to the metrics hook
        return True

    def delete_version(self, s3_key: str, version_id: str | None) -> None:
        """Permanently delete one version of a key (``None``: the object of an unversioned
        bucket, its only copy). Used to roll back writes and purge keys."""
        validate_key(s3_key)
        conn = self._conn
        with self.operation("delete_version", s3_key):
            if version_id is None:
                conn.boto_client.delete_object(Bucket=conn.settings.bucket_name, Key=s3_key)
            else:
                conn.boto_client.delete_object(
                    Bucket=conn.settings.bucket_name, Key=s3_key, VersionId=version_id
                )

    # -- presigning --------------------------------------------------------------------

    @property
    def image_urls(self) -> ImageUrls:
        """The seam every stored-image URL is made through (CDN or presigned S3)."""
        return self._conn.urls

    def generate_presigned_url(
        self, s3_key: str, expires_in: int | None = None, *, version_id: str | None = None
    ) -> str:
        """GET URL: presigned S3, or with the CDN a signed CloudFront URL of ``version_id``
        (required then: this makes no request). ``None``: 3600 s, or 300 s for ``body/``.

        Raises (``InvalidStorageKey``, ``InvalidStorageRequest``) rather than returning
        ``None``: a ``None`` URL would fail later and far away.
        """
        return self._conn.urls.url(s3_key, version_id, expires_in)

    def image_url(
        self, s3_key: str, version_id: str | None = None, expires_in: int | None = None
    ) -> str:
        """Like :meth:`generate_presigned_url`, but a CDN URL without ``version_id`` names
        the current version, looked up with one ``HeadObject``."""
        urls = self._conn.urls
        if version_id is None and urls.served_by_cdn(s3_key):
            version_id = self.head_object(s3_key).version_id
            if version_id is None:
                raise StorageConfigurationError(
                    f"{s3_key!r} has no version id: the CDN serves versioned buckets only",
                    key=s3_key,
                )
        return urls.url(s3_key, version_id, expires_in)

    def signed_cookies(self, user_id: str) -> SignedCookies:
        """The CDN's signed cookies for ``user_id``'s served images, for
        ``WEARIT_CDN_COOKIE_SECONDS``."""
        conn = self._conn
        return conn.urls.signed_cookies(user_id, conn.settings.cdn_cookie_expiry_s)

    def generate_presigned_put_url(
        self, s3_key: str, content_type: str, content_length: int, expires_in: int | None = None
    ) -> str:
        """Presigned PUT of exactly ``content_length`` bytes into a ``temp/`` key."""
        return self._conn.presigner.put_url(s3_key, content_type, content_length, expires_in)

    def generate_presigned_post(
        self,
        s3_key: str,
        *,
        content_type: str | None = None,
        max_bytes: int | None = None,
        expires_in: int | None = None,
        pinned: Mapping[str, str] | None = None,
    ) -> PresignedPost:
        return self._conn.presigner.post(
            s3_key,
            content_type=content_type,
            max_bytes=max_bytes,
            expires_in=expires_in,
            pinned=pinned,
        )


_THREAD_NAME = "wearit-storage"


def executor_for(client: SyncS3Client) -> BoundedExecutor:
    """A pool as large as ``client``'s connection pool, sized when first used."""
    return BoundedExecutor(lambda: client.max_concurrency, name=_THREAD_NAME)


class S3Client(AsyncFace[SyncS3Client]):
    """``S3Client(settings)`` then ``await connect()``, or ``await S3Client.from_settings(...)``;
    the design document's ``S3Client()`` + ``await connect(region, bucket_name, access_key,
    secret_key)`` (``docs/design-document.fr.rst``) works too."""

    def __init__(
        self, settings: StorageSettings | None = None, *, metrics_hook: MetricsHook | None = None
    ) -> None:
        sync_client = SyncS3Client(settings, metrics_hook=metrics_hook)
        super().__init__(sync_client, executor_for(sync_client))
        self._owns_executor = True

    @classmethod
    def sharing(cls, sync_client: SyncS3Client, executor: BoundedExecutor) -> Self:
        """A face over ``sync_client`` that runs on ``executor``, which its owner shuts down."""
        face = cls.__new__(cls)
        AsyncFace.__init__(face, sync_client, executor)
        face._owns_executor = False
        return face

    @classmethod
    async def from_settings(
        cls, settings: StorageSettings, *, metrics_hook: MetricsHook | None = None
    ) -> Self:
        """A connected client for ``settings.bucket_name``."""
        client = cls(settings, metrics_hook=metrics_hook)
        await client.connect()
        return client

    async def close(self) -> None:
        if self._owns_executor:
            await self._executor.shutdown()
        self._sync.close()

    @property
    def sync_client(self) -> SyncS3Client:
        """The synchronous client doing the work (for scripts and worker threads)."""
        return self._sync

    @property
    def bucket_name(self) -> str:
        return self._sync.bucket_name

    # Building a boto3 client loads JSON models from disk: not on the loop; and not on the
    # bounded pool, whose size is only known once connected.
    connect = offloaded(SyncS3Client.connect, bounded=False)
    upload_file = offloaded(SyncS3Client.upload_file)
    put_object = offloaded(SyncS3Client.put_object)
    download_file = offloaded(SyncS3Client.download_file)
    download_object = offloaded(SyncS3Client.download_object)
    key_exists = offloaded(SyncS3Client.key_exists)
    download_to_file = offloaded(SyncS3Client.download_to_file)
    head_object = offloaded(SyncS3Client.head_object)
    delete_file = offloaded(SyncS3Client.delete_file)
    delete_version = offloaded(SyncS3Client.delete_version)
    generate_presigned_url = inline(SyncS3Client.generate_presigned_url)
    image_url = offloaded(SyncS3Client.image_url)
    signed_cookies = offloaded(SyncS3Client.signed_cookies)
    generate_presigned_put_url = inline(SyncS3Client.generate_presigned_put_url)
    generate_presigned_post = inline(SyncS3Client.generate_presigned_post)
