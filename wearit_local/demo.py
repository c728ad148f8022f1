"""The WearIT storage flow, end to end, against the embedded S3 provisioned from cdk.out.

Every step uses the public async SDK exactly as the API would; each one is timed and
checked, and the demo exits non-zero at the first step whose check fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import os
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
from wearit_local.lambda_events import LocalContext, receive_all, sqs_event
from wearit_local.provision import ProvisionedEnvironment
from wearit_local.samples import natural_image, sample_photo
from wearit_storage import (
    ErasureStatus,
    StoragePathBuilder,
    StorageRepository,
    StorageSettings,
    SyncS3Client,
    SyncStorageRepository,
    UserErased,
    UserExport,
)
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.workers import UploadWorker, WorkerStats, WorkQueue, lambda_handler
from wearit_storage.workers.erasures import ErasureMessages
from wearit_storage.workers.lambda_batch import BatchResponse
from wearit_storage.workers.poller import QueuePoller

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


def versions_under(boto: Any, bucket: str, prefix: str) -> int:
    """Versions and delete markers under ``prefix``."""
    pages = boto.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
    return sum(len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in pages)


def versions_left(
    boto: Any, bucket: str, user: str, categories: tuple[str, ...] = USER_CATEGORIES
) -> int:
    return sum(versions_under(boto, bucket, f"{category}/{user}/") for category in categories)


def s3_of(environment: ProvisionedEnvironment, region: str) -> Any:
    """A raw S3 client with the environment's credentials, to look behind the SDK's back."""
    return emulator_client(
        "s3", environment.endpoint_url, region, credentials=environment.credentials
    )


def simulate_replication(environment: ProvisionedEnvironment, user: str) -> int:
    """moto does not replicate: copy the user's current objects to the replica bucket, as
    S3 replication would, so the erasure has something to remove there too."""
    return replicate_user(
        s3_of(environment, environment.region),
        environment.data_bucket,
        s3_of(environment, environment.replica_region),
        environment.replica_bucket,
        user,
    )


def replicate_user(
    source: Any, data_bucket: str, target: Any, replica_bucket: str, user: str
) -> int:
    """Copy ``user``'s current objects from ``data_bucket`` to ``replica_bucket`` (raw
    boto3 clients of each region), as S3 replication would; how many were copied."""
    copied = 0
    for category in USER_CATEGORIES:
        pages = source.get_paginator("list_objects_v2").paginate(
            Bucket=data_bucket, Prefix=f"{category}/{user}/"
        )
        for page in pages:
            for entry in page.get("Contents", []):
                body = source.get_object(Bucket=data_bucket, Key=entry["Key"])["Body"]
                target.put_object(Bucket=replica_bucket, Key=entry["Key"], Body=body.read())
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
    queue = WorkQueue.uploads(settings)
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
        await _run_pipeline(repo, environment, settings, report)
        await _run_erasure_request(repo, environment, settings, report)
    finally:
        await repo.close()


async def _run_pipeline(
    repo: StorageRepository,
    environment: ProvisionedEnvironment,
    settings: StorageSettings,
    report: DemoReport,
) -> None:
    """The asynchronous path: the API only presigns; S3 -> SQS -> worker renders."""
    session = "session-2"
    destination = UploadDestination("clothing", f"{USER}-async", "dress-3")

    async def pinned_upload() -> int:
        post = await repo.presign_upload(
            session, "upload.jpg", "image/jpeg", destination=destination
        )
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
    report.note(f"worker: {stats.summary()}")
    done = await report.step("upload_status(session) -> done", lambda: repo.upload_status(session))
    check(done.state == "done", f"upload_status says {done.state} ({done.message})")
    check(done.url is not None, "done without a URL")
    report.note(f"done: {done.main_key} + {done.thumbnail_key}")
    await _run_lambda_batch(repo, environment, report)
    erased = await repo.delete_user_files(f"{USER}-async")
    check(bool(erased), "could not erase the asynchronous upload's user")


def run_eraser_until(
    repository: SyncStorageRepository,
    settings: StorageSettings,
    user_id: str,
    reached: Callable[[ErasureStatus], bool],
) -> ErasureStatus:
    """The eraser, as ``wearit-storage eraser`` runs it, until the user's status says so."""
    queue = WorkQueue.erasures(settings)
    try:
        messages = ErasureMessages.on_queue(
            queue, repository.s3_client, repository.replica_client, settings
        )
        poller = QueuePoller(messages, queue, wait_s=1, name="demo-eraser")
        for _ in range(20):
            poller.poll(once=True)
            status = repository.erasure_status(user_id)
            if reached(status):
                return status
        raise DemoFailure(f"the eraser never got {user_id} there: {status.state}")
    finally:
        queue.close()


