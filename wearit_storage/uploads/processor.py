"""One S3 ``ObjectCreated`` record: claim the upload, promote it, settle its status.

Idempotent by construction, whatever SQS and S3 redeliver:

- the outcome is written (``temp/{session}/status.json``) before the temp object is
  deleted, so a record whose temp object is gone is either settled already (done) or
  expired / erased (nothing to do): neither fails nor renders again;
- two workers holding messages for one upload race for the status object with S3
  conditional writes: one claims it, the other is told how long the lease has left and
  puts its message back for that long, then finds the upload settled;
- a transient failure gives the claim back and raises, so the message returns after its
  visibility timeout (and reaches the DLQ after ``maxReceiveCount`` receives).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from wearit_storage.categories import Category
from wearit_storage.errors import ImageRejected, InvalidStorageKey, StorageError
from wearit_storage.observability import logger
from wearit_storage.paths import STATUS_FILENAME, parse_key, status_key
from wearit_storage.s3.versions import purge_key
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.uploads.direct import DirectUploads
from wearit_storage.uploads.events import ObjectCreated
from wearit_storage.uploads.status import claim, read_status, release, session_keys
from wearit_storage.uploads.store import StoredImage

#: How long a claim keeps other workers off an upload. Renders take seconds; the lease
#: only matters when a worker dies mid-upload, and then bounds the wait for a takeover.
DEFAULT_LEASE: timedelta = timedelta(minutes=5)


class Outcome(enum.Enum):
    DONE = "done"  # rendered and stored now
    REJECTED = "rejected"  # not an acceptable image: temp object deleted, outcome recorded
    SETTLED = "settled"  # a redelivery: the outcome was recorded before
    GONE = "gone"  # the temp object expired or was erased before anyone promoted it
    IGNORED = "ignored"  # not ours to promote (no pinned destination, status object, ...)
    BUSY = "busy"  # another worker holds the claim: come back in ``retry_in``


@dataclass(frozen=True, slots=True)
class RecordResult:
    outcome: Outcome
    key: str
    stored: StoredImage | None = None
    reason: str | None = None
    retry_in: timedelta | None = None


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

    def process(self, event: ObjectCreated) -> RecordResult:
        """Raises ``StorageError`` only for what a retry may fix."""
        client = self.uploads.s3_client
        if event.bucket != client.bucket_name:
            logger.warning(
                "upload worker: event for bucket %s, serving %s: ignored",
                event.bucket,
                client.bucket_name,
            )
            return RecordResult(Outcome.IGNORED, event.key, reason="other bucket")
        try:
            parsed = parse_key(event.key)
        except InvalidStorageKey:
            return RecordResult(Outcome.IGNORED, event.key, reason="not an upload key")
        if parsed.category is not Category.TEMP or parsed.filename == STATUS_FILENAME:
            # The worker's own status writes are announced under temp/ too.
            return RecordResult(Outcome.IGNORED, event.key, reason="not an upload")
        session, filename = parsed.owner_id, parsed.filename

        present = session_keys(client, session)
        if event.key not in present:
            stored = read_status(client, session) if status_key(session) in present else None
            if stored is not None and stored.record.settled:
                return RecordResult(Outcome.SETTLED, event.key, reason=stored.record.state)
            # Promoted by the API itself (no destination pinned), expired or erased.
            logger.info("upload worker: %s is gone with no recorded outcome", event.key)
            return RecordResult(Outcome.GONE, event.key)
        head = client.head_object(event.key)
        destination = UploadDestination.from_metadata(head.metadata, key=event.key)
        if destination is None:
            return RecordResult(Outcome.IGNORED, event.key, reason="no pinned destination")

        taken = claim(
            client,
            session,
            filename,
            upload_etag=head.etag,
            worker=self.worker_id,
            lease=self.lease,
        )
        if taken.settled is not None:
            # Settled, yet the temp object is still here: its worker stopped between the
            # two steps. Finish the clean-up it left.
            purge_key(client, event.key)
            return RecordResult(Outcome.SETTLED, event.key, reason=taken.settled.state)
        if taken.version_id is None:
            return RecordResult(Outcome.BUSY, event.key, retry_in=taken.busy_for or self.lease)
        try:
            stored_image = self.uploads.promote_pinned_upload(session, filename)
        except ImageRejected as rejected:
            return RecordResult(Outcome.REJECTED, event.key, reason=rejected.reason)
        except StorageError:
            try:
                release(client, session, taken.version_id)
            except StorageError:
                logger.warning("upload worker: could not release the claim on %s", event.key)
            raise
        return RecordResult(Outcome.DONE, event.key, stored=stored_image)
