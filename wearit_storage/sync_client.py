"""The synchronous S3 client: the one implementation the async client runs in threads.

Differences from the seed's ``S3Client`` (documented for the README):

- never sends ``ACL=`` (buckets enforce "bucket owner" ownership, ACLs are disabled);
- every upload sends a SHA-256 checksum and a ``ContentType``; bodies at or above
  ``multipart_threshold`` use managed multipart transfer;
- keys are validated (:func:`wearit_storage.paths.parse_key`) before any request;
- errors are translated into :mod:`wearit_storage.errors` (``ObjectNotFound``,
  ``StorageUnavailable``...) instead of a generic 500;
- ``delete_file`` still returns a bool and still only adds a delete marker in a
  versioned bucket (recoverable, see ``restore_previous_version``); a failure is logged
  at ERROR with the key and reported to the metrics hook, then ``False`` is returned.
  An invalid key raises ``InvalidStorageKey`` (no request is made);
- ``generate_presigned_url`` raises instead of returning ``None``; ``expires_in=None``
  (the default) means 3600 s, except 300 s for ``body/`` keys.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from boto3.s3.transfer import TransferConfig

from wearit_storage.errors import (
    InvalidStorageRequest,
    StorageConfigurationError,
    StorageError,
    StorageNotConnected,
)
from wearit_storage.observability import Instrumentation, MetricsHook, OperationRecord
from wearit_storage.paths import validate_key
from wearit_storage.presign import PresignDefaults, PresignedPost, Presigner
from wearit_storage.settings import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MULTIPART_THRESHOLD,
    DEFAULT_READ_TIMEOUT_S,
    StorageSettings,
)
from wearit_storage.transport import (
    CHECKSUM_ALGORITHM,
    TransportOptions,
    create_s3_client,
    translate_error,
)

#: Threads one multipart transfer may use; the connection pool still caps the total.


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    version_id: str | None  # None on unversioned buckets and for multipart uploads
    size: int


@dataclass(slots=True)
class _Connection:
    boto_client: Any
    bucket_name: str
    max_concurrency: int
    presigner: Presigner


class SyncS3Client:
    def __init__(
        self,
        *,
        metrics_hook: MetricsHook | None = None,
        presign_defaults: PresignDefaults | None = None,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
    ) -> None:
        self._instrumentation = Instrumentation(metrics_hook)
        self._presign_defaults = presign_defaults or PresignDefaults()
        self._multipart_threshold = multipart_threshold
        self._connection: _Connection | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def connect(
        self,
        region: str,
        bucket_name: str,
        access_key: str | None = None,
        secret_key: str | None = None,
        *,
        endpoint_url: str | None = None,
        session_token: str | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_mode: str = "standard",
    ) -> None:
        """Create the boto3 client (once; reused by every call until :meth:`close`)."""
        if not bucket_name:
            raise StorageConfigurationError("bucket_name is empty: pass the bucket to use")
        options = TransportOptions(
            max_concurrency=max_concurrency,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            max_attempts=max_attempts,
            retry_mode=retry_mode,
        )
        boto_client = create_s3_client(
            region=region,
            access_key=access_key,
            secret_key=secret_key,
            session_token=session_token,
            endpoint_url=endpoint_url,
            options=options,
        )
        self.close()
        self._connection = _Connection(
            boto_client=boto_client,
            bucket_name=bucket_name,
            max_concurrency=max_concurrency,
            presigner=Presigner(boto_client, bucket_name, self._presign_defaults),
        )

    @classmethod
    def from_settings(
        cls,
        settings: StorageSettings,
        *,
        metrics_hook: MetricsHook | None = None,
        replica: bool = False,
    ) -> SyncS3Client:
        """A connected client for the primary bucket (or the replica with ``replica=True``)."""
        client = cls(**client_options(settings, metrics_hook))
        client.connect(**connect_arguments(settings, replica=replica))
        return client

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.boto_client.close()

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
    def connected(self) -> bool:
        return self._connection is not None

    @property
    def _conn(self) -> _Connection:
        if self._connection is None:
            raise StorageNotConnected("the S3 client is not connected: call connect() first")
        return self._connection

    @property
    def boto_client(self) -> Any:
        """The underlying boto3 client (thread-safe; shared by every call)."""
        return self._conn.boto_client

    @property
    def bucket_name(self) -> str:
        return self._conn.bucket_name

    @property
    def max_concurrency(self) -> int:
        return self._conn.max_concurrency

    @property
    def presign_defaults(self) -> PresignDefaults:
        return self._presign_defaults

    @property
    def presigner(self) -> Presigner:
        return self._conn.presigner

    @property
    def instrumentation(self) -> Instrumentation:
        return self._instrumentation

    @contextmanager
    def operation(self, name: str, key: str, nbytes: int = 0) -> Iterator[OperationRecord]:
        """Log + metric + boto error translation around one logical operation."""
        with self._instrumentation.operation(name, key, nbytes) as record:
            try:
                yield record
            except StorageError:
                raise
            except Exception as exc:
                bucket = self._connection.bucket_name if self._connection else "?"
                raise translate_error(exc, operation=name, key=key, bucket=bucket) from exc

    # -- objects -----------------------------------------------------------------------

    def put_object(
        self, file_data: bytes, s3_key: str, content_type: str = "image/jpeg"
    ) -> StoredObject:
        """Store ``file_data``; returns the version id S3 assigned (for rollbacks)."""
        validate_key(s3_key)
        conn = self._conn
        with self.operation("upload", s3_key, len(file_data)):
            if len(file_data) >= self._multipart_threshold:
                self._upload_multipart(conn, file_data, s3_key, content_type)
                # upload_fileobj does not return the version id; without it a rollback
                # could only add a delete marker and leave the bytes behind. (A write by
                # someone else in between would be reported instead: a narrow race.)
                head = conn.boto_client.head_object(Bucket=conn.bucket_name, Key=s3_key)
                return StoredObject(s3_key, head.get("VersionId"), len(file_data))
            response = conn.boto_client.put_object(
                Bucket=conn.bucket_name,
                Key=s3_key,
                Body=file_data,
                ContentType=content_type,
                ChecksumAlgorithm=CHECKSUM_ALGORITHM,
            )
            return StoredObject(s3_key, response.get("VersionId"), len(file_data))

    def _upload_multipart(
        self, conn: _Connection, file_data: bytes, s3_key: str, content_type: str
    ) -> None:
        # Parts go up one after another on the calling worker thread: concurrency is
        # bounded at the worker level (max_concurrency threads = pool size), and parallel
        # parts inside every worker would need more connections than the pool holds.
        transfer_config = TransferConfig(
            multipart_threshold=self._multipart_threshold,
            multipart_chunksize=self._multipart_threshold,
            use_threads=False,
        )
        conn.boto_client.upload_fileobj(
            io.BytesIO(file_data),
            conn.bucket_name,
            s3_key,
            ExtraArgs={"ContentType": content_type, "ChecksumAlgorithm": CHECKSUM_ALGORITHM},
            Config=transfer_config,
        )

    def upload_file(self, file_data: bytes, s3_key: str, content_type: str = "image/jpeg") -> str:
        """Seed API: store the bytes and return a presigned GET URL."""
        self.put_object(file_data, s3_key, content_type)
        return self.generate_presigned_url(s3_key)

    def download_file(self, s3_key: str, *, max_bytes: int | None = None) -> bytes:
        """The object's bytes; with ``max_bytes``, refuse larger objects before reading
        them (``InvalidStorageRequest``), e.g. a presigned PUT upload of any size."""
        validate_key(s3_key)
        conn = self._conn
        with self.operation("download", s3_key) as record:
            response = conn.boto_client.get_object(Bucket=conn.bucket_name, Key=s3_key)
            with response["Body"] as body:
                size = int(response.get("ContentLength", 0))
                if max_bytes is not None and size > max_bytes:
                    record.bytes = 0
                    raise InvalidStorageRequest(
                        f"{s3_key!r} is {size} bytes, over the limit of {max_bytes}: "
                        "upload a smaller file",
                        key=s3_key,
                    )
                data: bytes = body.read()
            record.bytes = len(data)
            return data

    def delete_file(self, s3_key: str) -> bool:
        """Seed API: hide the current version (delete marker); False if S3 refused.

        Use the repository's erasure methods to remove data for good.
        """
        validate_key(s3_key)
        conn = self._conn
        try:
            with self.operation("delete", s3_key):
                conn.boto_client.delete_object(Bucket=conn.bucket_name, Key=s3_key)
        except StorageError:
            return False  # already logged at ERROR and reported to the metrics hook
        return True

    def delete_versions(self, s3_key: str, version_ids: list[str]) -> None:
        """Permanently delete specific versions of one key (used to roll back writes)."""
        validate_key(s3_key)
        conn = self._conn
        for version_id in version_ids:
            with self.operation("delete_version", s3_key):
                conn.boto_client.delete_object(
                    Bucket=conn.bucket_name, Key=s3_key, VersionId=version_id
                )

    # -- presigning --------------------------------------------------------------------

    def generate_presigned_url(self, s3_key: str, expires_in: int | None = None) -> str:
        """Presigned GET URL. ``None``: 3600 s, or 300 s for ``body/`` keys.

        Raises (``InvalidStorageKey``, ``InvalidStorageRequest``) instead of the seed's
        ``None``.
        """
        return self.presigner.get_url(s3_key, expires_in)

    def generate_presigned_put_url(
        self, s3_key: str, content_type: str, expires_in: int | None = None
    ) -> str:
        return self.presigner.put_url(s3_key, content_type, expires_in)

    def generate_presigned_post(
        self,
        s3_key: str,
        *,
        content_type: str | None = None,
        max_bytes: int | None = None,
        expires_in: int | None = None,
    ) -> PresignedPost:
        return self.presigner.post(
            s3_key, content_type=content_type, max_bytes=max_bytes, expires_in=expires_in
        )


def client_options(settings: StorageSettings, metrics_hook: MetricsHook | None) -> dict[str, Any]:
    """Constructor arguments shared by the sync and async clients."""
    return {
        "metrics_hook": metrics_hook,
        "presign_defaults": presign_defaults_from(settings),
        "multipart_threshold": settings.multipart_threshold,
    }


def connect_arguments(settings: StorageSettings, *, replica: bool) -> dict[str, Any]:
    """``connect()`` arguments for the primary bucket, or the replica with ``replica=True``."""
    region, bucket = settings.region, settings.bucket_name
    if replica:
        if settings.replica_bucket_name is None or settings.replica_region is None:
            raise StorageConfigurationError(
                "no replica configured: set WEARIT_REPLICA_BUCKET_NAME and "
                "WEARIT_REPLICA_REGION_NAME"
            )
        region, bucket = settings.replica_region, settings.replica_bucket_name
    return {
        "region": region,
        "bucket_name": bucket,
        "access_key": settings.access_key,
        "secret_key": settings.secret_key,
        "session_token": settings.session_token,
        "endpoint_url": settings.endpoint_url,
        "max_concurrency": settings.max_concurrency,
        "connect_timeout_s": settings.connect_timeout_s,
        "read_timeout_s": settings.read_timeout_s,
        "max_attempts": settings.max_attempts,
    }


def presign_defaults_from(settings: StorageSettings) -> PresignDefaults:
    return PresignDefaults(
        get_expiry_s=settings.get_expiry_s,
        body_get_expiry_s=settings.body_get_expiry_s,
        upload_expiry_s=settings.upload_expiry_s,
        max_upload_bytes=settings.max_upload_bytes,
    )
