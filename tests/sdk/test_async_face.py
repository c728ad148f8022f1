"""The async faces are generated from the synchronous classes: complete, typed, one pool."""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

import pytest
from mypy import api as mypy_api

from wearit_storage import S3Client, StorageRepository, SyncS3Client, SyncStorageRepository
from wearit_storage.faces.asynchronous import inline, offloaded

#: Lifecycle and plumbing: each face has its own version of these, not a generated twin.
_NOT_OPERATIONS = frozenset(
    {
        "close",
        "from_settings",
        "operation",
        "render",
        "max_upload_bytes",
        # The raw GetObject (a streaming body) the export reads through, and its wiring.
        "get_object",
        "read_from_replica",
    }
)


def _operations(sync_class: type) -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(sync_class, inspect.isfunction)
        if not name.startswith("_") and name not in _NOT_OPERATIONS
    }


@pytest.mark.parametrize(
    ("face", "sync_class"),
    [(S3Client, SyncS3Client), (StorageRepository, SyncStorageRepository)],
)
def test_every_sync_operation_has_a_generated_async_twin(face: type, sync_class: type) -> None:
    missing = []
    for name in sorted(_operations(sync_class)):
        twin = inspect.getattr_static(face, name, None)
        if not isinstance(twin, offloaded | inline) or twin._method is not getattr(
            sync_class, name
        ):
            missing.append(name)
    assert missing == [], f"add `{missing[0]} = offloaded(...)` (or inline) to {face.__name__}"


def test_generated_twins_keep_the_docstring_and_signature() -> None:
    face = StorageRepository()
    assert face.upload_avatar.__doc__ == SyncStorageRepository.upload_avatar.__doc__
    assert inspect.iscoroutinefunction(face.upload_avatar)
    assert str(inspect.signature(face.upload_avatar)) == (
        "(user_id: 'str', file_data: 'bytes', filename: 'str') -> 'str'"
    )


def test_repository_and_its_client_face_share_one_pool() -> None:
    repository = StorageRepository()
    assert repository.s3_client._executor is repository._executor


def test_mypy_checks_arguments_through_the_generated_faces(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        textwrap.dedent(
            """
            from wearit_storage import S3Client, StorageRepository

            async def use(repository: StorageRepository, client: S3Client) -> None:
                url: str = await repository.upload_clothing_image("u", "c", b"x", "a.jpg")
                await repository.upload_clothing_image("u", 1, b"x", "a.jpg")
                await repository.delete_user_files("u", progress="not a callable")
                size: int = await client.download_file("clothing/u/c/a.jpg")
                client.generate_presigned_url("clothing/u/c/a.jpg", expires_in="soon")
            """
        )
    )
    out, _, status = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(probe)]
    )
    errors = [line.split(": error: ")[0] for line in out.splitlines() if ": error: " in line]
    assert status == 1
    assert [e.rsplit(":", 1)[1] for e in errors] == ["6", "7", "8", "9"], out