async def _run_erasure_request(
    repo: StorageRepository,
    environment: ProvisionedEnvironment,
    settings: StorageSettings,
    report: DemoReport,
) -> None:
    """The API asks, the eraser does: a user who keeps uploading while being erased ends
    with nothing in either bucket. The late upload was presigned before the request and
    lands between the eraser's passes: the worker refuses it, the second pass removes it."""
    user = f"{USER}-leaving"
    await repo.upload_clothing_image(user, "coat-1", jpeg((1200, 1600), 30), "image.jpg")
    late = await repo.presign_upload(
        "session-late",
        "upload.jpg",
        "image/jpeg",
        destination=UploadDestination("clothing", user, "coat-2"),
    )
    await asyncio.to_thread(simulate_replication, environment, user)
    requested = await report.step(
        "request_user_erasure -> requested (one PUT: the request is the tombstone)",
        lambda: repo.request_user_erasure(user),
    )
    check(requested.state == "requested", f"request answered {requested.state}")
    try:
        await repo.presign_upload(
            "session-new", "upload.jpg", destination=UploadDestination("clothing", user, "c3")
        )
        raise DemoFailure("an erased user's upload was presigned")
    except UserErased as refused:
        report.note(f"a new presign is refused: {refused.code} (HTTP {refused.http_status})")
    sync = repo.sync_repository
    first = await report.step(
        "eraser, first pass: every version in both buckets, pending uploads",
        lambda: asyncio.to_thread(
            run_eraser_until, sync, settings, user, lambda s: s.second_pass_after is not None
        ),
    )
    report.note(f"first pass: {first.counts.versions_deleted} versions deleted")
    status = await asyncio.to_thread(post_presigned, late, jpeg((1600, 1200), 31), "image/jpeg")
    check(status in (200, 201, 204), f"the late POST answered {status}")
    stats = await report.step(
        "late upload (presigned before the request) -> worker refuses: user_erased",
        lambda: asyncio.to_thread(work_until_settled, sync, settings, "session-late"),
    )
    refused_upload = await repo.upload_status("session-late")
    check(
        (refused_upload.state, refused_upload.reason) == ("rejected", "user_erased"),
        f"the late upload ended {refused_upload.state} ({refused_upload.reason})",
    )
    report.note(f"worker: {stats.summary()}")
    done = await report.step(
        "eraser, second pass -> erasure_status done (nothing left anywhere)",
        lambda: asyncio.to_thread(
            run_eraser_until, sync, settings, user, lambda s: s.state != "requested"
        ),
    )
    check(done.state == "done", f"erasure ended {done.state}: {done.message}")
    everything = (*USER_CATEGORIES, "exports", "sessions")
    primary = s3_of(environment, environment.region)
    left = {
        environment.data_bucket: versions_left(primary, environment.data_bucket, user, everything)
        + versions_under(primary, environment.data_bucket, "temp/session-late/"),
        environment.replica_bucket: versions_left(
            s3_of(environment, environment.replica_region), environment.replica_bucket, user
        ),
    }
    check(not any(left.values()), f"versions of {user} remain: {left}")
    report.note(
        f"final report: {done.counts.versions_deleted} versions, "
        f"{done.counts.delete_markers_deleted} delete markers deleted; left in the primary "
        f"{left[environment.data_bucket]}, in the replica {left[environment.replica_bucket]}; "
        "the request stays as the tombstone"
    )


