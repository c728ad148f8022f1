"""The WearIT storage flow, end to end, against the embedded S3 provisioned from cdk.out.

Every step uses the public async SDK exactly as the API would; each one is timed and
checked, and the demo exits non-zero at the first step whose check fails.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import json
import tempfile
import time
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from PIL import Image

from wearit_local.clients import emulator_client
from wearit_local.http_upload import get_url, post_presigned
from wearit_local.provision import ProvisionedEnvironment
from wearit_local.samples import natural_image, sample_photo
from wearit_storage import (
    StoragePathBuilder,
    StorageRepository,
    StorageSettings,
    SyncS3Client,
    SyncStorageRepository,
    UserExport,
)
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.workers import UploadQueue, UploadWorker, WorkerStats

T = TypeVar("T")
USER = "demo-user-42"
EXIF_ROTATED_RIGHT = 6  # stored landscape, displayed portrait
GPS_IFD = 0x8825


class DemoFailure(Exception):
    """A step ran but its result was wrong."""


@dataclass
class DemoReport:
    out: TextIO
    steps: list[tuple[str, float]] = field(default_factory=list)

    async def step(self, title: str, action: Callable[[], Awaitable[T]]) -> T:
        start = time.perf_counter()
        try:
            result = await action()
        except Exception as error:
            self.out.write(f"  FAIL {title}: {error}\n")
            raise
        elapsed = time.perf_counter() - start
        self.steps.append((title, elapsed))
        self.out.write(f"  ok   {title:<58} {elapsed * 1000:8.0f} ms\n")
        return result

    def note(self, text: str) -> None:
        self.out.write(f"       {text}\n")


def check(condition: bool, message: str) -> None:
    if not condition:
        raise DemoFailure(message)


def image_info(data: bytes) -> tuple[tuple[int, int], dict[Any, Any], bool]:
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return image.size, dict(image.info), bool(exif) or bool(exif.get_ifd(GPS_IFD))


def jpeg(size: tuple[int, int], seed: int) -> bytes:
    out = io.BytesIO()
    natural_image(size, seed).save(out, "JPEG", quality=90)
    return out.getvalue()


USER_CATEGORIES = ("clothing", "body", "tryon", "avatars")


def versions_left(
    boto: Any, bucket: str, user: str, categories: tuple[str, ...] = USER_CATEGORIES
) -> int:
    total = 0
    for category in categories:
        pages = boto.get_paginator("list_object_versions").paginate(
            Bucket=bucket, Prefix=f"{category}/{user}/"
        )
        for page in pages:
            total += len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
    return total


def s3_of(environment: ProvisionedEnvironment, region: str) -> Any:
    """A raw S3 client with the environment's credentials, to look behind the SDK's back."""
    return emulator_client(
        "s3", environment.endpoint_url, region, credentials=environment.credentials
    )


def simulate_replication(environment: ProvisionedEnvironment, user: str) -> int:
    """moto does not replicate: copy the user's current objects to the replica bucket, as
    S3 replication would, so the erasure has something to remove there too."""
    source = s3_of(environment, environment.region)
    target = s3_of(environment, environment.replica_region)
    copied = 0
    for category in ("clothing", "body", "tryon", "avatars"):
        pages = source.get_paginator("list_objects_v2").paginate(
            Bucket=environment.data_bucket, Prefix=f"{category}/{user}/"
        )
        for page in pages:
            for entry in page.get("Contents", []):
                body = source.get_object(Bucket=environment.data_bucket, Key=entry["Key"])["Body"]
                target.put_object(
                    Bucket=environment.replica_bucket, Key=entry["Key"], Body=body.read()
                )
                copied += 1
    return copied


async def check_export(repo: StorageRepository, export: UserExport, objects: int) -> None:
    """Open the archive: every current file, byte for byte, and a manifest that says so."""
    archive = zipfile.ZipFile(io.BytesIO(await asyncio.to_thread(get_url, export.url)))
    manifest = json.loads(archive.read("manifest.json"))
    check(export.objects == objects, f"{export.objects} files exported, usage says {objects}")
    check(len(manifest["files"]) == objects, "the manifest does not list every file")
    for entry in manifest["files"]:
        stored = await repo.s3_client.download_file(entry["key"])
        data = archive.read(entry["path"])
        check(data == stored, f"{entry['key']} differs in the archive")
        check(hashlib.sha256(data).hexdigest() == entry["sha256"], f"{entry['key']}: checksum")


def work_until_settled(
    repository: SyncStorageRepository, settings: StorageSettings, session_id: str
) -> WorkerStats:
    """One upload worker, as ``wearit-storage worker`` runs it, polling until the session
    is settled (the queue also holds the s3:TestEvent and the unpinned upload's event)."""
    queue = UploadQueue.from_settings(settings)
    try:
        worker = UploadWorker(repository, queue, wait_s=1, worker_id="demo-worker")
        for _ in range(10):
            worker.run(once=True)
            if repository.upload_status(session_id).state != "pending":
                break
        return worker.stats
    finally:
        queue.close()


def show_edge_delivery(
    repo: SyncStorageRepository, environment: ProvisionedEnvironment, report: DemoReport
) -> None:
    """CloudFront cannot run locally: sign what the app would get with a dev key made now
    (kept in a temporary directory, deleted at the end of this step, never committed)."""
    domain = environment.cdn_domain
    check(domain is not None, "the templates declare no CDN distribution")
    assert domain is not None
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    clothing_key = StoragePathBuilder.clothing_path(USER, "jacket-1", "image.jpg")
    version = repo.s3_client.head_object(clothing_key).version_id
    with tempfile.TemporaryDirectory() as workdir:
        key_file = Path(workdir) / "dev-cdn-key.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        settings = dataclasses.replace(
            repo.s3_client.settings,
            cdn_domain=domain,
            cdn_key_pair_id="KDEVLOCALKEY01",
            cdn_private_key_file=str(key_file),
        )
        with SyncS3Client.from_settings(settings) as cdn_client:
            url = cdn_client.image_url(clothing_key, version)
            again = cdn_client.image_url(clothing_key, version)
            cookies = cdn_client.signed_cookies(USER)
    check(url == again, "two signatures in one window differ")
    check(f"versionId={version}" in url, "the CDN URL does not name the version")
    report.note(f"presigned S3 (used here): {repo.presigned_url(clothing_key)}")
    report.note(f"CloudFront (the app's):   {url}")
    for cookie_set in cookies.sets:
        for name, value in cookie_set.values.items():
            report.note(f"cookie {name}={value}; Path={cookie_set.path}; Secure; HttpOnly")
    report.note(
        f"signed with a dev key generated now (key pair id KDEVLOCALKEY01); the CDN trusts the "
        f"public keys in cdk.json, and serves https://{domain} only where it is deployed"
    )


