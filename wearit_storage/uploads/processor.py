"""One S3 ``ObjectCreated`` record: claim the upload, promote it, settle its status.

Pinned to the version S3 announced: the claim, the download, the status record and the
final delete all name that version id, so a second POST into the same session can never
be deleted unrendered as part of the first (it is its own upload, refused explicitly:
``session_closed``).

Idempotent by construction, whatever SQS and S3 redeliver:

- the outcome is written (``temp/{session}/status.json``) before the upload's version is
  deleted, so a redelivered record finds it settled and only finishes the delete;
- two workers holding messages for one upload race for the status object with S3
  conditional writes: one claims it, the other is told how long the lease has left and
  puts its message back for that long, then finds the upload settled;
- a transient failure gives the claim back (the record says ``pending``) and raises, so
  the message returns after its visibility timeout (and reaches the DLQ after
  ``maxReceiveCount`` receives); what no retry can fix (an invalid destination, a status
  record the worker did not write) is settled as ``rejected`` at once.

What one upload costs in S3 requests, when nothing goes wrong: the claim (one conditional
PUT), the GET of the announced version (its bytes and metadata), the erasure check (one
``ListObjectsV2``), one PUT per rendition, the outcome (one conditional PUT) and the
delete of the version: 5 + renditions. ``benchmarks/bench_worker.py`` counts them.
"""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from wearit_storage.categories import Category
from wearit_storage.errors import (
    ImageRejected,
    InvalidStorageKey,
    ObjectNotFound,
    RefusalReason,
    StorageError,
    UploadTooLarge,
)
from wearit_storage.observability import logger
from wearit_storage.paths import STATUS_FILENAME, parse_key, status_key, tombstone_key
from wearit_storage.s3.client import DownloadedObject, SyncS3Client
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.uploads.direct import DirectUploads
from wearit_storage.uploads.events import ObjectCreated
from wearit_storage.uploads.status import (
    MalformedStatusRecord,
    StatusRecord,
    UploadRef,
    WrittenStatus,
    claim,
    read_status,
    release,
    write_status,
)
from wearit_storage.uploads.store import UPLOAD_WORKER_WRITER, StoredImage

#: How long a claim keeps other workers off an upload. Renders take seconds; the lease
#: only matters when a worker dies mid-upload, and then bounds the wait for a takeover.
DEFAULT_LEASE: Final = timedelta(minutes=5)


class Outcome(enum.Enum):
    DONE = "done"  # rendered and stored now
    REJECTED = "rejected"  # refused (reason): its version deleted, the outcome recorded
    SETTLED = "settled"  # a redelivery: the outcome was recorded before
    GONE = "gone"  # the version expired, was erased or promoted before anyone claimed it
    SKIPPED = "skipped"  # no upload of ours (no pinned destination, another bucket, ...)
    BUSY = "busy"  # another worker holds the claim: come back in ``retry_in``


@dataclass(frozen=True, slots=True)
class RecordResult:
    outcome: Outcome
    key: str
    stored: StoredImage | None = None
    reason: str | None = None
    retry_in: timedelta | None = None


@dataclass(frozen=True, slots=True)
class _Upload:
    """The upload a record announced, once claimed."""

    session: str
    filename: str
    key: str
    ref: UploadRef
    held: WrittenStatus
    claimed: StatusRecord


