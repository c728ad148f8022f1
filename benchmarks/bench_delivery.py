"""Edge delivery: how fast the SDK signs CDN URLs, and how cacheable they are.

- signed URLs per second, cold (every URL a new RSA signature) and cached (the same
  version within one window), beside presigned S3 GETs (HMAC, never cached);
- the time to sign a page of 100 images, cold and cached, as an API answering a wardrobe
  grid does, on one thread and on ``max_concurrency`` threads at once;
- distinct URLs for one image over 100 API calls within one window, one call a second:
  presigned S3 URLs change every second (their signing time is in them), CDN URLs do not.

Everything is local CPU work: the clients are configured against an address nothing
listens on, and no request is made.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from benchmarks.stats import Timing
from wearit_storage import StorageSettings, SyncS3Client

PAGE = 100
CALLS = 100
CALL_SPACING_S = 1.0
THREADS = 10  # the SDK's default max_concurrency
ROUNDS = 7
RATE_SECONDS = 1.0


def _settings(key_file: Path | None) -> StorageSettings:
    cdn: dict[str, Any] = {}
    if key_file is not None:
        cdn = {
            "cdn_domain": "images.bench.example",
            "cdn_key_pair_id": "KBENCHKEYPAIR1",
            "cdn_private_key_file": str(key_file),
        }
    return StorageSettings(
        region="us-east-1",
        bucket_name="wearit-bench",
        access_key="testing",
        secret_key="testing",
        endpoint_url="http://127.0.0.1:9",
        **cdn,
    )


def _page(prefix: str) -> list[tuple[str, str]]:
    return [(f"clothing/u1/{prefix}{index}/photo_thumb.jpg", f"v{index}") for index in range(PAGE)]


def _rate(sign: Any, keys: Any) -> float:
    """URLs per second over ``RATE_SECONDS`` of signing."""
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < RATE_SECONDS:
        key, version = next(keys)
        sign(key, version)
        done += 1
    return round(done / (time.perf_counter() - start), 1)


def _fresh_keys(prefix: str) -> Any:
    index = 0
    while True:
        index += 1
        yield f"clothing/u1/{prefix}{index}/photo.jpg", f"v{index}"


def _same_key() -> Any:
    while True:
        yield "clothing/u1/c1/photo.jpg", "v1"


def run() -> dict[str, Any]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with tempfile.TemporaryDirectory() as workdir:
        key_file = Path(workdir) / "cdn.pem"
        key_file.write_bytes(pem)
        cdn = SyncS3Client.from_settings(_settings(key_file))
    s3 = SyncS3Client.from_settings(_settings(None))
    try:
        return _measure(cdn, s3)
    finally:
        cdn.close()
        s3.close()


def _measure(cdn: SyncS3Client, s3: SyncS3Client) -> dict[str, Any]:
    def sign_cdn(key: str, version: str) -> str:
        return cdn.generate_presigned_url(key, version_id=version)

    def sign_s3(key: str, version: str) -> str:
        return s3.generate_presigned_url(key)

    rates = {
        "cdn_cold": _rate(sign_cdn, _fresh_keys("rate")),
        "cdn_cached": _rate(sign_cdn, _same_key()),
        "s3_presigned": _rate(sign_s3, _fresh_keys("s3")),
    }

    def page(sign: Any, prefix: str) -> None:
        for key, version in _page(prefix):
            sign(key, version)

    def concurrent_pages(prefix: str) -> None:
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda n: page(sign_cdn, f"{prefix}t{n}-"), range(THREADS)))

    cold, cached, s3_page, threaded = [], [], [], []
    for round_index in range(ROUNDS):  # interleaved rounds, each contender as used
        prefix = f"r{round_index}-"
        start = time.perf_counter()
        page(sign_cdn, prefix)
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        page(sign_cdn, prefix)  # the same page again, same window: the cache answers
        cached.append(time.perf_counter() - start)
        start = time.perf_counter()
        page(sign_s3, prefix)
        s3_page.append(time.perf_counter() - start)
        start = time.perf_counter()
        concurrent_pages(prefix)
        threaded.append(time.perf_counter() - start)

    cdn_by_window: dict[str, set[str]] = {}
    distinct_s3 = set()
    for call in range(CALLS):
        url = sign_cdn("clothing/u1/c1/photo.jpg", "v1")
        expires = dict(parse_qsl(urlsplit(url).query))["Expires"]
        cdn_by_window.setdefault(expires, set()).add(url)
        distinct_s3.add(sign_s3("clothing/u1/c1/photo.jpg", "v1"))
        if call < CALLS - 1:
            time.sleep(CALL_SPACING_S)
    return {
        "urls_per_s": rates,
        "page_of_100": {
            "cdn_cold": Timing.of(cold).as_dict(),
            "cdn_cached": Timing.of(cached).as_dict(),
            "s3_presigned": Timing.of(s3_page).as_dict(),
            f"cdn_cold_{THREADS}_pages_on_{THREADS}_threads": Timing.of(threaded).as_dict(),
        },
        # Per window: the calls may straddle a boundary (100 s of a 3600 s window).
        "distinct_urls_over_100_calls": {
            "cdn": max(len(urls) for urls in cdn_by_window.values()),
            "cdn_windows": len(cdn_by_window),
            "s3_presigned": len(distinct_s3),
        },
        "call_spacing_s": CALL_SPACING_S,
        "window_s": cdn.settings.cdn_url_window_s,
    }


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    rates = result["urls_per_s"]
    page = result["page_of_100"]
    distinct = result["distinct_urls_over_100_calls"]
    threaded = next(v for k, v in page.items() if k.startswith("cdn_cold_") and "threads" in k)
    return [
        {
            "target": "report signed URLs per second, cold and cached (no target)",
            "measured": (
                f"cold {rates['cdn_cold']}/s, cached {rates['cdn_cached']}/s "
                f"(presigned S3: {rates['s3_presigned']}/s)"
            ),
            "met": True,
        },
        {
            "target": "report the time to sign a page of 100 images (no target)",
            "measured": (
                f"cold {page['cdn_cold']['median_ms']} ms, cached "
                f"{page['cdn_cached']['median_ms']} ms (presigned S3: "
                f"{page['s3_presigned']['median_ms']} ms; {THREADS} cold pages on {THREADS} "
                f"threads: {threaded['median_ms']} ms)"
            ),
            "met": True,
        },
        {
            "target": "distinct URLs for one image over 100 API calls in one window: 1",
            "measured": (
                f"{distinct['cdn']} per window, {distinct['cdn_windows']} window(s) "
                f"(presigned S3: {distinct['s3_presigned']}; one call every "
                f"{result['call_spacing_s']} s)"
            ),
            "met": distinct["cdn"] == 1,
        },
    ]
