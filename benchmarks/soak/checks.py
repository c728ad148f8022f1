"""The soak's end checks: the buckets held to what the application was told.

Each check reads the buckets through a :class:`BucketView` (boto3 on the local server in a
run, a dictionary in ``tests/local/test_soak_checks.py``) and says what it measured and
what is wrong, in :class:`CheckResult`. The rules:

- **acknowledged**: every rendition acknowledged to a user who was not erased (a
  synchronous upload whose call returned, a direct upload whose status said ``done``; the
  latest acknowledgement of each key) is the current object of its key, and its SHA-256 is
  the one the SDK's own render of the uploaded photo has (:mod:`.photos`): byte-identical
  to what was rendered, whichever process rendered it, not merely self-consistent;
- **settled**: every direct upload of such a user ended ``done`` or ``rejected``;
- **erased**: every user who asked for erasure has ``erasure_status`` ``done`` and no
  version or delete marker under any prefix of theirs (their four categories, exports and
  session bindings) in the data bucket or the replica, nor under the ``temp/`` sessions
  presigned for them; the one thing allowed there is a worker's refusal record
  (``rejected``, ``user_erased``, naming no key), which the worker writes when an upload
  of theirs arrives after the eraser's last pass, and which names no one (its design);
- **temp**: after the workers drained, ``temp/`` holds no upload (every photo POSTed was
  rendered or refused, and its version deleted), no delete marker, and no status record
  that is not settled; the settled records stay, as in the product, until the ``temp/``
  lifecycle (1 day) expires them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from benchmarks.soak.ledger import Ledger
from wearit_storage.categories import ERASED_CATEGORIES
from wearit_storage.paths import STATUS_FILENAME
from wearit_storage.uploads.status import MalformedStatusRecord, StatusRecord

#: Problems listed per check (the count is always complete).
SHOWN: Final = 10


@dataclass(frozen=True, slots=True)
class Version:
    key: str
    version_id: str
    delete_marker: bool = False
    latest: bool = True


class BucketView(Protocol):
    name: str

    def versions(self, prefix: str) -> list[Version]:
        """Every version and delete marker under ``prefix``."""
        ...

    def current(self, key: str) -> bytes | None:
        """The current object's bytes; ``None`` when there is none (or a delete marker)."""
        ...

    def read(self, key: str, version_id: str) -> bytes:
        """The bytes of one version."""
        ...


