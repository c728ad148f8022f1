"""True erasure: every version and delete marker under a set of prefixes, in every bucket.

Adding delete markers is not erasure in a versioned bucket: every photo would stay
recoverable (and replicated). Here each prefix is listed completely
with ``ListObjectVersions`` (paginated past 1,000), deleted with ``DeleteObjects`` in
batches of at most 1,000 shared across prefixes (``Quiet=True``, so a response lists only
failures), the per-key ``Errors`` are retried with backoff, and a final listing proves
what remains.
Unfinished multipart uploads under the prefixes are aborted too: their parts are stored
user data that no version listing shows. Deleting a specific version is never replicated
by S3, hence the explicit pass over the replica bucket.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError

from wearit_storage.categories import ERASED_CATEGORIES, REPLICATED_CATEGORIES, Category
from wearit_storage.delivery.invalidation import CdnInvalidation, EdgeInvalidator, user_paths
from wearit_storage.errors import ErasureIncomplete, StorageError
from wearit_storage.observability import logger
from wearit_storage.paths import session_prefix, user_prefix
from wearit_storage.s3.client import SyncS3Client
from wearit_storage.s3.listings import list_uploads, list_versions
from wearit_storage.s3.transport import CONNECTION_ERRORS, error_code
from wearit_storage.uploads.sessions import sessions_of

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as BotoS3Client

MAX_BATCH: Final = 1000
DEFAULT_RETRIES: Final = 3
DEFAULT_BACKOFF_S: Final = 0.2


@dataclass(slots=True)
class CategoryErasure:
    versions_deleted: int = 0
    delete_markers_deleted: int = 0
    # Parts of an unfinished upload are stored bytes too, invisible to version listings.
    multipart_uploads_aborted: int = 0


@dataclass(frozen=True, slots=True)
class ErasureFailure:
    bucket: str
    key: str
    version_id: str | None
    code: str
    message: str = ""


@dataclass(slots=True)
class ErasureReport:
    """What an erasure removed, per bucket and category, and what it could not.

    Truthy only when nothing is left under the erased prefixes in any bucket (checked by
    a final listing) and no deletion failed, so ``if await repo.delete_user_files(user_id):``
    reads as the boolean the design document (``docs/design-document.fr.rst``) returned.
    """

    subject: str
    deleted: dict[str, dict[str, CategoryErasure]] = field(default_factory=dict)
    failures: list[ErasureFailure] = field(default_factory=list)
    remaining: dict[str, int] = field(default_factory=dict)
    #: Buckets whose final listing failed: what remains there is unknown, not zero.
    unverified: list[str] = field(default_factory=list)
    #: The CDN's invalidation of the user's paths, when a distribution is configured (a
    #: failed one is among ``failures``: the report is then falsy, the erasure retried).
    cdn_invalidation: CdnInvalidation | None = None

    def __bool__(self) -> bool:
        return self.complete

    @property
    def complete(self) -> bool:
        return not self.failures and not self.unverified and not any(self.remaining.values())

    @property
    def versions_deleted(self) -> int:
        return sum(c.versions_deleted for b in self.deleted.values() for c in b.values())

    @property
    def delete_markers_deleted(self) -> int:
        return sum(c.delete_markers_deleted for b in self.deleted.values() for c in b.values())

    def summary(self) -> str:
        return (
            f"erasure of {self.subject} incomplete: {len(self.failures)} failure(s), "
            f"remaining per bucket {self.remaining}"
            + (f", unknown in {', '.join(self.unverified)}" if self.unverified else "")
        )

    def raise_if_incomplete(self) -> None:
        if not self.complete:
            raise ErasureIncomplete(f"{self.summary()}; retry the erasure")

    def _counts(self, bucket: str, category: Category) -> CategoryErasure:
        return self.deleted.setdefault(bucket, {}).setdefault(category.value, CategoryErasure())


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    version_id: str
    is_delete_marker: bool
    category: Category


@dataclass(frozen=True, slots=True)
class ErasureTarget:
    boto_client: BotoS3Client
    bucket: str
    # The replica only receives finished objects from S3 replication: no uploads to abort
    # there (and the API role may not list them).
    aborts_uploads: bool = True
    # Categories this bucket holds (None: all). The replica holds only the replicated ones,
    # and the API role may not even list the others there.
    categories: frozenset[Category] | None = None


#: Called after each ``DeleteObjects`` batch with the running count of deleted entries.
ErasureProgress = Callable[[int], None]


#: What an erasure removes: prefixes, each with the category it counts under (several temp/
#: sessions count under ``temp``).
Prefixes = Sequence[tuple[Category, str]]


def erase_prefixes(
    targets: Iterable[ErasureTarget],
    prefixes: Prefixes,
    report: ErasureReport,
    *,
    retries: int = DEFAULT_RETRIES,
    backoff_s: float = DEFAULT_BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
    progress: ErasureProgress | None = None,
) -> ErasureReport:
    """Delete every version under ``prefixes`` in every target; fill and return ``report``.

    Entries of all prefixes share batches, so a user costs ``ceil(entries / 1000)``
    ``DeleteObjects`` calls plus the listing pages; memory holds one prefix's listing.
    """
    deleted_so_far = 0
    for target in targets:
        pending: list[_Entry] = []
        listed = [
            (category, prefix)
            for category, prefix in prefixes
            if target.categories is None or category in target.categories
        ]
        for index, (category, prefix) in enumerate(listed, start=1):
            # Each prefix is listed completely before anything under it is deleted: not
            # every S3-compatible store keeps pagination stable under concurrent deletes.
            counts = report._counts(target.bucket, category)  # zero counts: covered too
            if target.aborts_uploads:
                counts.multipart_uploads_aborted += _abort_uploads(target, prefix, report)
            pending.extend(_listed_entries(target, category, prefix, report))
            # Full batches as they fill up; the remainder once the last prefix is listed.
            while len(pending) >= MAX_BATCH or (pending and index == len(listed)):
                batch, pending = pending[:MAX_BATCH], pending[MAX_BATCH:]
                deleted_so_far += _delete_and_record(
                    target, batch, report, retries, backoff_s, sleep
                )
                if progress is not None:
                    progress(deleted_so_far)
        report.remaining[target.bucket] = report.remaining.get(target.bucket, 0) + sum(
            _count_remaining(target, prefix, report) for _, prefix in listed
        )
        logger.info(
            "erasure of %s in bucket=%s: %s remaining=%d failures=%d",
            report.subject,
            target.bucket,
            report.deleted.get(target.bucket, {}),
            report.remaining[target.bucket],
            len(report.failures),
        )
    return report


def _listed_entries(
    target: ErasureTarget, category: Category, prefix: str, report: ErasureReport
) -> list[_Entry]:
    """Every version and delete marker under the prefix; a failed listing is reported
    (and caught again by the final count), never silently skipped."""
    try:
        return [
            _Entry(raw["Key"], raw.get("VersionId") or "null", raw["IsDeleteMarker"], category)
            for raw in list_versions(target.boto_client, target.bucket, prefix)
        ]
    except (BotoCoreError, ClientError) as exc:
        _raise_if_unreachable(exc)
        report.failures.append(_failure(target.bucket, prefix, None, exc))
        logger.error("erasure listing failed bucket=%s prefix=%s: %s", target.bucket, prefix, exc)
        return []


def _delete_and_record(
    target: ErasureTarget,
    batch: list[_Entry],
    report: ErasureReport,
    retries: int,
    backoff_s: float,
    sleep: Callable[[float], None],
) -> int:
    """Delete one batch (retrying per-key errors); count successes, report failures."""
    failed = _delete_with_retries(target, batch, retries, backoff_s, sleep)
    failed_ids = {(entry.key, entry.version_id) for entry, _ in failed}
    deleted = 0
    for entry in batch:
        if (entry.key, entry.version_id) in failed_ids:
            continue
        counts = report._counts(target.bucket, entry.category)
        if entry.is_delete_marker:
            counts.delete_markers_deleted += 1
        else:
            counts.versions_deleted += 1
        deleted += 1
    for entry, failure in failed:
        report.failures.append(failure)
        logger.error(
            "erasure failed bucket=%s key=%s version=%s code=%s",
            target.bucket,
            entry.key,
            entry.version_id,
            failure.code,
        )
    return deleted


def _delete_with_retries(
    target: ErasureTarget,
    batch: list[_Entry],
    retries: int,
    backoff_s: float,
    sleep: Callable[[float], None],
) -> list[tuple[_Entry, ErasureFailure]]:
    pending = batch
    failed: list[tuple[_Entry, ErasureFailure]] = []
    for attempt in range(retries + 1):
        if attempt:
            sleep(backoff_s * 2 ** (attempt - 1))
        failed = _delete_batch(target, pending)
        if not failed:
            return []
        pending = [entry for entry, _ in failed]
    return failed


def _delete_batch(
    target: ErasureTarget, batch: list[_Entry]
) -> list[tuple[_Entry, ErasureFailure]]:
    by_id = {(entry.key, entry.version_id): entry for entry in batch}
    try:
        response = target.boto_client.delete_objects(
            Bucket=target.bucket,
            Delete={
                "Objects": [{"Key": e.key, "VersionId": e.version_id} for e in batch],
                "Quiet": True,
            },
        )
    except (BotoCoreError, ClientError) as exc:
        return [(e, _failure(target.bucket, e.key, e.version_id, exc)) for e in batch]
    failed: list[tuple[_Entry, ErasureFailure]] = []
    for error in response.get("Errors", []):
        key, version_id = error.get("Key", ""), error.get("VersionId") or "null"
        entry = by_id.get((key, version_id)) or _Entry(key, version_id, False, batch[0].category)
        failure = ErasureFailure(
            target.bucket, key, version_id, error.get("Code", "Unknown"), error.get("Message", "")
        )
        failed.append((entry, failure))
    return failed


def _abort_uploads(target: ErasureTarget, prefix: str, report: ErasureReport) -> int:
    aborted = 0
    try:
        uploads = list(list_uploads(target.boto_client, target.bucket, prefix))
    except (BotoCoreError, ClientError) as exc:
        _raise_if_unreachable(exc)
        report.failures.append(_failure(target.bucket, prefix, None, exc))
        return 0
    for upload in uploads:
        try:
            target.boto_client.abort_multipart_upload(
                Bucket=target.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
            aborted += 1
        except ClientError as exc:
            if error_code(exc) != "NoSuchUpload":  # finished or aborted meanwhile: fine
                report.failures.append(_failure(target.bucket, upload["Key"], None, exc))
        except BotoCoreError as exc:
            report.failures.append(_failure(target.bucket, upload["Key"], None, exc))
    return aborted


def _count_remaining(target: ErasureTarget, prefix: str, report: ErasureReport) -> int:
    try:
        remaining = sum(1 for _ in list_versions(target.boto_client, target.bucket, prefix))
        if target.aborts_uploads:
            remaining += sum(1 for _ in list_uploads(target.boto_client, target.bucket, prefix))
        return remaining
    except (BotoCoreError, ClientError) as exc:
        _raise_if_unreachable(exc)
        report.failures.append(_failure(target.bucket, prefix, None, exc))
        report.unverified.append(target.bucket)
        return 0


def _raise_if_unreachable(exc: Exception) -> None:
    """A bucket that cannot be reached at all fails the whole erasure (``StorageUnavailable``
    from the operation): a report would claim to know what is left. Per-key refusals and
    throttling stay in the report."""
    if isinstance(exc, CONNECTION_ERRORS):
        raise exc


def _failure(bucket: str, key: str, version_id: str | None, exc: Exception) -> ErasureFailure:
    code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return ErasureFailure(bucket, key, version_id, code, str(exc))


def erase(
    primary: SyncS3Client,
    replica: SyncS3Client | None,
    subject: str,
    prefixes: Prefixes,
    *,
    retries: int = DEFAULT_RETRIES,
    backoff_s: float = DEFAULT_BACKOFF_S,
    progress: ErasureProgress | None = None,
    late_writes_expected: bool = False,
) -> ErasureReport:
    """Erase ``prefixes`` in the primary bucket and the replica, as one logged operation.

    Never raises for per-object failures: they are in the report, and an incomplete erasure
    is logged at ERROR and reported to the metrics hook as ``ErasureIncomplete``. With
    ``late_writes_expected`` (an eraser's first pass, which a second follows), entries
    written while the pass ran are not a failure; a failed deletion or listing still is.
    """
    targets = [ErasureTarget(primary.boto_client, primary.bucket_name)]
    if replica is not None:
        targets.append(
            ErasureTarget(
                replica.boto_client,
                replica.bucket_name,
                aborts_uploads=False,
                categories=frozenset(REPLICATED_CATEGORIES),
            )
        )
    report = ErasureReport(subject)
    with primary.operation("erase", ",".join(prefix for _, prefix in prefixes)) as record:
        erase_prefixes(
            targets, prefixes, report, retries=retries, backoff_s=backoff_s, progress=progress
        )
        only_late_writes = late_writes_expected and not (report.failures or report.unverified)
        if not report and not only_late_writes:
            record.fail(ErasureIncomplete.__name__, report.summary())
    return report


def user_erasure_prefixes(
    client: SyncS3Client, user_id: str, *, keep_bindings: bool = False
) -> list[tuple[Category, str]]:
    """Everything erasing a user removes: their data, their export archives, their upload
    sessions (``temp/{session}/`` of every session bound to them, read from ``sessions/``:
    one listing) and, unless ``keep_bindings`` (an erasure's first pass: its second finds
    the sessions by them again), those bindings."""
    categories = [c for c in ERASED_CATEGORIES if not (keep_bindings and c is Category.SESSIONS)]
    prefixes = [(category, user_prefix(category, user_id)) for category in categories]
    prefixes += [(Category.TEMP, session_prefix(s)) for s in sessions_of(client, user_id)]
    return prefixes


@dataclass(frozen=True, slots=True)
class ErasurePreview:
    """What an erasure of these prefixes would remove from the primary bucket, counted
    before anything is deleted (the replica holds copies of the same versions)."""

    files: int  # current objects, export archives included
    versions: int  # every stored version and delete marker
    exports: int  # current export archives (exports/{user}/)
    multipart_uploads: int  # unfinished uploads, whose parts no version listing shows


def preview_erasure(client: SyncS3Client, prefixes: Prefixes) -> ErasurePreview:
    """One version listing and one upload listing per prefix; nothing is changed."""
    files = versions = exports = uploads = 0
    with client.operation("erasure_preview", ",".join(prefix for _, prefix in prefixes)):
        for category, prefix in prefixes:
            for entry in list_versions(client.boto_client, client.bucket_name, prefix):
                versions += 1
                if entry.get("IsLatest") and not entry["IsDeleteMarker"]:
                    files += 1
                    exports += category is Category.EXPORTS
            uploads += sum(1 for _ in list_uploads(client.boto_client, client.bucket_name, prefix))
    return ErasurePreview(files, versions, exports, uploads)


def invalidate_erased_user(
    report: ErasureReport, invalidator: EdgeInvalidator | None, user_id: str
) -> ErasureReport:
    """Drop ``user_id``'s cached images from the CDN's edges (``invalidator``: ``None``
    without a distribution), recording the invalidation, or its failure, in ``report``."""
    if invalidator is None:
        return report
    try:
        report.cdn_invalidation = invalidator.invalidate(user_id)
    except StorageError as exc:
        report.failures.append(
            ErasureFailure(
                f"cloudfront:{invalidator.distribution_id}",
                ",".join(user_paths(user_id)),
                None,
                exc.code,
                str(exc),
            )
        )
    return report