async def run_flow(environment: ProvisionedEnvironment, report: DemoReport) -> None:
    """The SDK configured as an application would be: from the environment's variables."""
    settings = StorageSettings.from_env(environment.environment_variables())
    paths = StoragePathBuilder()
    photo = sample_photo(orientation=EXIF_ROTATED_RIGHT)
    size, _, has_exif = image_info(photo)
    report.note(
        f"sample: {size[0]}x{size[1]} JPEG, {len(photo) / 1e6:.1f} MB, EXIF orientation 6, "
        f"GPS tags: {has_exif}"
    )
    repo = await report.step(
        "connect the SDK (async, bounded thread pool)",
        lambda: StorageRepository.from_settings(settings),
    )
    try:
        await _run_steps(repo, environment, report, paths, photo)
        await _run_pipeline(repo, settings, report)
    finally:
        await repo.close()


async def _run_pipeline(
    repo: StorageRepository, settings: StorageSettings, report: DemoReport
) -> None:
    """The asynchronous path: the API only presigns; S3 -> SQS -> worker renders."""
    session = "session-2"
    destination = UploadDestination("clothing", f"{USER}-async", "dress-3")

    async def pinned_upload() -> int:
        post = repo.presign_upload(session, "upload.jpg", "image/jpeg", destination=destination)
        return await asyncio.to_thread(post_presigned, post, jpeg((1600, 1200), 12), "image/jpeg")

    status = await report.step(
        "presigned POST with a pinned destination (x-amz-meta-* in the policy)", pinned_upload
    )
    check(status in (200, 201, 204), f"presigned POST answered {status}")
    pending = await repo.upload_status(session)
    check(pending.state == "pending", f"status before the worker ran: {pending.state}")
    stats = await report.step(
        "upload worker: S3 event on SQS -> validate + render -> ack",
        lambda: asyncio.to_thread(work_until_settled, repo.sync_repository, settings, session),
    )
    report.note(
        f"worker: {stats.received} received, {stats.done} done, {stats.ignored} not for it "
        "(the upload the API promoted itself, status writes)"
    )
    done = await report.step("upload_status(session) -> done", lambda: repo.upload_status(session))
    check(done.state == "done", f"upload_status says {done.state} ({done.message})")
    check(done.url is not None, "done without a URL")
    report.note(f"done: {done.main_key} + {done.thumbnail_key}")
    erased = await repo.delete_user_files(f"{USER}-async")
    check(bool(erased), "could not erase the asynchronous upload's user")


