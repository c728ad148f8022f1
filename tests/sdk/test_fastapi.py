"""wearit_storage.fastapi with FastAPI's TestClient against the local S3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Body, Depends, FastAPI, HTTPException, Request, Response
from fastapi.testclient import TestClient

from wearit_storage import StorageRepository, StorageSettings
from wearit_storage.fastapi import (
    get_storage,
    image_redirect,
    install_exception_handlers,
    storage_lifespan,
)
from wearit_storage.s3.presign import PresignedPost

Storage = Depends(get_storage)


def make_app(settings: StorageSettings) -> FastAPI:
    """The integration as an application uses it (the README's own example runs in
    tests/local/test_readme_app.py, against the provisioned local environment)."""
    app = FastAPI(lifespan=storage_lifespan(settings))
    install_exception_handlers(app)

    @app.put("/users/{user_id}/clothing/{item_id}")
    async def upload(
        user_id: str, item_id: str, photo: bytes = Body(...), storage: StorageRepository = Storage
    ) -> dict[str, str]:
        return {"url": await storage.upload_clothing_image(user_id, item_id, photo, "photo.jpg")}

    @app.post("/uploads/{session_id}")
    async def presign(session_id: str, storage: StorageRepository = Storage) -> PresignedPost:
        return await storage.presign_upload(session_id, "photo.jpg")

    @app.put("/users/{user_id}/clothing/{item_id}/stored")
    async def store(
        user_id: str, item_id: str, photo: bytes = Body(...), storage: StorageRepository = Storage
    ) -> dict[str, str | None]:
        stored = await storage.store_clothing_image(user_id, item_id, photo, "photo.jpg")
        return {"url": stored.url, "avif_url": stored.avif_url}

    @app.get("/users/{user_id}/clothing/{item_id}/image")
    async def image(
        user_id: str, item_id: str, request: Request, storage: StorageRepository = Storage
    ) -> Response:
        key = f"clothing/{user_id}/{item_id}/photo"
        return image_redirect(
            request, storage.presigned_url(f"{key}.jpg"), storage.presigned_url(f"{key}.avif")
        )

    @app.get("/users/{user_id}/clothing/{item_id}")
    async def read(user_id: str, item_id: str, storage: StorageRepository = Storage) -> int:
        return len(await storage.download_clothing_image(user_id, item_id, "photo.jpg"))

    @app.delete("/users/{user_id}")
    async def erase(user_id: str, storage: StorageRepository = Storage) -> dict[str, bool]:
        return {"erased": bool(await storage.delete_user_files(user_id))}

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "short and stout", headers={"Retry-After": "60"})

    @app.get("/health")
    async def health(storage: StorageRepository = Storage) -> dict[str, Any]:
        report = await storage.health()
        return {"ok": report.ok, "reason": report.reason}

    return app


@pytest.fixture
def api(settings: StorageSettings) -> Iterator[TestClient]:
    with TestClient(make_app(settings)) as client:
        yield client


def test_upload_presign_read_erase_and_health(api: TestClient, jpeg: bytes) -> None:
    uploaded = api.put("/users/u1/clothing/c1", content=jpeg)
    assert uploaded.status_code == 200
    assert "/clothing/u1/c1/photo.jpg?" in uploaded.json()["url"]
    post = api.post("/uploads/session-1").json()
    assert post["key"] == "temp/session-1/photo.jpg"
    assert "policy" in post["fields"]
    assert api.get("/users/u1/clothing/c1").json() > 0
    assert api.get("/health").json() == {"ok": True, "reason": "all buckets answered"}
    assert api.delete("/users/u1").json() == {"erased": True}


@pytest.mark.parametrize(
    ("accept", "served"),
    [
        ("image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "avif"),  # Chrome
        ("image/webp,*/*", "jpg"),  # no AVIF decoder promised
        ("image/avif;q=0, image/jpeg", "jpg"),
        (None, "jpg"),
    ],
)
def test_the_image_a_client_gets_follows_its_accept_header(
    api: TestClient, jpeg: bytes, accept: str | None, served: str
) -> None:
    stored = api.put("/users/u1/clothing/c1/stored", content=jpeg).json()
    assert "/clothing/u1/c1/photo.avif?" in stored["avif_url"]
    headers = {} if accept is None else {"accept": accept}
    answer = api.get("/users/u1/clothing/c1/image", headers=headers, follow_redirects=False)
    assert answer.status_code == 307
    assert f"/clothing/u1/c1/photo.{served}?" in answer.headers["location"]
    assert answer.headers["vary"] == "Accept"
    assert "no-store" in answer.headers["cache-control"]


def test_storage_errors_are_problem_details_without_internals(
    api: TestClient, settings: StorageSettings
) -> None:
    missing = api.get("/users/u1/clothing/none")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    problem = missing.json()
    assert (problem["status"], problem["code"]) == (404, "not_found")
    assert settings.bucket_name not in missing.text
    assert "Traceback" not in missing.text

    bad_id = api.put("/users/u1/clothing/not%20an%20id!", content=b"x")
    assert (bad_id.status_code, bad_id.json()["code"]) == (422, "invalid_key")

    not_an_image = api.put("/users/u1/clothing/c1", content=b"GIF89a not accepted")
    assert not_an_image.status_code == 415
    assert (not_an_image.json()["code"], not_an_image.json()["reason"]) == (
        "image_rejected",
        "unsupported_format",
    )


def test_the_lifespan_closes_the_repository(settings: StorageSettings) -> None:
    app = make_app(settings)
    with TestClient(app):
        client = get_storage_from(app).s3_client.sync_client
        connected = [client.connected]
    connected.append(client.connected)
    assert connected == [True, False]
    assert not hasattr(app.state, "wearit_storage")


def get_storage_from(app: FastAPI) -> StorageRepository:
    repository = app.state.wearit_storage
    assert isinstance(repository, StorageRepository)
    return repository


def test_an_empty_body_is_problem_details_too(api: TestClient) -> None:
    empty = api.put("/users/u1/clothing/c1", content=b"")
    assert empty.status_code == 422
    assert empty.headers["content-type"] == "application/problem+json"
    problem = empty.json()
    assert (problem["status"], problem["code"], problem["detail"]) == (
        422,
        "invalid_request",
        "body: Field required",
    )
    assert problem["errors"] == [{"loc": ["body"], "msg": "Field required", "type": "missing"}]


def test_http_exceptions_and_unknown_routes_are_problem_details(api: TestClient) -> None:
    teapot = api.get("/teapot")
    assert teapot.status_code == 418
    assert teapot.headers["content-type"] == "application/problem+json"
    assert teapot.headers["retry-after"] == "60"
    assert teapot.json() == {
        "type": "about:blank",
        "title": "I'm a Teapot",
        "status": 418,
        "detail": "short and stout",
    }
    unknown = api.get("/no/such/route")
    assert (unknown.status_code, unknown.headers["content-type"]) == (
        404,
        "application/problem+json",
    )
    assert unknown.json()["detail"] == "Not Found"
