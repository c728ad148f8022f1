"""Helpers shared by the SDK tests (fixtures live in conftest.py)."""

from __future__ import annotations

import functools
import io
from typing import Any

from PIL import Image

from wearit_local.clients import emulator_client

PRIMARY_REGION = "eu-west-3"
REPLICA_REGION = "eu-central-1"


@functools.cache
def raw_client(endpoint: str, region: str) -> Any:
    return emulator_client("s3", endpoint, region=region)


def make_jpeg(size: tuple[int, int] = (1200, 900), color: str = "navy") -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, color).save(output, format="JPEG", quality=90)
    return output.getvalue()


def all_versions(admin: Any, bucket: str, prefix: str = "") -> list[tuple[str, str, bool]]:
    """(key, version id, is delete marker) of everything under ``prefix``."""
    found: list[tuple[str, str, bool]] = []
    for page in admin.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        found += [(v["Key"], v["VersionId"], False) for v in page.get("Versions", [])]
        found += [(m["Key"], m["VersionId"], True) for m in page.get("DeleteMarkers", [])]
    return found
