"""The async S3 client (seed API): :class:`SyncS3Client` run off the event loop.

Every blocking call (boto3 I/O, client construction, image rendering in the repository)
runs on a bounded ``ThreadPoolExecutor`` of ``max_concurrency`` threads, the same number
as the boto3 connection pool, so a FastAPI server stays responsive during uploads and a
burst of requests queues in the executor instead of opening unbounded connections.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Self, TypeVar

from wearit_storage.errors import StorageNotConnected
from wearit_storage.observability import MetricsHook
from wearit_storage.presign import PresignDefaults, PresignedPost
from wearit_storage.settings import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MULTIPART_THRESHOLD,
    DEFAULT_READ_TIMEOUT_S,
    StorageSettings,
)
from wearit_storage.sync_client import (
    StoredObject,
    SyncS3Client,
    client_options,
    connect_arguments,
)

T = TypeVar("T")


class S3Client:
    def __init__(
        self,
        *,
        metrics_hook: MetricsHook | None = None,
        presign_defaults: PresignDefaults | None = None,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
    ) -> None:
        self.sync_client = SyncS3Client(
            metrics_hook=metrics_hook,
            presign_defaults=presign_defaults,
            multipart_threshold=multipart_threshold,
        )
        self._executor: ThreadPoolExecutor | None = None

    async def connect(
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
        await self.close()
        executor = ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="wearit-storage"
        )
        connect = functools.partial(
            self.sync_client.connect,
            region,
            bucket_name,
            access_key,
            secret_key,
            endpoint_url=endpoint_url,
            session_token=session_token,
            max_concurrency=max_concurrency,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            max_attempts=max_attempts,
            retry_mode=retry_mode,
        )
        try:
            # Building a boto3 client loads JSON models from disk: not on the loop.
            await asyncio.get_running_loop().run_in_executor(executor, connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._executor = executor

    @classmethod
    async def from_settings(
        cls,
        settings: StorageSettings,
        *,
        metrics_hook: MetricsHook | None = None,
        replica: bool = False,
    ) -> S3Client:
        """A connected client for the primary bucket (or the replica with ``replica=True``)."""
        client = cls(**client_options(settings, metrics_hook))
        await client.connect(**connect_arguments(settings, replica=replica))
        return client

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            # Let in-flight calls finish in their threads without blocking the loop.
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown, True)
        self.sync_client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def bucket_name(self) -> str:
        return self.sync_client.bucket_name

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a blocking callable on this client's bounded executor."""
        if self._executor is None:
            raise StorageNotConnected("the S3 client is not connected: await connect() first")
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    # -- seed API ------------------------------------------------------------------------

    async def upload_file(
        self, file_data: bytes, s3_key: str, content_type: str = "image/jpeg"
    ) -> str:
        return await self.run(self.sync_client.upload_file, file_data, s3_key, content_type)

    async def put_object(
        self, file_data: bytes, s3_key: str, content_type: str = "image/jpeg"
    ) -> StoredObject:
        return await self.run(self.sync_client.put_object, file_data, s3_key, content_type)

    async def download_file(self, s3_key: str, *, max_bytes: int | None = None) -> bytes:
        return await self.run(self.sync_client.download_file, s3_key, max_bytes=max_bytes)

    async def delete_file(self, s3_key: str) -> bool:
        return await self.run(self.sync_client.delete_file, s3_key)

    def generate_presigned_url(self, s3_key: str, expires_in: int | None = None) -> str:
        """Synchronous as in the seed: signing is local CPU work, no request is made."""
        return self.sync_client.generate_presigned_url(s3_key, expires_in)

    def generate_presigned_put_url(
        self, s3_key: str, content_type: str, expires_in: int | None = None
    ) -> str:
        return self.sync_client.generate_presigned_put_url(s3_key, content_type, expires_in)

    def generate_presigned_post(
        self,
        s3_key: str,
        *,
        content_type: str | None = None,
        max_bytes: int | None = None,
        expires_in: int | None = None,
    ) -> PresignedPost:
        return self.sync_client.generate_presigned_post(
            s3_key, content_type=content_type, max_bytes=max_bytes, expires_in=expires_in
        )
