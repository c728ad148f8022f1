"""The application's side of the soak: the async SDK configured from ``local up``'s exports,
driven by concurrent actors as an API under mixed traffic would drive it.

Actors, each a loop paced by :class:`Pace` and capped in count and by the run's end:

- direct uploads: presign with a destination, POST the photo with the returned fields;
  a poller asks ``upload_status`` and, once ``done``, fetches the status's URL;
- synchronous uploads: ``upload_clothing_image`` (new items, and overwrites of the
  actor's own), ``upload_body_image``, ``upload_tryon_result``, ``upload_avatar``, and an
  input that is no image (refused);
- reads: ``download_file`` and presigned GETs fetched over HTTP, of renditions the soak
  never overwrites, compared with the SDK's render;
- exports: ``export_user_files``, the archive fetched and checked against what was
  acknowledged before it started;
- erasures mid-upload: a user's objects copied to the replica (moto does not
  replicate), two direct uploads POSTed, ``request_user_erasure`` right behind them, one
  more POST presigned before the request and sent after it; then ``erasure_status`` until
  the eraser's second pass says ``done``.

Every user is ``active`` until picked for erasure, ``erasing`` from then (no actor picks
them any more; what is in flight goes on) and ``erased`` once the status says ``done``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import io
import json
import random
import time
import traceback
import urllib.error
import zipfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from benchmarks.soak.ledger import DirectUpload, Erasure, Ledger, failure_type
from benchmarks.soak.photos import DIRECT_CATEGORY, NOT_A_PHOTO, Expected, Photo, sha256
from wearit_local.http_upload import get_url, post_presigned
from wearit_storage import (
    Category,
    ExportFailed,
    ImageRejected,
    ObjectNotFound,
    PresignedPost,
    StoragePathBuilder,
    StorageRepository,
    UploadDestination,
    UploadStatus,
    UserErased,
    new_upload_session_id,
)
from wearit_storage.paths import promotion_keys, rendition_key, thumbnail_key

#: Users uploading at any time; each one erased is replaced by a new one.
ACTIVE_USERS: Final = 8
#: The longest the soak waits for one erasure's second pass to say ``done``.
ERASURE_TIMEOUT_S: Final = 120.0
#: ``upload_status`` calls per poll round (oldest sessions first).
POLL_BATCH: Final = 40
#: The reasons an image is refused for (``ImageRejected.reason``).
IMAGE_REASONS: Final = frozenset(
    {"empty", "too_large", "too_many_pixels", "unsupported_format", "corrupt", "decompression_bomb"}
)
SUCCESS: Final = frozenset({200, 201, 204})
#: Synchronous upload kinds and their weights.
SYNC_KINDS: Final = (
    ("clothing", 35),
    ("overwrite", 15),
    ("body", 15),
    ("tryon", 15),
    ("avatar", 15),
    ("not_a_photo", 5),
)
#: Photo weights, in the order of :func:`benchmarks.soak.photos.photos`.
PHOTO_WEIGHTS: Final = (30, 25, 20, 10, 15)
#: One direct upload in this many is the input that is no image.
NOT_A_PHOTO_EVERY: Final = 20


@dataclass(frozen=True, slots=True)
class Pace:
    """How many actors of each kind, and how often each acts (seconds between starts)."""

    direct_actors: int = 2
    direct_every_s: float = 3.0
    sync_actors: int = 2
    sync_every_s: float = 3.0
    read_actors: int = 2
    read_every_s: float = 1.0
    poll_every_s: float = 1.0
    export_every_s: float = 90.0
    erase_every_s: float = 90.0
    first_erasure_s: float = 20.0

    def scaled(self, duration_s: float) -> Pace:
        """Short runs still export and erase a few times."""
        quarter = max(20.0, duration_s / 4)
        return dataclasses.replace(
            self,
            export_every_s=min(self.export_every_s, quarter),
            erase_every_s=min(self.erase_every_s, quarter),
        )


def _sync_key(category: Category, user: str, item: str, filename: str) -> str:
    builder = StoragePathBuilder
    if category is Category.AVATARS:
        return rendition_key(builder.avatar_path(user, filename))
    paths = {
        Category.CLOTHING: builder.clothing_path,
        Category.BODY: builder.body_path,
        Category.TRYON: builder.tryon_path,
    }
    return rendition_key(paths[category](user, item, filename))


class Traffic:
    def __init__(
        self,
        repository: StorageRepository,
        ledger: Ledger,
        inputs: tuple[Photo, ...],
        expected: Mapping[tuple[str, Category], Expected],
        replicate: Callable[[str], int],
        *,
        duration_s: float,
        pace: Pace,
        seed: int = 20,
    ) -> None:
        self.repo = repository
        self.ledger = ledger
        self.inputs = inputs
        self.expected = expected
        self.replicate = replicate
        self.duration_s = duration_s
        self.pace = pace.scaled(duration_s)
        self.rng = random.Random(seed)  # a reproducible mix
        self._next_user = 0
        self._readable: list[str] = []  # acknowledged keys the soak never overwrites
        self._owned: dict[int, list[tuple[str, str, str]]] = {}  # actor -> (user, item, file)
        self._serial = 0
        self._traced: set[str] = set()
        for _ in range(ACTIVE_USERS):
            self._new_user()

    # -- the loops ---------------------------------------------------------------------

    def running(self) -> bool:
        return self.ledger.now() < self.duration_s

    def _left_s(self) -> float:
        return max(0.0, self.duration_s - self.ledger.now())

    async def run(self) -> None:
        pace = self.pace
        loops = [self._every("poll", pace.poll_every_s, self._poll)]
        loops += [
            self._every("direct", pace.direct_every_s, self._direct)
            for _ in range(pace.direct_actors)
        ]
        loops += [
            self._every("sync", pace.sync_every_s, functools.partial(self._sync, actor))
            for actor in range(pace.sync_actors)
        ]
        loops += [
            self._every("read", pace.read_every_s, self._read) for _ in range(pace.read_actors)
        ]
        loops.append(self._every("export", pace.export_every_s, self._export, first_s=10.0))
        loops.append(
            self._every("erase", pace.erase_every_s, self._erase, first_s=pace.first_erasure_s)
        )
        await asyncio.gather(*loops)

    async def _every(
        self,
        name: str,
        interval_s: float,
        action: Callable[[], Awaitable[None]],
        *,
        first_s: float = 0.0,
    ) -> None:
        """``action`` every ``interval_s`` until the run's end; at most as many times as
        the duration allows (plus one), whatever the clock does."""
        await asyncio.sleep(min(first_s, self._left_s()))
        for _ in range(int(self.duration_s / interval_s) + 1):
            if not self.running():
                return
            started = time.monotonic()
            try:
                await action()
            except Exception as exc:  # a defect of the soak, or an error nobody classified
                self.ledger.fail_with(name, exc)
                if name not in self._traced:
                    self._traced.add(name)
                    traceback.print_exc()
            await asyncio.sleep(
                min(self._left_s(), max(0.0, interval_s - (time.monotonic() - started)))
            )

    async def drain(self, timeout_s: float) -> None:
        """After the traffic: poll until every direct upload of a user still around
        settled, at most ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self._pollable():
            await self._poll()
            await asyncio.sleep(1.0)

    # -- users and inputs --------------------------------------------------------------

    def _new_user(self) -> str:
        user = f"soak-user-{self._next_user:04d}"
        self._next_user += 1
        self.ledger.users[user] = "active"
        return user

    def _pick_user(self) -> str:
        return self.rng.choice(self.ledger.active_users())

    def _pick_photo(self) -> Photo:
        return self.rng.choices(self.inputs, weights=PHOTO_WEIGHTS)[0]

    def _serial_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:06d}"

    def _is_active(self, user: str) -> bool:
        return self.ledger.users.get(user) == "active"

    def _outcome(
        self, action: str, exc: BaseException, user: str, *by_design: type[BaseException]
    ) -> None:
        """A refusal if the user is being erased and the error is one an erasure causes;
        a failure otherwise."""
        if isinstance(exc, by_design) and not self._is_active(user):
            self.ledger.refuse(action, failure_type(exc))
        else:
            self.ledger.fail_with(action, exc)

    # -- direct uploads ----------------------------------------------------------------

    async def _direct(self) -> None:
        photo = NOT_A_PHOTO if self.rng.randrange(NOT_A_PHOTO_EVERY) == 0 else self._pick_photo()
        presigned = await self._presign(self._pick_user(), photo)
        if presigned is not None:
            await self._send(*presigned, photo)

    async def _presign(self, user: str, photo: Photo) -> tuple[DirectUpload, PresignedPost] | None:
        session = new_upload_session_id()
        item = f"d-{session}"
        destination = UploadDestination(DIRECT_CATEGORY, user, item)
        self.ledger.actions["presign_upload"] += 1
        try:
            post = await self.repo.presign_upload(session, photo.filename, destination=destination)
        except Exception as exc:
            self._outcome("presign_upload", exc, user, UserErased)
            return None
        upload = DirectUpload(
            session, user, item, photo.name, 0.0, refusal_expected=photo is NOT_A_PHOTO
        )
        return upload, post

    async def _send(self, upload: DirectUpload, post: PresignedPost, photo: Photo) -> None:
        self.ledger.actions["presigned_post"] += 1
        try:
            status = await asyncio.to_thread(post_presigned, post, photo.data, photo.content_type)
        except OSError as exc:  # urllib's errors, HTTPError included
            self.ledger.fail_with("presigned_post", exc)
            return
        if status not in SUCCESS:
            self.ledger.fail("presigned_post", f"HTTP {status}")
            return
        upload.posted_at_s = self.ledger.now()
        self.ledger.uploads[upload.session] = upload

    def _pollable(self) -> list[DirectUpload]:
        return [u for u in self.ledger.pending() if self.ledger.users.get(u.user) != "erased"]

    async def _poll(self) -> None:
        for upload in self._pollable()[:POLL_BATCH]:
            self.ledger.actions["upload_status"] += 1
            try:
                status = await self.repo.upload_status(upload.session)
            except Exception as exc:
                self.ledger.fail_with("upload_status", exc)
                continue
            if status.state == "pending":
                continue
            upload.state = status.state
            upload.reason = status.reason
            upload.settled_at_s = self.ledger.now()
            if status.state == "done":
                await self._acknowledge_direct(upload, status)
            else:
                self._judge_rejection(upload)

    def _judge_rejection(self, upload: DirectUpload) -> None:
        reason = upload.reason or ""
        if reason in IMAGE_REASONS and upload.photo == NOT_A_PHOTO.name:
            self.ledger.refuse("direct_upload", f"rejected({reason})")
        elif reason == "user_erased" and not self._is_active(upload.user):
            self.ledger.refuse("direct_upload", "rejected(user_erased)")
        else:
            self.ledger.fail("direct_upload", f"rejected({reason})", upload.photo)

    async def _acknowledge_direct(self, upload: DirectUpload, status: UploadStatus) -> None:
        if upload.refusal_expected:
            self.ledger.fail(
                "direct_upload",
                "done, but should have been refused",
                f"{upload.photo} for {upload.user} (state {self.ledger.users[upload.user]})",
            )
            return
        expected = self.expected[upload.photo, DIRECT_CATEGORY]
        keys = promotion_keys(DIRECT_CATEGORY, upload.user, upload.item, with_thumbnail=True)
        if (status.main_key, status.thumbnail_key) != keys:
            self.ledger.fail("direct_upload", "done at other keys", f"{status.main_key}")
            return
        main, thumbnail = keys
        self.ledger.acknowledge(main, expected.main, upload.user, "direct", stable=True)
        if thumbnail is not None and expected.thumbnail is not None:
            self.ledger.acknowledge(
                thumbnail, expected.thumbnail, upload.user, "direct", stable=True
            )
            self._readable.append(thumbnail)
        self._readable.append(main)
        if status.url is None:
            self.ledger.fail("direct_upload", "done without a URL")
            return
        await self._fetch_and_compare(status.url, main, upload.user)

    # -- synchronous uploads -----------------------------------------------------------

    async def _sync(self, actor: int) -> None:
        kind = self.rng.choices([k for k, _ in SYNC_KINDS], weights=[w for _, w in SYNC_KINDS])[0]
        owned = self._owned.setdefault(actor, [])
        mine = [entry for entry in owned if self._is_active(entry[0])]
        if kind == "overwrite" and not mine:
            kind = "clothing"
        photo = NOT_A_PHOTO if kind == "not_a_photo" else self._pick_photo()
        category = {
            "body": Category.BODY,
            "tryon": Category.TRYON,
            "avatar": Category.AVATARS,
        }.get(kind, Category.CLOTHING)
        if kind == "overwrite":
            user, item, filename = self.rng.choice(mine)
        else:
            user = self._pick_user()
            item = self._serial_id(f"{kind[0]}{actor}-")
            extension = photo.filename.rsplit(".", 1)[1]
            filename = f"avatar-a{actor}.{extension}" if kind == "avatar" else photo.filename
        main = _sync_key(category, user, item, filename)
        # Keys written again are never read back as stable (a read could race the write).
        stable = kind not in ("overwrite", "avatar")
        for key in (main, thumbnail_key(main)):
            if key in self.ledger.acknowledged and not stable:
                self.ledger.acknowledged[key].stable = False
        action = f"upload_{category.value}"
        self.ledger.actions[action] += 1
        try:
            await self._upload(category, user, item, photo.data, filename)
        except ImageRejected as rejected:
            if photo is NOT_A_PHOTO:
                self.ledger.refuse(action, f"ImageRejected({rejected.reason})")
            else:
                self.ledger.fail_with(action, rejected)
            return
        except Exception as exc:
            self._outcome(action, exc, user, UserErased)
            return
        if photo is NOT_A_PHOTO:
            self.ledger.fail(action, "stored an input that is no image")
            return
        expected = self.expected[photo.name, category]
        self.ledger.acknowledge(main, expected.main, user, "sync", stable=stable)
        if expected.thumbnail is not None:
            self.ledger.acknowledge(
                thumbnail_key(main), expected.thumbnail, user, "sync", stable=stable
            )
        if stable:
            self._readable.append(main)
        if kind == "clothing":
            owned.append((user, item, filename))

    async def _upload(
        self, category: Category, user: str, item: str, data: bytes, filename: str
    ) -> str:
        if category is Category.AVATARS:
            return await self.repo.upload_avatar(user, data, filename)
        upload = {
            Category.CLOTHING: self.repo.upload_clothing_image,
            Category.BODY: self.repo.upload_body_image,
            Category.TRYON: self.repo.upload_tryon_result,
        }[category]
        return await upload(user, item, data, filename)

    # -- reads -------------------------------------------------------------------------

    async def _read(self) -> None:
        for _ in range(5):  # a few draws to find a key still readable
            if not self._readable:
                return
            key = self.rng.choice(self._readable)
            ack = self.ledger.acknowledged.get(key)
            if ack is not None and ack.stable and self._is_active(ack.user):
                break
        else:
            return
        if self.rng.random() < 0.5:
            self.ledger.actions["download_file"] += 1
            try:
                body = await self.repo.s3_client.download_file(key)
            except Exception as exc:
                self._outcome("download_file", exc, ack.user, ObjectNotFound)
                return
            self._compare("download_file", body, key, ack.user)
        else:
            url = self.repo.presigned_url(key)
            await self._fetch_and_compare(url, key, ack.user)

    async def _fetch_and_compare(self, url: str, key: str, user: str) -> None:
        self.ledger.actions["presigned_get"] += 1
        try:
            body = await asyncio.to_thread(get_url, url)
        except OSError as exc:
            self._outcome("presigned_get", exc, user, urllib.error.HTTPError)
            return
        self._compare("presigned_get", body, key, user)

    def _compare(self, action: str, body: bytes, key: str, user: str) -> None:
        ack = self.ledger.acknowledged.get(key)
        if ack is None or not ack.stable or not self._is_active(user):
            return  # overwritten or erased meanwhile: nothing to expect
        if sha256(body) != ack.sha256:
            self.ledger.fail(action, "bytes differ from the SDK's render", key)

    # -- exports -----------------------------------------------------------------------

    async def _export(self) -> None:
        owners = {ack.user for ack in self.ledger.acknowledged.values() if ack.stable}
        users = [user for user in self.ledger.active_users() if user in owners]
        if not users:
            return
        user = self.rng.choice(users)
        before = {
            ack.key: ack.sha256
            for ack in self.ledger.acknowledged.values()
            if ack.user == user and ack.stable
        }
        self.ledger.actions["export_user_files"] += 1
        try:
            export = await self.repo.export_user_files(user)
            self.ledger.actions["presigned_get"] += 1
            archive = zipfile.ZipFile(io.BytesIO(await asyncio.to_thread(get_url, export.url)))
            manifest = json.loads(archive.read("manifest.json"))
        except Exception as exc:
            self._outcome("export_user_files", exc, user, ExportFailed, ObjectNotFound)
            return
        files = {entry["key"]: entry for entry in manifest["files"]}
        if not self._is_active(user):
            return
        for key, digest in before.items():
            entry = files.get(key)
            ack = self.ledger.acknowledged.get(key)
            if ack is None or not ack.stable:
                continue
            if entry is None:
                self.ledger.fail("export_user_files", "acknowledged file missing", key)
            elif entry["sha256"] != digest or sha256(archive.read(entry["path"])) != digest:
                self.ledger.fail("export_user_files", "file differs from the SDK's render", key)

    # -- erasures mid-upload -----------------------------------------------------------

    async def _erase(self) -> None:
        users = self.ledger.active_users()
        owners = {ack.user for ack in self.ledger.acknowledged.values()}
        candidates = [user for user in users if user in owners]
        if not candidates:
            return
        victim = self.rng.choice(candidates)
        self.ledger.users[victim] = "erasing"
        self._new_user()
        self.ledger.actions["replicate (simulated)"] += 1
        copied = await asyncio.to_thread(self.replicate, victim)
        # Two uploads in flight, the request right behind them; one more presigned before
        # the request and POSTed after it (the upload a leaving user's phone still sends).
        for _ in range(2):
            photo = self._pick_photo()
            presigned = await self._presign(victim, photo)
            if presigned is not None:
                await self._send(*presigned, photo)
        late_photo = self._pick_photo()
        late = await self._presign(victim, late_photo)
        in_flight = sum(upload.user == victim for upload in self.ledger.pending())
        self.ledger.actions["request_user_erasure"] += 1
        erasure = Erasure(victim, self.ledger.now(), in_flight, copied)
        self.ledger.erasures[victim] = erasure
        try:
            await self.repo.request_user_erasure(victim)
        except Exception as exc:
            self.ledger.fail_with("request_user_erasure", exc)
            erasure.state = "not requested"
            return
        if late is not None:
            late[0].refusal_expected = True
            await self._send(*late, late_photo)
        await self._await_erasure(erasure)

    async def _await_erasure(self, erasure: Erasure) -> None:
        deadline = time.monotonic() + ERASURE_TIMEOUT_S
        while time.monotonic() < deadline:
            self.ledger.actions["erasure_status"] += 1
            try:
                status = await self.repo.erasure_status(erasure.user)
            except Exception as exc:
                self.ledger.fail_with("erasure_status", exc)
                return
            if status.state != "requested":
                erasure.state = status.state
                erasure.message = status.message
                erasure.versions_deleted = status.counts.versions_deleted
                erasure.done_at_s = self.ledger.now()
                break
            await asyncio.sleep(0.5)
        if erasure.state == "done":
            self.ledger.users[erasure.user] = "erased"
        else:
            self.ledger.fail("erasure", f"ended {erasure.state}", erasure.message or "")