class UploadProcessor:
    def __init__(
        self,
        uploads: DirectUploads,
        *,
        worker_id: str,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.uploads = uploads
        self.worker_id = worker_id
        self.lease = lease

    @property
    def _client(self) -> SyncS3Client:
        return self.uploads.s3_client

    def announces_upload(self, event: ObjectCreated) -> bool:
        """Whether ``event`` is about an upload this worker may promote (by its key)."""
        return self._skip_reason(event) is None

    def _skip_reason(self, event: ObjectCreated) -> str | None:
        if event.bucket != self._client.bucket_name:
            return f"event(s) of another bucket ({event.bucket})"
        try:
            parsed = parse_key(event.key)
        except InvalidStorageKey:
            return "key(s) outside the key layout"
        if parsed.category is not Category.TEMP or parsed.filename == STATUS_FILENAME:
            return "object(s) that are no upload"
        return None

    def process(self, event: ObjectCreated) -> RecordResult:
        """Raises ``StorageError`` only for what a retry may fix."""
        client = self._client
        skipped = self._skip_reason(event)
        if skipped is not None:
            logger.info("upload worker: %s skipped: %s", event.key, skipped)
            return RecordResult(Outcome.SKIPPED, event.key, reason=skipped)
        parsed = parse_key(event.key)
        session, filename = parsed.owner_id, parsed.filename
        ref = self._announced(event)
        if ref is None:
            # Gone before anyone could look: settled already (a redelivery), or expired,
            # erased or promoted by the API.
            stored = read_status(client, session)
            record = stored.record if stored is not None else None
            announced = UploadRef(None, event.etag or "")
            if record is not None and record.settled and record.is_about(announced):
                return RecordResult(Outcome.SETTLED, event.key, reason=record.state)
            return RecordResult(Outcome.GONE, event.key)
        try:
            taken = claim(
                client,
                session,
                filename,
                upload=ref,
                worker=self.worker_id,
                lease=self.lease,
            )
        except MalformedStatusRecord as unreadable:
            return self._refuse(session, filename, event.key, ref, "invalid_upload", unreadable)
        if taken.settled is not None:
            # Settled, yet announced again: finish the delete its worker may not have done.
            self._delete_upload(event.key, ref)
            return RecordResult(Outcome.SETTLED, event.key, reason=taken.settled.state)
        if taken.closed is not None:
            return self._refuse_closed(event.key, ref, taken.closed)
        if taken.held is None:
            return RecordResult(Outcome.BUSY, event.key, retry_in=taken.busy_for or self.lease)
        claimed = StatusRecord(
            "processing", filename, upload_etag=ref.etag, upload_version=ref.version_id
        )
        upload = _Upload(session, filename, event.key, ref, taken.held, claimed)
        try:
            return self._promote(upload)
        except StorageError:
            try:
                release(client, session, taken.held, claimed)
            except StorageError:
                logger.warning("upload worker: could not release the claim on %s", event.key)
            raise

    def _announced(self, event: ObjectCreated) -> UploadRef | None:
        """The version S3 announced; S3 names it in the event of a versioned bucket, else
        a ``HeadObject`` tells the current one (``None``: the object is gone)."""
        if event.version_id is not None and event.etag is not None:
            return UploadRef(event.version_id, event.etag)
        try:
            head = self._client.head_object(event.key)
        except ObjectNotFound:
            logger.info("upload worker: %s is gone with no recorded outcome", event.key)
            return None
        return UploadRef(head.version_id, head.etag.strip('"'))

    def _promote(self, upload: _Upload) -> RecordResult:
        client = self._client
        try:
            downloaded = client.download_object(
                upload.key, upload.ref.version_id, max_bytes=client.settings.max_upload_bytes
            )
        except ObjectNotFound:
            # Promoted by the API, expired or erased since it was announced: nothing to
            # settle, so the claim written for it goes too.
            logger.info("upload worker: %s is gone with no recorded outcome", upload.key)
            client.delete_version(status_key(upload.session), upload.held.version_id)
            return RecordResult(Outcome.GONE, upload.key)
        except UploadTooLarge as too_large:
            # A presigned PUT cannot bound the size: refused before reading the body.
            return self._settle_refused(upload, "too_large", too_large)
        destination = _destination_of(downloaded, upload.key)
        if destination is None:
            client.delete_version(status_key(upload.session), upload.held.version_id)
            return RecordResult(
                Outcome.SKIPPED, upload.key, reason="upload(s) with no pinned destination"
            )
        if isinstance(destination, InvalidStorageKey):
            return self._settle_refused(upload, "invalid_upload", destination)
        try:
            renditions = self.uploads.render_for(downloaded.data, destination)
        except ImageRejected as rejected:
            return self._settle_refused(upload, rejected.reason, rejected)
        # Right before anything of the user is written: an erasure requested meanwhile
        # wins over the upload.
        if client.key_exists(tombstone_key(destination.user_id)):
            # The record outlives the erasure: it names no one.
            erased = StorageError("the upload's user asked for erasure: nothing is stored")
            return self._settle_refused(upload, "user_erased", erased)
        stored = self.uploads.store_for(renditions, destination, writer=UPLOAD_WORKER_WRITER)
        done = StatusRecord(
            "done",
            upload.filename,
            upload_etag=upload.ref.etag,
            upload_version=upload.ref.version_id,
            main_key=stored.main.key,
            thumbnail_key=stored.thumbnail.key if stored.thumbnail else None,
            avif_key=stored.main_avif.key if stored.main_avif else None,
            thumbnail_avif_key=stored.thumbnail_avif.key if stored.thumbnail_avif else None,
            completed_at=datetime.now(UTC),
            main_version_id=stored.main.version_id,
            thumbnail_version_id=stored.thumbnail.version_id if stored.thumbnail else None,
            avif_version_id=stored.main_avif.version_id if stored.main_avif else None,
            thumbnail_avif_version_id=(
                stored.thumbnail_avif.version_id if stored.thumbnail_avif else None
            ),
        )
        if not self._settle(upload, done):
            return RecordResult(Outcome.BUSY, upload.key, retry_in=self.lease)
        return RecordResult(Outcome.DONE, upload.key, stored=stored)

    def _settle(self, upload: _Upload, record: StatusRecord) -> bool:
        """Record the outcome while the claim is still ours, then delete the upload's
        version. ``False`` when another worker took the claim over meanwhile (this one's
        lease ran out): that worker finishes the upload and its delete."""
        written = write_status(self._client, upload.session, record, if_match=upload.held.etag)
        if written is None:
            logger.warning(
                "upload worker: the claim on %s was taken over before it settled", upload.key
            )
            return False
        self._delete_upload(upload.key, upload.ref)
        return True

    def _settle_refused(
        self, upload: _Upload, reason: RefusalReason, cause: Exception
    ) -> RecordResult:
        record = StatusRecord(
            "rejected",
            upload.filename,
            upload_etag=upload.ref.etag,
            upload_version=upload.ref.version_id,
            reason=reason,
            message=str(cause),
            completed_at=datetime.now(UTC),
        )
        if not self._settle(upload, record):
            return RecordResult(Outcome.BUSY, upload.key, retry_in=self.lease)
        return RecordResult(Outcome.REJECTED, upload.key, reason=reason)

    def _refuse(
        self,
        session: str,
        filename: str,
        key: str,
        ref: UploadRef,
        reason: RefusalReason,
        cause: Exception,
    ) -> RecordResult:
        """Settle an upload whose status record cannot be read: a record the worker did not
        write is replaced by the refusal, so the app sees why instead of ``pending``."""
        record = StatusRecord(
            "rejected",
            filename,
            upload_etag=ref.etag,
            upload_version=ref.version_id,
            reason=reason,
            message=str(cause),
            completed_at=datetime.now(UTC),
        )
        write_status(self._client, session, record)
        self._delete_upload(key, ref)
        return RecordResult(Outcome.REJECTED, key, reason=reason)

    def _refuse_closed(self, key: str, ref: UploadRef, owner: StatusRecord) -> RecordResult:
        """Another upload owns the session: this one is deleted before any pixel is decoded
        (one presign buys one render), and the owner's record is left as it is."""
        logger.info(
            "upload worker: %s refused (session_closed): the session is %s for another upload",
            key,
            owner.state,
        )
        self._delete_upload(key, ref)
        return RecordResult(Outcome.REJECTED, key, reason="session_closed")

    def _delete_upload(self, key: str, ref: UploadRef) -> None:
        """Delete exactly the announced version (gone already: fine)."""
        with contextlib.suppress(ObjectNotFound):
            self._client.delete_version(key, ref.version_id)


def _destination_of(
    downloaded: DownloadedObject, key: str
) -> UploadDestination | InvalidStorageKey | None:
    """The destination pinned on the upload; ``None`` when it carries none (the API
    promotes it itself); the error when what it carries is invalid."""
    try:
        return UploadDestination.from_metadata(downloaded.head.metadata, key=key)
    except InvalidStorageKey as invalid:
        return invalid
