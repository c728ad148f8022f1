"""FastAPI integration (extra ``[fastapi]``): lifespan, dependency, problem-details errors,
and the image a client should be sent (AVIF or JPEG, from its ``Accept`` header).

::

    from fastapi import Depends, FastAPI
    from wearit_storage import StorageRepository
    from wearit_storage.fastapi import get_storage, install_exception_handlers, storage_lifespan

    app = FastAPI(lifespan=storage_lifespan())
    install_exception_handlers(app)

    @app.put("/users/{user_id}/clothing/{item_id}")
    async def upload(user_id: str, item_id: str, body: bytes = Body(...),
                     storage: StorageRepository = Depends(get_storage)) -> dict[str, str]:
        return {"url": await storage.upload_clothing_image(user_id, item_id, body, "photo.jpg")}

    @app.get("/uploads/{session_id}/image")
    async def image(session_id: str, request: Request,
                    storage: StorageRepository = Depends(get_storage)) -> Response:
        status = await storage.upload_status(session_id)
        ...  # 404 unless status.state == "done"
        return image_redirect(request, status.url, status.avif_url)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from http import HTTPStatus
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from wearit_storage.delivery.signing import SignedCookies
from wearit_storage.errors import ImageRejected, InvalidStorageRequest, StorageError
from wearit_storage.observability import MetricsHook
from wearit_storage.renditions import preferred_format
from wearit_storage.repository import StorageRepository
from wearit_storage.settings import StorageSettings

#: Where the open repository lives: ``app.state.wearit_storage``.
STATE_ATTRIBUTE = "wearit_storage"
PROBLEM_JSON = "application/problem+json"

#: What a client is told for errors whose message is about our side, not its request.
_SERVER_SIDE_DETAIL = {
    403: "The storage refused the operation.",
    404: "The requested object does not exist.",
    500: "The storage failed to complete the operation.",
    503: "The storage is unavailable; try again later.",
}


def storage_lifespan(
    settings: StorageSettings | None = None, *, metrics_hook: MetricsHook | None = None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that opens the repository at start-up (from ``StorageSettings.from_env()``
    unless ``settings`` is given), keeps it on ``app.state``, and closes it at shutdown.

    To compose it with the application's own lifespan::

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            async with storage_lifespan()(app):
                ...  # the application's own start-up
                yield
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        repository = await StorageRepository.from_settings(
            settings if settings is not None else StorageSettings.from_env(),
            metrics_hook=metrics_hook,
        )
        setattr(app.state, STATE_ATTRIBUTE, repository)
        try:
            yield
        finally:
            delattr(app.state, STATE_ATTRIBUTE)
            await repository.close()

    return lifespan


def get_storage(request: Request) -> StorageRepository:
    """FastAPI dependency: the repository opened by :func:`storage_lifespan`."""
    repository = getattr(request.app.state, STATE_ATTRIBUTE, None)
    if not isinstance(repository, StorageRepository):
        raise RuntimeError(
            "no storage repository on app.state: create the app with "
            "FastAPI(lifespan=storage_lifespan())"
        )
    return repository


def set_signed_cookies(
    response: Response,
    cookies: SignedCookies,
    *,
    domain: str | None = None,
    samesite: Literal["lax", "strict", "none"] = "lax",
) -> None:
    """Set the CDN's signed cookies (``await storage.signed_cookies(user_id)``) on
    ``response``: each set under its own path, ``Secure``, ``HttpOnly``, until they expire.

    ``domain``: a parent of both the API's and the CDN's host names (``wearit.com`` for
    ``api.wearit.com`` and ``images.wearit.com``): a browser keeps a cookie only for the
    host that set it or a parent of it. ``None``: host-only, when the API and the CDN share
    a host name.
    """
    for cookie_set in cookies.sets:
        for name, value in cookie_set.values.items():
            response.set_cookie(
                name,
                value,
                expires=cookies.expires_at,
                path=cookie_set.path,
                domain=domain,
                secure=True,
                httponly=True,
                samesite=samesite,
            )


def install_exception_handlers(app: FastAPI) -> None:
    """Answer every error with an RFC 9457 problem-details response: each
    :class:`StorageError`, and FastAPI's own request validation errors (an empty or missing
    body, a bad parameter: 422, ``code`` ``invalid_request``) and ``HTTPException`` (404
    for an unknown route, the app's own ``raise HTTPException(...)``), so that a client
    reads one error shape whatever failed."""
    app.add_exception_handler(StorageError, _problem_response)
    app.add_exception_handler(RequestValidationError, _invalid_request_response)
    app.add_exception_handler(HTTPException, _http_problem_response)


async def _problem_response(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StorageError)  # registered for StorageError only
    status = error.http_status
    problem: dict[str, Any] = {
        "type": f"urn:wearit:storage:{error.code}",
        "title": error.code.replace("_", " ").capitalize(),
        "status": status,
        "detail": _client_detail(request, error, status),
        "code": error.code,
    }
    if isinstance(error, ImageRejected):
        problem["reason"] = error.reason
    return JSONResponse(problem, status_code=status, media_type=PROBLEM_JSON)


async def _invalid_request_response(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # registered for it only
    # Where and what, never the "input" FastAPI would echo back (a whole request body).
    errors = [
        {
            "loc": list(item.get("loc", ())),
            "msg": str(item.get("msg", "")),
            "type": item.get("type"),
        }
        for item in error.errors()
    ]
    detail = "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in errors
    )
    code = InvalidStorageRequest.code  # the code the SDK's own request errors carry
    problem = {
        "type": f"urn:wearit:storage:{code}",
        "title": "Invalid request",
        "status": 422,
        "detail": detail or "The request is invalid.",
        "code": code,
        "errors": errors,
    }
    return JSONResponse(problem, status_code=422, media_type=PROBLEM_JSON)


async def _http_problem_response(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)  # registered for it only
    if error.status_code < 200 or error.status_code in (204, 205, 304):
        return await http_exception_handler(request, error)  # a status with no body
    try:
        title = HTTPStatus(error.status_code).phrase
    except ValueError:  # a status code Python does not name
        title = f"HTTP {error.status_code}"
    problem = {
        "type": "about:blank",  # RFC 9457: the status code says it all
        "title": title,
        "status": error.status_code,
        "detail": error.detail,  # the app's own words, as FastAPI would send them
    }
    return JSONResponse(
        problem, status_code=error.status_code, headers=error.headers, media_type=PROBLEM_JSON
    )


def _client_detail(request: Request, error: StorageError, status: int) -> str:
    """The message when it is about the request (4xx but 403/404); a fixed sentence when it
    is about our side. Bucket names are removed either way."""
    if status in _SERVER_SIDE_DETAIL or status >= 500:
        return _SERVER_SIDE_DETAIL.get(status, _SERVER_SIDE_DETAIL[500])
    detail = str(error)
    repository = getattr(request.app.state, STATE_ATTRIBUTE, None)
    if isinstance(repository, StorageRepository):
        for client in (repository.s3_client.sync_client, repository.replica_client):
            if client is not None and client.connected:
                detail = detail.replace(client.bucket_name, "<bucket>")
    return detail


def preferred_image_url(request: Request, jpeg_url: str, avif_url: str | None) -> str:
    """The URL to send this client: the AVIF when its ``Accept`` header names
    ``image/avif`` (with a non-zero ``q``) and the image has one, else the JPEG.

    The URL pairs are on ``StoredImage`` (``url``, ``avif_url``) and ``UploadStatus``
    (``url``, ``avif_url``, ``thumbnail_url``, ``thumbnail_avif_url``).
    """
    wanted = preferred_format(request.headers.get("accept"))
    return avif_url if wanted == "avif" and avif_url is not None else jpeg_url


def image_redirect(request: Request, jpeg_url: str, avif_url: str | None) -> RedirectResponse:
    """A temporary redirect to :func:`preferred_image_url`, marked ``Vary: Accept`` so a
    shared cache never hands an AVIF to a client that asked for JPEG, and ``private``:
    the target is a presigned URL, a bearer credential."""
    response = RedirectResponse(preferred_image_url(request, jpeg_url, avif_url), 307)
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "private, no-store"
    return response
