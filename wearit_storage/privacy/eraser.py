"""The eraser: what a user's erasure request sets off, in two passes.

The first pass runs when the bucket announces the request: every version and delete
marker of the user's data, exports and upload sessions (the pending ``temp/`` uploads their
bindings name, raw photos and status records included), in the primary and the replica.
It records ``erasing`` and schedules the second pass, which finds the sessions by the same
bindings and erases them last.

Writes can still land after it: an upload whose worker checked the tombstone just before
the request was written, a version still on its way to the replica (up to 15 minutes with
Replication Time Control). The second pass, once that window is over, erases again and
checks that nothing is left in either bucket; only then does the status say ``done``.
Anything later is refused at its source: the upload worker and the repository's uploads
refuse a user with a tombstone, which outlives every late write (``cdk/config.py``).

Both passes are idempotent: a redelivered message erases what is there (nothing) again.
A pass whose deletions fail, and a second pass that leaves something behind, raise, so
the message comes back, and after its retries lands in the erasure dead-letter queue,
whose alarm pages. What was written while the first pass ran is left to the second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from wearit_storage.delivery.invalidation import EdgeInvalidator
from wearit_storage.errors import ErasureIncomplete
from wearit_storage.observability import logger
from wearit_storage.privacy.erasure import (
    ErasureReport,
    erase,
    invalidate_erased_user,
    user_erasure_prefixes,
)
from wearit_storage.privacy.requests import (
    EraserRecord,
    ErasureCounts,
    read_eraser_record,
    write_eraser_record,
)
from wearit_storage.s3.client import SyncS3Client

#: The longest a write of the user can still land after the first pass: replication's
#: 15 minutes (Replication Time Control), beyond a worker's render that started before
#: the request. SQS delays a message by at most this long, too.
SECOND_PASS_DELAY: Final = timedelta(minutes=15)

#: Schedules the second pass of a user's erasure ``delay`` from now (a delayed message).
ScheduleSecondPass = Callable[[str, timedelta], None]


@dataclass(frozen=True, slots=True)
class PassResult:
    user_id: str
    second: bool
    counts: ErasureCounts
    #: Second pass not due yet: come back then.
    not_before: datetime | None = None


def counts_of(report: ErasureReport) -> ErasureCounts:
    return ErasureCounts(
        report.versions_deleted,
        report.delete_markers_deleted,
        sum(c.multipart_uploads_aborted for b in report.deleted.values() for c in b.values()),
    )


class Eraser:
    """Runs erasure passes for users, with the eraser role's rights (primary and replica)."""

    def __init__(
        self,
        primary: SyncS3Client,
        replica: SyncS3Client | None,
        *,
        schedule: ScheduleSecondPass,
        delay: timedelta = SECOND_PASS_DELAY,
        edge_invalidator: EdgeInvalidator | None = None,
    ) -> None:
        self.edge_invalidator = edge_invalidator
        self.primary = primary
        self.replica = replica
        self.schedule = schedule
        self.delay = delay

    def first_pass(self, user_id: str) -> PassResult:
        # The bindings stay: the second pass finds the user's sessions by them again.
        report = self._erase(user_id, keep_bindings=True, final=False)
        counts = counts_of(report)
        after = datetime.now(UTC) + self.delay
        write_eraser_record(
            self.primary,
            user_id,
            EraserRecord(
                "erasing",
                counts,
                second_pass_after=after,
                cdn_invalidation_id=_invalidation_id(report),
            ),
        )
        self.schedule(user_id, self.delay)
        logger.info("eraser: first pass of user %s done, second pass after %s", user_id, after)
        return PassResult(user_id, False, counts)

    def second_pass(self, user_id: str) -> PassResult:
        record = read_eraser_record(self.primary, user_id)
        now = datetime.now(UTC)
        if record is not None and record.second_pass_after and now < record.second_pass_after:
            return PassResult(user_id, True, record.counts, not_before=record.second_pass_after)
        earlier = record.counts if record is not None else ErasureCounts()
        try:
            report = self._erase(user_id, keep_bindings=False, final=True)
        except ErasureIncomplete as incomplete:
            write_eraser_record(
                self.primary,
                user_id,
                EraserRecord("failed", earlier, message=str(incomplete), completed_at=now),
            )
            raise
        counts = earlier + counts_of(report)
        write_eraser_record(
            self.primary,
            user_id,
            EraserRecord(
                "done",
                counts,
                completed_at=datetime.now(UTC),
                cdn_invalidation_id=_invalidation_id(report),
            ),
        )
        logger.info("eraser: user %s erased, nothing left in either bucket", user_id)
        return PassResult(user_id, True, counts)

    def _erase(self, user_id: str, *, keep_bindings: bool, final: bool) -> ErasureReport:
        """Raises ``ErasureIncomplete`` if a deletion failed or a bucket could not be listed
        again; entries written while the pass ran fail only the final pass: the first
        races the writes in flight by design (a worker's refusal record in the user's
        session, an upload that passed the tombstone check just before the request), and
        the second pass is there for them."""
        prefixes = user_erasure_prefixes(self.primary, user_id, keep_bindings=keep_bindings)
        report = erase(
            self.primary, self.replica, f"user {user_id}", prefixes, late_writes_expected=not final
        )
        # Each pass: a version still replicating at the first pass can land in the replica,
        # which the CDN fails over to, and be cached from there before the second.
        invalidate_erased_user(report, self.edge_invalidator, user_id)
        if final or report.failures or report.unverified:
            report.raise_if_incomplete()
        elif not report.complete:
            logger.info(
                "eraser: first pass of user %s: %s written meanwhile, left to the second pass",
                user_id,
                report.remaining,
            )
        return report


def _invalidation_id(report: ErasureReport) -> str | None:
    return None if report.cdn_invalidation is None else report.cdn_invalidation.invalidation_id
