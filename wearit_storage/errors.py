"""One exception hierarchy for the whole SDK.

Every storage failure a caller can see derives from :class:`StorageError`; so do rejected
keys, requests and images (which are also ``ValueError``s). Programming errors keep
Python's own types: an ``ImageProcessor`` size that is not two positive integers, or an
``ImageLimits`` out of range, raises a plain ``ValueError``. When the cause is a
botocore/boto3 error it is chained (``raise ... from exc``) so tracebacks keep the
original request id and error code. Messages say what to do next, not just what broke.

For web APIs, every error carries a stable machine-readable ``code`` and the HTTP status
an API should answer with (``http_status``), so nobody has to read the English message to
choose between 404, 413, 415, 422 and 503.
"""

from __future__ import annotations

from typing import ClassVar, Literal

#: Why an image was refused (``ImageRejected.reason``).
RejectionReason = Literal[
    "empty",
    "too_large",
    "too_many_pixels",
    "unsupported_format",
    "corrupt",
    "decompression_bomb",
]
#: Why the upload worker refused a direct upload (``UploadStatus.reason``): the image
#: reasons above, or one about the upload itself, decided before any pixel is decoded.
RefusalReason = Literal[
    RejectionReason,
    # The session had settled (or was taken by another upload): one presign, one render.
    "session_closed",
    # The user the upload is pinned to asked for erasure: nothing of theirs is written.
    "user_erased",
    # What the upload carries cannot be acted on (an invalid pinned destination, a status
    # record the worker did not write): retrying would fail the same way.
    "invalid_upload",
]

_REJECTION_STATUS: dict[str, int] = {"too_large": 413, "unsupported_format": 415}


class StorageError(Exception):
    """Base class of every error raised by ``wearit_storage``."""

    code: ClassVar[str] = "storage_error"
    _status: ClassVar[int] = 500

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key

    @property
    def http_status(self) -> int:
        """The status a web API should answer with (500 unless a subclass knows better)."""
        return self._status


class StorageConfigurationError(StorageError):
    """A setting is missing or contradictory; the message names the variable."""

    code = "configuration_error"


class InvalidStorageKey(StorageError, ValueError):
    """An id, file name or key was rejected before any request was made."""

    code = "invalid_key"
    _status = 422


class ObjectNotFound(StorageError, KeyError):
    """The object (or the requested version) does not exist."""

    code = "not_found"
    _status = 404

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class StorageAccessDenied(StorageError):
    """The credentials in use are not allowed to perform the operation."""

    code = "access_denied"
    _status = 403


class StorageUnavailable(StorageError):
    """The storage endpoint could not be reached or kept failing after retries."""

    code = "unavailable"
    _status = 503


class ImageRejected(StorageError, ValueError):
    """The uploaded bytes are not an image we accept; ``reason`` says why."""

    code = "image_rejected"

    def __init__(
        self, message: str, *, key: str | None = None, reason: RejectionReason = "corrupt"
    ) -> None:
        super().__init__(message, key=key)
        self.reason: RejectionReason = reason

    @property
    def http_status(self) -> int:
        """413 too large, 415 unsupported format, 422 anything else about the bytes."""
        return _REJECTION_STATUS.get(self.reason, 422)


class ErasureIncomplete(StorageError):
    """Raised by strict erasure when some versions could not be deleted."""

    code = "erasure_incomplete"


class UserErased(StorageError):
    """The user asked to be erased: nothing of theirs is written any more."""

    code = "user_erased"
    _status = 410


class InvalidStorageRequest(StorageError, ValueError):
    """An argument other than a key was rejected (expiry, content type, size limit...)."""

    code = "invalid_request"
    _status = 422


class MalformedUploadEvent(InvalidStorageRequest):
    """A queue message is not an S3 event notification the upload worker understands.

    The worker leaves such a message on the queue: after ``maxReceiveCount`` receives SQS
    moves it to the dead-letter queue, where it can be read and the sender fixed.
    """

    code = "malformed_event"


class UploadTooLarge(InvalidStorageRequest):
    """An upload (or a stored object to be processed) is over the configured size limit."""

    code = "too_large"
    _status = 413


class StorageNotConnected(StorageConfigurationError):
    """The client was used before ``connect()`` or after ``close()``."""

    code = "not_connected"


class ExportFailed(StorageError):
    """A GDPR export did not complete; its multipart upload was aborted (``cleaned_up``
    says whether that was confirmed), so no partial archive is left. Retrying starts a new
    export under a new key.

    ``http_status`` is the cause's (503 when S3 was unreachable, 403 when denied), 500
    when the cause is not a storage error.
    """

    code = "export_failed"

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        cause: StorageError | None = None,
        cleaned_up: bool = True,
    ) -> None:
        super().__init__(message, key=key)
        self.cause = cause
        self.cleaned_up = cleaned_up

    @property
    def http_status(self) -> int:
        return self.cause.http_status if self.cause is not None else self._status