async def _run_lambda_batch(
    repo: StorageRepository, environment: ProvisionedEnvironment, report: DemoReport
) -> None:
    """The deployed path: the upload worker's Lambda handler, handed one batch of the
    queue's messages as the SQS event source mapping hands it (moto runs no Lambda)."""
    uploads = {
        "session-l1": jpeg((1600, 1200), 21),
        "session-l2": jpeg((1200, 1600), 22),
        "session-l3": b"\xff\xd8 a JPEG header and nothing of a photo" * 10,
    }
    for index, (session, data) in enumerate(uploads.items()):
        destination = UploadDestination("clothing", f"{USER}-async", f"item-l{index}")
        post = await repo.presign_upload(
            session, "upload.jpg", "image/jpeg", destination=destination
        )
        status = await asyncio.to_thread(post_presigned, post, data, "image/jpeg")
        check(status in (200, 201, 204), f"presigned POST answered {status}")
    sqs = emulator_client("sqs", environment.endpoint_url, environment.region)
    sqs.send_message(QueueUrl=environment.upload_queue_url, MessageBody="no S3 event at all")
    messages = await asyncio.to_thread(receive_all, sqs, environment.upload_queue_url, 4)
    event = sqs_event(sqs, environment.upload_queue_url, messages)
    response, output = await report.step(
        "Lambda handler: one SQS batch -> the same processor, partial failures",
        lambda: asyncio.to_thread(_invoke_upload_handler, environment, event),
    )
    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    malformed = [m["MessageId"] for m in messages if m["Body"] == "no S3 event at all"]
    check(failed == malformed, f"batchItemFailures {failed}, expected {malformed}")
    states = [(await repo.upload_status(session)).state for session in uploads]
    check(states == ["done", "done", "rejected"], f"statuses after the batch: {states}")
    report.note(
        f"batch of {len(messages)}: 2 done, 1 rejected (settled: deleted from the queue), 1 "
        "listed in batchItemFailures (no S3 event: it comes back, then goes to the DLQ)"
    )
    metrics = [line for line in output.stdout.splitlines() if line.startswith('{"_aws"')]
    check(len(metrics) >= 6, f"{len(metrics)} embedded-metric lines")
    report.note(
        f"its output: {len(metrics)} CloudWatch embedded-metric lines, "
        + ", ".join(f"{r.levelname} {r.getMessage()[:60]}" for r in output.warnings)
    )


@dataclass
class FunctionOutput:
    """What a function wrote: stdout (the metrics) and its warnings."""

    stdout: str
    warnings: list[logging.LogRecord]


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _invoke_upload_handler(
    environment: ProvisionedEnvironment, event: dict[str, Any]
) -> tuple[BatchResponse, FunctionOutput]:
    """``upload_handler`` in a fresh execution environment configured as the stack
    configures the function (here, pointed at the local server); what it writes is kept
    for the report (in Lambda, it goes to the function's log group)."""
    variables = {**environment.environment_variables(), "WEARIT_WORKER_CONCURRENCY": "2"}
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    lambda_handler.upload_worker.cache_clear()
    stdout, warnings = io.StringIO(), _Warnings()
    sdk_logger = logging.getLogger("wearit_storage")
    sdk_logger.addHandler(warnings)
    sdk_logger.propagate = False
    try:
        with contextlib.redirect_stdout(stdout):
            response = lambda_handler.upload_handler(event, LocalContext())
        return response, FunctionOutput(stdout.getvalue(), warnings.records)
    finally:
        sdk_logger.removeHandler(warnings)
        sdk_logger.propagate = True
        lambda_handler.upload_worker.cache_clear()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
        post = await repo.presign_upload("session-1", "upload.jpg", "image/jpeg")
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
