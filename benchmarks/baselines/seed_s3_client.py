"""The seed's ``S3Client`` upload pattern: blocking boto3 calls inside ``async def``.

Reproduced from the design document, ``docs/design-document.fr.rst`` ("Upload de
fichiers"), with ``ACL='private'`` removed (the buckets have ACLs disabled) and an
``endpoint_url`` so it can reach the local server.
"""

from __future__ import annotations

from typing import Any

import boto3


class SeedS3Client:
    def __init__(self) -> None:
        self.s3_client: Any = None
        self.bucket_name: str | None = None

    async def connect(
        self, region: str, bucket_name: str, access_key: str, secret_key: str, endpoint_url: str
    ) -> None:
        self.s3_client = boto3.client(
            "s3",
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            endpoint_url=endpoint_url,
        )
        self.bucket_name = bucket_name

    async def upload_file(
        self, file_data: bytes, s3_key: str, content_type: str = "image/jpeg"
    ) -> str:
        # The seed's flaw under test: put_object blocks the event loop for the whole upload.
        self.s3_client.put_object(
            Bucket=self.bucket_name, Key=s3_key, Body=file_data, ContentType=content_type
        )
        url: str = self.s3_client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket_name, "Key": s3_key}, ExpiresIn=3600
        )
        return url
