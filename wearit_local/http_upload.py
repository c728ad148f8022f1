"""What the mobile app does with a presigned POST or GET, in the standard library only."""

from __future__ import annotations

import urllib.request
import uuid

from wearit_storage import PresignedPost


def multipart_body(
    fields: dict[str, str], file_data: bytes, content_type: str
) -> tuple[bytes, str]:
    """A multipart/form-data body; S3 requires the file to be the last part."""
    boundary = f"wearit-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + file_data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_presigned(post: PresignedPost, file_data: bytes, content_type: str) -> int:
    """Upload through a presigned POST exactly as a browser form would, with the returned
    fields as they are (``content_type`` is the file part's own, which S3 ignores: the
    stored type is the ``Content-Type`` field); return the status."""
    return post_form(post.url, post.fields, file_data, content_type)


def post_form(url: str, fields: dict[str, str], file_data: bytes, content_type: str) -> int:
    """POST ``fields`` and the file as a browser form to a presigned POST ``url``."""
    body, form_type = multipart_body(fields, file_data, content_type)
    request = urllib.request.Request(  # noqa: S310 - the URL comes from a presigner
        url, data=body, method="POST", headers={"Content-Type": form_type}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        status: int = response.status
        return status


def get_url(url: str) -> bytes:
    """Fetch a presigned GET URL over HTTP."""
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
        data: bytes = response.read()
        return data