class BotoBucket:
    """A :class:`BucketView` of a bucket through a raw boto3 client (not the SDK)."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def versions(self, prefix: str) -> list[Version]:
        found = []
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.name, Prefix=prefix
        )
        for page in pages:
            for entry in page.get("Versions", []):
                found.append(Version(entry["Key"], entry["VersionId"], False, entry["IsLatest"]))
            for entry in page.get("DeleteMarkers", []):
                found.append(Version(entry["Key"], entry["VersionId"], True, entry["IsLatest"]))
        return found

    def current(self, key: str) -> bytes | None:
        try:
            body: bytes = self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        return body

    def read(self, key: str, version_id: str) -> bytes:
        response = self.client.get_object(Bucket=self.name, Key=key, VersionId=version_id)
        body: bytes = response["Body"].read()
        return body


@dataclass
class CheckResult:
    name: str
    measured: str
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    @property
    def passed(self) -> bool:
        return self.problem_count == 0

    def add(self, problem: str) -> None:
        self.problem_count += 1
        if len(self.problems) < SHOWN:
            self.problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "measured": self.measured,
            "problem_count": self.problem_count,
            "problems": self.problems,
        }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_acknowledged(ledger: Ledger, data: BucketView) -> CheckResult:
    kept = [ack for ack in ledger.acknowledged.values() if ledger.users.get(ack.user) == "active"]
    result = CheckResult("acknowledged uploads present and byte-identical", "")
    via = {"sync": 0, "direct": 0}
    for ack in kept:
        via[ack.via] += 1
        body = data.current(ack.key)
        if body is None:
            result.add(f"{ack.key} ({ack.via}, acknowledged at {ack.at_s:.0f} s) is missing")
        elif _sha256(body) != ack.sha256:
            result.add(
                f"{ack.key} ({ack.via}) differs: sha256 {_sha256(body)[:12]}…, "
                f"the SDK rendered {ack.sha256[:12]}…"
            )
    result.measured = (
        f"{len(kept)} renditions of {len(ledger.active_users())} remaining users "
        f"({via['sync']} synchronous, {via['direct']} direct), "
        f"{len(kept) - result.problem_count} byte-identical"
    )
    return result


def check_settled(ledger: Ledger) -> CheckResult:
    kept = [u for u in ledger.uploads.values() if ledger.users.get(u.user) == "active"]
    result = CheckResult("direct uploads of remaining users settled", "")
    for upload in kept:
        if upload.state == "pending":
            result.add(f"session {upload.session} ({upload.photo}) never settled")
    done = sum(upload.state == "done" for upload in kept)
    rejected = sum(upload.state == "rejected" for upload in kept)
    result.measured = f"{len(kept)} direct uploads: {done} done, {rejected} rejected"
    return result


def _user_prefixes(user: str) -> list[str]:
    return [f"{category.value}/{user}/" for category in ERASED_CATEGORIES]


def _is_refusal_record(data: BucketView, version: Version) -> bool:
    """A worker's record of refusing an upload because its user was erased: it names no
    key of the user (the worker writes it when an upload arrives after the last pass)."""
    if version.delete_marker or not version.key.endswith(f"/{STATUS_FILENAME}"):
        return False
    try:
        record = StatusRecord.from_json(data.read(version.key, version.version_id), key=version.key)
    except MalformedStatusRecord:
        return False
    return (
        record.state == "rejected"
        and record.reason == "user_erased"
        and record.main_key is None
        and record.thumbnail_key is None
    )


def check_erased(
    ledger: Ledger, data: BucketView, replica: BucketView, states: Mapping[str, str]
) -> CheckResult:
    users = sorted(ledger.erasures)
    result = CheckResult("erased users: nothing left in either bucket, status done", "")
    refusal_records = 0
    for user in users:
        if states.get(user) != "done":
            result.add(f"{user}: erasure_status is {states.get(user)!r}, not 'done'")
        sessions = [f"temp/{session}/" for session in ledger.sessions_of(user)]
        for bucket, prefixes in (
            (data, _user_prefixes(user) + sessions),
            (replica, _user_prefixes(user)),
        ):
            for prefix in prefixes:
                for version in bucket.versions(prefix):
                    if prefix.startswith("temp/") and _is_refusal_record(bucket, version):
                        refusal_records += 1
                        continue
                    kind = "delete marker" if version.delete_marker else "version"
                    result.add(f"{user}: {kind} of {version.key} left in {bucket.name}")
    sessions_checked = sum(len(ledger.sessions_of(user)) for user in users)
    result.measured = (
        f"{len(users)} users, {sessions_checked} of their upload sessions: "
        f"{result.problem_count} problems; {refusal_records} refusal records (user_erased, "
        "naming no one) left in their sessions"
    )
    return result


def check_temp(data: BucketView) -> CheckResult:
    result = CheckResult("temp/ after the workers drained: no upload, nothing unsettled", "")
    records = history = 0
    for version in data.versions("temp/"):
        filename = version.key.rsplit("/", 1)[-1]
        if version.delete_marker:
            result.add(f"delete marker at {version.key}")
        elif filename != STATUS_FILENAME:
            result.add(f"upload left: {version.key}")
        elif not version.latest:
            history += 1  # the claims an outcome replaced
        else:
            records += 1
            try:
                record = StatusRecord.from_json(
                    data.read(version.key, version.version_id), key=version.key
                )
            except MalformedStatusRecord as unreadable:
                result.add(str(unreadable))
                continue
            if not record.settled:
                result.add(f"{version.key} says {record.state}")
    result.measured = (
        f"{records} settled status records ({history} earlier versions: claims), "
        f"{result.problem_count} problems"
    )
    return result


def check_no_failures(ledger: Ledger) -> CheckResult:
    result = CheckResult("no failure during the traffic", "")
    for kind, count in sorted(ledger.failures.items()):
        for _ in range(count):
            result.add(f"{kind}: {ledger.examples.get(kind, '')}")
    result.measured = (
        f"{sum(ledger.actions.values())} actions, {sum(ledger.failures.values())} failures, "
        f"{sum(ledger.refusals.values())} refusals (by design)"
    )
    return result


def check_flat(growth: Mapping[str, Mapping[str, Any]]) -> CheckResult:
    result = CheckResult("SDK processes' RSS flat (at most 10% growth after the warm-up)", "")
    flat = [name for name, verdict in growth.items() if "flat" in verdict]
    for name in flat:
        verdict = growth[name]
        if not verdict["flat"]:
            result.add(
                f"{name}: {verdict['after_warm_up_mib']} MiB after the warm-up, "
                f"{verdict['end_mib']} MiB at the end ({verdict['growth']})"
            )
    result.measured = ", ".join(
        f"{name} {growth[name]['after_warm_up_mib']} -> {growth[name]['end_mib']} MiB"
        for name in flat
    )
    return result


def check_queues_empty(depths: Mapping[str, int]) -> CheckResult:
    result = CheckResult("dead-letter queues empty", "")
    for queue, depth in depths.items():
        if depth:
            result.add(f"{queue}: {depth} message(s)")
    result.measured = ", ".join(f"{queue} {depth}" for queue, depth in depths.items())
    return result


def failed(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [result for result in results if not result.passed]
