"""One exception hierarchy for the whole SDK.

Every storage failure a caller can see derives from :class:`StorageError`; so do rejected
keys, requests and images (which are also ``ValueError``s). Programming errors keep
Python's own types: an ``ImageProcessor`` size that is not two positive integers, or an
``ImageLimits`` out of range, raises a plain ``ValueError``. When the cause is a
botocore/boto3 error it is chained (``raise ... from exc``) so tracebacks keep the
original request id and error code. Messages say what to do next, not just what broke.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error raised by ``wearit_storage``."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class StorageConfigurationError(StorageError):
    """A setting is missing or contradictory; the message names the variable."""


class InvalidStorageKey(StorageError, ValueError):
    """An id, file name or key was rejected before any request was made."""


class ObjectNotFound(StorageError, KeyError):
    """The object (or the requested version) does not exist."""

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class StorageAccessDenied(StorageError):
    """The credentials in use are not allowed to perform the operation."""


class StorageUnavailable(StorageError):
    """The storage endpoint could not be reached or kept failing after retries."""


class ImageRejected(StorageError, ValueError):
    """The uploaded bytes are not an image we accept (format, size, corruption, bomb)."""


class ErasureIncomplete(StorageError):
    """Raised by strict erasure when some versions could not be deleted."""


class InvalidStorageRequest(StorageError, ValueError):
    """An argument other than a key was rejected (expiry, content type, size limit...)."""


class StorageNotConnected(StorageConfigurationError):
    """The client was used before ``connect()`` or after ``close()``."""
