from __future__ import annotations

import dataclasses

import pytest

from wearit_storage.imaging import SUPPORTED_FORMATS, ImageLimits
from wearit_storage.settings import StorageSettings


def test_defaults() -> None:
    limits = ImageLimits()
    # One byte limit for every upload path: WEARIT_MAX_UPLOAD_BYTES's default too.
    assert (
        limits.max_bytes
        == 15 * 1024 * 1024
        == StorageSettings("us-east-1", "bucket").max_upload_bytes
    )
    assert limits.max_pixels == 50_000_000
    assert limits.formats == frozenset({"JPEG", "PNG", "WEBP", "AVIF", "HEIF"})
    assert limits.formats == set(SUPPORTED_FORMATS)
    assert limits.describe_formats() == "JPEG, PNG, WebP, AVIF, HEIC/HEIF"


def test_is_frozen_and_hashable() -> None:
    limits = ImageLimits()
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.max_bytes = 1  # type: ignore[misc]
    assert hash(limits) == hash(ImageLimits())


def test_format_names_are_normalised() -> None:
    limits = ImageLimits(formats={"jpeg", "Png"})  # type: ignore[arg-type]
    assert limits.formats == frozenset({"JPEG", "PNG"})
    assert limits.describe_formats() == "JPEG, PNG"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_bytes": 0}, "max_bytes must be positive"),
        ({"max_pixels": -1}, "max_pixels must be positive"),
        ({"formats": frozenset()}, "at least one format"),
        ({"formats": frozenset({"JPEG", "GIF"})}, r"unsupported formats \['GIF'\]"),
    ],
)
def test_invalid_limits(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ImageLimits(**kwargs)  # type: ignore[arg-type]
