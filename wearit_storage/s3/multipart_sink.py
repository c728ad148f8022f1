"""A write-only file that is a multipart upload: each full part goes up as it fills.

:mod:`zipfile` (or anything that writes sequentially) writes into :class:`PartSink`; memory
holds at most one part, never the object. Part sizes grow with the part number, so
S3's 10,000-part limit still allows 220 GiB while the first 20 GiB go up in 8 MiB parts.
Aborting helpers live here too: an upload's parts are stored (and billed) until aborted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError

from wearit_storage.errors import UploadTooLarge
from wearit_storage.observability import logger
from wearit_storage.s3.listings import list_uploads
from wearit_storage.s3.transport import CHECKSUM_ALGORITHM, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as BotoS3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

MiB: Final = 1024**2
#: First part size (S3's minimum is 5 MiB). Sizes double every ``PARTS_PER_STEP`` parts up
#: to ``MAX_PART_SIZE``, so the 10,000-part limit allows 220 GiB with at most 32 MiB held.
PART_SIZE: Final = 8 * MiB
MAX_PART_SIZE: Final = 32 * MiB
PARTS_PER_STEP: Final = 2500
MAX_PARTS: Final = 10_000


def part_size(part_number: int, base: int = PART_SIZE) -> int:
    """Size of part ``part_number`` (1-based): ``base``, doubled every 2,500 parts."""
    doubled: int = base * 2 ** ((part_number - 1) // PARTS_PER_STEP)
    return min(doubled, max(base, MAX_PART_SIZE))


class PartSink:
    """A write-only, unseekable file for :class:`zipfile.ZipFile` that uploads itself.

    Each full part goes up with ``UploadPart`` as soon as it fills; the buffer handed to
    botocore is never copied (the next part starts in a new buffer). Without ``seek``,
    zipfile writes sizes and CRCs in data descriptors after each entry instead of
    rewinding to its header, which is what makes streaming possible.
    """

    def __init__(
        self, boto_client: BotoS3Client, bucket: str, key: str, upload_id: str, *, base: int
    ) -> None:
        self._client = boto_client
        self._bucket = bucket
        self._key = key
        self._upload_id = upload_id
        self._base = base
        self._buffer = bytearray()
        self._position = 0
        self._abandoned = False
        self.parts: list[CompletedPartTypeDef] = []

    def abandon(self) -> None:
        """The export failed: zipfile still closes its entries and writes its central
        directory on the way out, and none of that may reach S3 (or fail again there)."""
        self._abandoned = True
        self._buffer = bytearray()

    def write(self, data: bytes, /) -> int:
        view = memoryview(data).cast("B")
        written = len(view)
        if self._abandoned:
            return written
        while view:
            room = part_size(len(self.parts) + 1, self._base) - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) == part_size(len(self.parts) + 1, self._base):
                self._upload_buffer()
        self._position += written
        return written

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        """Nothing to do: only the last part may be short, so parts go up only when full."""

    def close(self) -> None:
        """Nothing to do: :meth:`finish` sends the tail, once the archive is whole."""

    def finish(self) -> list[CompletedPartTypeDef]:
        """Upload what is left (the archive's tail) and return the parts to complete."""
        if self._buffer or not self.parts:
            self._upload_buffer()
        return self.parts

    def _upload_buffer(self) -> None:
        number = len(self.parts) + 1
        if number > MAX_PARTS:
            raise UploadTooLarge(
                f"{self._key!r} needs more than {MAX_PARTS} parts ({self._position} bytes so "
                "far): S3 cannot store a larger object; split what goes into it",
                key=self._key,
            )
        part, self._buffer = self._buffer, bytearray()
        response = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=part,
            ChecksumAlgorithm=CHECKSUM_ALGORITHM,
        )
        completed: CompletedPartTypeDef = {"PartNumber": number, "ETag": response["ETag"]}
        if "ChecksumSHA256" in response:
            completed["ChecksumSHA256"] = response["ChecksumSHA256"]
        self.parts.append(completed)


def abort_upload(boto_client: BotoS3Client, bucket: str, key: str, upload_id: str) -> bool:
    """Abort one upload; True when it is gone (an upload completed or aborted meanwhile
    counts: ``NoSuchUpload``)."""
    try:
        boto_client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except ClientError as exc:
        if error_code(exc) != "NoSuchUpload":  # completed, or already aborted: fine
            logger.error("abort of upload of %s failed: %s", key, exc)
            return False
    except BotoCoreError as exc:
        logger.error("abort of upload of %s failed: %s", key, exc)
        return False
    return True


def abort_uploads_of(boto_client: BotoS3Client, bucket: str, key: str) -> bool:
    """Abort every unfinished upload of exactly ``key``; True when none is left."""
    try:
        uploads = list(list_uploads(boto_client, bucket, key))
    except (BotoCoreError, ClientError) as exc:
        logger.error("listing the uploads of %s failed: %s", key, exc)
        return False
    results = [
        abort_upload(boto_client, bucket, key, u["UploadId"]) for u in uploads if u["Key"] == key
    ]
    return all(results)
