"""The rendition table: formats per category, and the format a client is served."""

from __future__ import annotations

import pytest

from wearit_storage.categories import Category
from wearit_storage.renditions import DEFAULT_POLICIES, RenditionPolicy, preferred_format


def test_wardrobe_categories_store_avif_beside_jpeg_and_model_inputs_jpeg_only() -> None:
    stored = {category: policy.formats for category, policy in DEFAULT_POLICIES.items()}
    assert stored == {
        Category.CLOTHING: ("jpeg", "avif"),
        Category.AVATARS: ("jpeg", "avif"),
        Category.BODY: ("jpeg",),
        Category.TRYON: ("jpeg",),
    }


@pytest.mark.parametrize("formats", [("avif",), ("jpeg", "webp"), ()])
def test_a_policy_always_stores_jpeg_and_only_known_formats(formats: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="formats must include 'jpeg'"):
        RenditionPolicy((800, 800), 85, formats=formats)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "avif"),
        ("image/webp,*/*", "jpeg"),
        ("*/*", "jpeg"),
        ("image/*", "jpeg"),
        ("IMAGE/AVIF", "avif"),
        ("image/jpeg, image/avif; q=0.5", "avif"),
        ("image/avif;q=0", "jpeg"),
        ("image/avif; q=0.0, */*", "jpeg"),
        ("image/avif;q=abc", "jpeg"),
        ("", "jpeg"),
        (None, "jpeg"),
    ],
)
def test_preferred_format_offers_avif_first_and_falls_back_to_jpeg(
    accept: str | None, chosen: str
) -> None:
    assert preferred_format(accept) == chosen
