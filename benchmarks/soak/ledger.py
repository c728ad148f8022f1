"""What the soak's traffic was told, as an application would remember it: the uploads the
SDK acknowledged, the direct uploads and their outcomes, the users and their erasures;
and what it cost: requests by kind, failures by type.

An upload is acknowledged when the application may rely on it: a synchronous upload
when the call returned, a direct upload when ``upload_status`` said ``done``. The end
checks hold the buckets to exactly that (:mod:`.checks`).

Failures come in two kinds. A *refusal* is the product doing its job (an erased user's
upload refused, a read of a user erased meanwhile answering not found, an input that is
no image rejected); anything else is a *failure*, and fails the run.
"""

from __future__ import annotations

import threading
import time
import urllib.error
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from wearit_storage import StorageError

UserState = Literal["active", "erasing", "erased"]
UploadState = Literal["pending", "done", "rejected"]


@dataclass
class Acknowledged:
    """A rendition the SDK said is stored (the latest acknowledgement of its key)."""

    key: str
    sha256: str
    user: str
    via: Literal["sync", "direct"]
    at_s: float
    #: Never overwritten by the soak: a read may expect exactly these bytes.
    stable: bool = True


@dataclass
class DirectUpload:
    """A presigned POST the soak sent, and what ``upload_status`` said about it."""

    session: str
    user: str
    item: str
    photo: str
    posted_at_s: float
    #: An input that is no image, or an upload sent after its user asked for erasure.
    refusal_expected: bool = False
    state: UploadState = "pending"
    reason: str | None = None
    settled_at_s: float | None = None


@dataclass
class Erasure:
    user: str
    requested_at_s: float
    uploads_in_flight: int  # the user's direct uploads still pending when it was asked
    objects_replicated: int
    state: str = "requested"
    done_at_s: float | None = None
    versions_deleted: int = 0
    message: str | None = None


def failure_type(exc: BaseException) -> str:
    """``ObjectNotFound(not_found)``, ``HTTPError(403)``, ``TimeoutError``: the error code
    where there is one."""
    if isinstance(exc, StorageError):
        return f"{type(exc).__name__}({exc.code})"
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTPError({exc.code})"
    return type(exc).__name__


@dataclass
class Ledger:
    started: float = field(default_factory=time.monotonic)
    acknowledged: dict[str, Acknowledged] = field(default_factory=dict)
    uploads: dict[str, DirectUpload] = field(default_factory=dict)
    users: dict[str, UserState] = field(default_factory=dict)
    erasures: dict[str, Erasure] = field(default_factory=dict)
    #: What the application did: uploads, reads, presigned GETs, polls, exports, erasures.
    actions: Counter[str] = field(default_factory=Counter)
    #: The S3 and SQS requests the application's SDK sent (botocore operation names).
    requests: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    #: The first message of each failure type, to say what went wrong.
    examples: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def now(self) -> float:
        """Seconds since the traffic started."""
        return round(time.monotonic() - self.started, 3)

    def count_request(self, operation: str) -> None:
        """Called on the SDK's threads (botocore's ``before-call`` event)."""
        with self._lock:
            self.requests[operation] += 1

    def acknowledge(
        self, key: str, sha256: str, user: str, via: Literal["sync", "direct"], *, stable: bool
    ) -> None:
        self.acknowledged[key] = Acknowledged(key, sha256, user, via, self.now(), stable)

    def fail(self, action: str, what: str, detail: str = "") -> None:
        kind = f"{action}: {what}"
        self.failures[kind] += 1
        self.examples.setdefault(kind, detail or what)

    def fail_with(self, action: str, exc: BaseException) -> None:
        self.fail(action, failure_type(exc), str(exc)[:300])

    def refuse(self, action: str, what: str) -> None:
        self.refusals[f"{action}: {what}"] += 1

    def active_users(self) -> list[str]:
        return [user for user, state in self.users.items() if state == "active"]

    def erased_users(self) -> list[str]:
        return [user for user, state in self.users.items() if state == "erased"]

    def sessions_of(self, user: str) -> list[str]:
        return [upload.session for upload in self.uploads.values() if upload.user == user]

    def pending(self) -> list[DirectUpload]:
        return [upload for upload in self.uploads.values() if upload.state == "pending"]