async def _run_steps(
    repo: StorageRepository,
    environment: ProvisionedEnvironment,
    report: DemoReport,
    paths: StoragePathBuilder,
    photo: bytes,
) -> None:
    clothing_key = paths.clothing_path(USER, "jacket-1", "image.jpg")
    thumb_key = paths.clothing_path(USER, "jacket-1", "image_thumb.jpg")
    url = await report.step(
        "upload clothing photo -> 800 px image + 200x200 thumbnail",
        lambda: repo.upload_clothing_image(USER, "jacket-1", photo, "image.jpg"),
    )
    client = repo.s3_client
    main = await client.download_file(clothing_key)
    thumb = await client.download_file(thumb_key)
    main_size, _, main_meta = image_info(main)
    thumb_size, _, _ = image_info(thumb)
    check(max(main_size) == 800 and main_size[1] > main_size[0], f"main is {main_size}")
    check(thumb_size == (200, 200), f"thumbnail is {thumb_size}")
    check(not main_meta, "EXIF/GPS survived in the stored image")
    report.note(
        f"{clothing_key}: {main_size[0]}x{main_size[1]} (rotated upright), {len(main)} bytes, "
        f"no EXIF/GPS; {thumb_key}: 200x200"
    )

    await report.step(
        "upload a body photo",
        lambda: repo.upload_body_image(USER, "body-1", jpeg((1200, 1600), 7), "image.jpg"),
    )
    await report.step(
        "upload a try-on result",
        lambda: repo.upload_tryon_result(USER, "tryon-1", jpeg((768, 1024), 8), "result.jpg"),
    )
    avatar_key = paths.avatar_path(USER, "avatar.jpg")
    await report.step(
        "upload an avatar", lambda: repo.upload_avatar(USER, jpeg((600, 600), 9), "avatar.jpg")
    )

    async def fetch() -> bytes:
        return await asyncio.to_thread(get_url, url)

    fetched = await report.step("fetch the presigned GET URL over HTTP", fetch)
    check(fetched == main, "the presigned URL served different bytes")
    await report.step(
        "edge delivery: the CDN URL and cookies the app would get",
        lambda: asyncio.to_thread(show_edge_delivery, repo.sync_repository, environment, report),
    )

    async def direct_upload() -> int:
        post = repo.presign_upload("session-1", "upload.jpg", "image/jpeg")
        return await asyncio.to_thread(post_presigned, post, jpeg((1600, 1200), 10), "image/jpeg")

    status = await report.step("direct upload to temp/ through a presigned POST", direct_upload)
    check(status in (200, 201, 204), f"presigned POST answered {status}")
    promoted = await report.step(
        "promote the temp upload into clothing/ (validate + render)",
        lambda: repo.promote_temp_upload(
            "session-1", "upload.jpg", user_id=USER, category="clothing", item_id="shirt-2"
        ),
    )
    report.note(f"promoted to {promoted.main.key}; temp/session-1/upload.jpg removed")

    usage = await report.step("storage usage of the user", lambda: repo.user_storage_usage(USER))
    for category, entry in usage.categories.items():
        report.note(f"{category:<9} {entry.objects:>3} objects {entry.bytes:>9} bytes")
    check(usage.objects >= 7, f"expected at least 7 objects, usage says {usage.objects}")

    original_avatar = await client.download_file(avatar_key)
    await report.step(
        "overwrite the avatar",
        lambda: repo.upload_avatar(USER, jpeg((600, 600), 11), "avatar.jpg"),
    )
    await report.step(
        "restore the previous avatar version", lambda: repo.restore_previous_version(avatar_key)
    )
    check(await client.download_file(avatar_key) == original_avatar, "restore gave other bytes")

    export = await report.step(
        "export the user's files (GDPR): one streamed ZIP + manifest",
        lambda: repo.export_user_files(USER),
    )
    await check_export(repo, export, (await repo.user_storage_usage(USER)).objects)
    report.note(
        f"{export.key}: {export.objects} files, {export.archive_bytes} bytes, every file and "
        "its SHA-256 checked against the bucket"
    )

    copied = await report.step(
        "copy to the replica as S3 replication would (moto cannot)",
        lambda: asyncio.to_thread(simulate_replication, environment, USER),
    )
    report.note(f"{copied} objects copied to {environment.replica_bucket}")

    erasure = await report.step(
        "erase the user (every version, both buckets)", lambda: repo.delete_user_files(USER)
    )
    check(bool(erasure), f"erasure incomplete: {erasure.failures} {erasure.remaining}")
    primary_left = versions_left(
        s3_of(environment, environment.region), environment.data_bucket, USER
    )
    replica_left = versions_left(
        s3_of(environment, environment.replica_region), environment.replica_bucket, USER
    )
    exports_left = versions_left(
        s3_of(environment, environment.region), environment.data_bucket, USER, ("exports",)
    )
    report.note(
        f"{erasure.versions_deleted} versions and {erasure.delete_markers_deleted} delete "
        f"markers deleted; left: primary {primary_left}, replica {replica_left}, "
        f"exports {exports_left}"
    )
    check(primary_left == 0 and replica_left == 0, "versions remain after erasure")
    check(exports_left == 0, f"{exports_left} export versions remain after erasure")
