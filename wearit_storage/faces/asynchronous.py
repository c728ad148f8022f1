"""The async faces of the SDK, generated from its synchronous implementation.

An async class (``S3Client``, ``StorageRepository``) holds the synchronous object that does
the work and declares each operation once, by naming the synchronous method::

    class StorageRepository(AsyncFace[SyncStorageRepository]):
        upload_avatar = offloaded(SyncStorageRepository.upload_avatar)

``offloaded`` keeps the method's parameters (``ParamSpec``), so ``mypy --strict`` checks the
arguments of ``await repository.upload_avatar(...)`` against the synchronous signature, and
runs the call on the face's bounded thread pool: boto3 I/O and image rendering never block
the event loop. ``inline`` passes a call through on the caller's thread, for local CPU work
such as presigning.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")
#: Covariant: a face over a repository also faces the mixins the repository inherits.
S_co = TypeVar("S_co", covariant=True)


class BoundedExecutor:
    """A thread pool created on first use, sized then, and re-created after ``shutdown``.

    The size is read when the first call arrives (after ``connect()``), because that is when
    the configured concurrency, and so the connection pool it must match, is known.
    """

    def __init__(self, size: Callable[[], int], *, name: str) -> None:
        self._size = size
        self._name = name
        self._pool: ThreadPoolExecutor | None = None

    def get(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._size(), thread_name_prefix=self._name)
        return self._pool

    async def shutdown(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            # Let in-flight calls finish in their threads without blocking the loop.
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown, True)


class AsyncFace(Generic[S_co]):
    """An async class over the synchronous object ``sync`` and a bounded executor."""

    def __init__(self, sync: S_co, executor: BoundedExecutor) -> None:
        self._sync = sync
        self._executor = executor

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def run(self, function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a blocking callable on this face's bounded executor."""
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor.get(), call)


class _Twin(Generic[S, P, R]):
    """What both kinds of twin share: the synchronous method, its name, its binding."""

    def __init__(self, method: Callable[Concatenate[S, P], R]) -> None:
        self._method = method
        self.__doc__ = method.__doc__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        if self._method.__name__ != name:
            raise TypeError(
                f"{name} = ...({self._method.__qualname__}): a twin keeps its method's name"
            )
        self._name = name

    def _bound(self, face: AsyncFace[S]) -> Callable[P, R]:
        bound: Callable[P, R] = getattr(face._sync, self._name)
        return bound


class offloaded(_Twin[S, P, R]):  # noqa: N801 - used like a decorator, named like one
    """The async twin of a synchronous method, run on the face's executor.

    ``bounded=False`` runs it on asyncio's default pool instead: for ``connect``, which
    has to run before the bounded pool can be sized.
    """

    def __init__(self, method: Callable[Concatenate[S, P], R], *, bounded: bool = True) -> None:
        super().__init__(method)
        self._bounded = bounded

    @overload
    def __get__(self, face: None, owner: type[Any]) -> offloaded[S, P, R]: ...

    @overload
    def __get__(
        self, face: AsyncFace[S], owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...

    def __get__(
        self, face: AsyncFace[S] | None, owner: type[Any]
    ) -> offloaded[S, P, R] | Callable[P, Coroutine[Any, Any, R]]:
        if face is None:
            return self
        bound = self._bound(face)

        @functools.wraps(bound)  # name, docstring and signature (without ``self``)
        async def call(*args: P.args, **kwargs: P.kwargs) -> R:
            if not self._bounded:
                return await asyncio.to_thread(bound, *args, **kwargs)
            return await face.run(bound, *args, **kwargs)

        return call


class inline(_Twin[S, P, R]):  # noqa: N801 - used like a decorator, named like one
    """A synchronous method passed through on the caller's thread (local CPU work)."""

    @overload
    def __get__(self, face: None, owner: type[Any]) -> inline[S, P, R]: ...

    @overload
    def __get__(self, face: AsyncFace[S], owner: type[Any]) -> Callable[P, R]: ...

    def __get__(
        self, face: AsyncFace[S] | None, owner: type[Any]
    ) -> inline[S, P, R] | Callable[P, R]:
        return self if face is None else self._bound(face)
