"""Edge delivery: signed CloudFront URLs and cookies, verified with the public key the way
CloudFront verifies them (the policy rebuilt from the request, RSA-SHA1), the one seam
every stored-image URL goes through, private keys from file, Secrets Manager and SSM,
and invalidations (moto's CloudFront API). CloudFront itself cannot run here: what it
would check is checked on the signed values."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.sdk.helpers import all_versions, create_distribution, object_created
from wearit_local.clients import emulator_client
from wearit_local.http_upload import post_presigned
from wearit_storage import (
    InvalidStorageRequest,
    StorageConfigurationError,
    StorageRepository,
    StorageSettings,
    SyncS3Client,
    SyncStorageRepository,
)
from wearit_storage.delivery.invalidation import invalidate_user_paths, user_paths
from wearit_storage.delivery.signing import CloudFrontUrls
from wearit_storage.uploads.destination import UploadDestination
from wearit_storage.workers import Outcome, UploadProcessor

DOMAIN = "images.test.example"
KEY_PAIR_ID = "KTESTKEYPAIR01"
WINDOW = 3600
SIGNING_PARAMETERS = ("Expires", "Signature", "Key-Pair-Id", "Policy")


# -- what CloudFront checks, written from its documentation (not from the SDK) ---------


def unb64(value: str) -> bytes:
    return base64.b64decode(value.translate(str.maketrans("-_~", "+=/")))


def verify(public_key: rsa.RSAPublicKey, policy: bytes, signature: str) -> bool:
    try:
        public_key.verify(unb64(signature), policy, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    except InvalidSignature:
        return False
    return True


def canned_policy(resource: str, expires: int) -> bytes:
    """The canned policy CloudFront rebuilds: exactly these characters, no spaces."""
    condition = '"Condition":{"DateLessThan":{"AWS:EpochTime":' + str(expires) + "}}"
    return ('{"Statement":[{"Resource":"' + resource + '",' + condition + "}]}").encode()


def split_signed_url(url: str) -> tuple[str, dict[str, str]]:
    """The URL as CloudFront rebuilds it (signing parameters removed), and those."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = "&".join(f"{k}={v}" for k, v in query if k not in SIGNING_PARAMETERS)
    resource = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{kept}" if kept else "")
    return resource, {k: v for k, v in query if k in SIGNING_PARAMETERS}


def accepts_url(public_key: rsa.RSAPublicKey, url: str, now: float) -> bool:
    resource, signing = split_signed_url(url)
    if signing.get("Key-Pair-Id") != KEY_PAIR_ID or "Expires" not in signing:
        return False
    expires = int(signing["Expires"])
    if now >= expires:
        return False
    return verify(public_key, canned_policy(resource, expires), signing["Signature"])


def wildcard_match(pattern: str, url: str) -> bool:
    """CloudFront's policy resource matching: ``*`` any characters (``/`` too), ``?`` one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, url) is not None


def accepts_cookie(
    public_key: rsa.RSAPublicKey, values: dict[str, str], url: str, now: float
) -> bool:
    policy = unb64(values["CloudFront-Policy"])
    if values["CloudFront-Key-Pair-Id"] != KEY_PAIR_ID:
        return False
    if not verify(public_key, policy, values["CloudFront-Signature"]):
        return False
    (statement,) = json.loads(policy)["Statement"]  # CloudFront takes one statement
    return (
        wildcard_match(statement["Resource"], url)
        and now < statement["Condition"]["DateLessThan"]["AWS:EpochTime"]
    )


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def public_key(private_key: rsa.RSAPrivateKey) -> rsa.RSAPublicKey:
    return private_key.public_key()


@pytest.fixture(scope="session")
def private_pem(private_key: rsa.RSAPrivateKey) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def key_file(tmp_path: Path, private_pem: str) -> Path:
    path = tmp_path / "cdn.pem"
    path.write_text(private_pem)
    return path


@pytest.fixture
def cdn_settings(settings: StorageSettings, key_file: Path) -> StorageSettings:
    return dataclasses.replace(
        settings,
        cdn_domain=DOMAIN,
        cdn_key_pair_id=KEY_PAIR_ID,
        cdn_private_key_file=str(key_file),
    )


@pytest.fixture
def cdn_repo(cdn_settings: StorageSettings) -> Iterator[SyncStorageRepository]:
    with SyncStorageRepository.from_settings(cdn_settings) as repository:
        yield repository


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- URLs -------------------------------------------------------------------------------


def test_a_stored_image_url_is_a_signed_cloudfront_url_of_its_version(
    cdn_repo: SyncStorageRepository, public_key: rsa.RSAPublicKey, jpeg: bytes
) -> None:
    before = datetime.now(UTC).timestamp()
    stored = cdn_repo.store_clothing_image("u1", "c1", jpeg, "photo.jpg")
    url = urlsplit(stored.url)
    assert (url.scheme, url.netloc, url.path) == ("https", DOMAIN, "/clothing/u1/c1/photo.jpg")
    params = dict(parse_qsl(url.query))
    assert params["versionId"] == stored.main.version_id
    assert params["Key-Pair-Id"] == KEY_PAIR_ID
    expires = int(params["Expires"])
    # The configured expiry (3600 s), rounded up to the next window boundary.
    assert expires % WINDOW == 0
    assert before + 3600 <= expires <= before + 3600 + WINDOW + 5
    assert accepts_url(public_key, stored.url, now=before)
    assert not accepts_url(public_key, stored.url, now=expires)
    # upload_* return that same URL (same version, same window).
    url_again = cdn_repo.presigned_url(stored.main.key, version_id=stored.main.version_id)
    assert url_again == stored.url


@pytest.mark.parametrize(
    ("pattern", "replacement"),
    [
        (r"versionId=[^&]+", "versionId=another-version"),
        (r"/c1/", "/c2/"),
        (r"/u1/", "/u2/"),
        (r"Expires=(\d+)", "Expires=9999999999"),
        (r"Signature=.", "Signature=A"),
        (r"Key-Pair-Id=\w+", "Key-Pair-Id=KOTHERKEY0001"),
    ],
)
def test_a_tampered_url_is_refused(
    cdn_repo: SyncStorageRepository,
    public_key: rsa.RSAPublicKey,
    jpeg: bytes,
    pattern: str,
    replacement: str,
) -> None:
    stored = cdn_repo.store_clothing_image("u1", "c1", jpeg, "photo.jpg")
    tampered = re.sub(pattern, replacement, stored.url, count=1)
    assert tampered != stored.url
    assert not accepts_url(public_key, tampered, now=datetime.now(UTC).timestamp())


def test_a_url_signed_with_another_key_is_refused(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ours = CloudFrontUrls(DOMAIN, KEY_PAIR_ID, private_key, window_s=WINDOW, clock=Clock(1e9))
    theirs = CloudFrontUrls(DOMAIN, KEY_PAIR_ID, other, window_s=WINDOW, clock=Clock(1e9))
    assert accepts_url(public_key, ours.signed_url("clothing/u/i/a.jpg", "v1", 60), now=1e9)
    assert not accepts_url(public_key, theirs.signed_url("clothing/u/i/a.jpg", "v1", 60), now=1e9)


def test_urls_are_identical_within_a_window_and_change_with_it_and_with_the_version(
    private_key: rsa.RSAPrivateKey,
) -> None:
    start = 1_800_000_000  # a window boundary (a multiple of 3600)
    clock = Clock(start + 1)
    urls = CloudFrontUrls(DOMAIN, KEY_PAIR_ID, private_key, window_s=WINDOW, clock=clock)
    key = "clothing/u1/c1/photo.jpg"
    first = urls.signed_url(key, "v1", 3600)
    seen = set()
    for second in range(1, WINDOW, 97):  # across the whole window
        clock.now = start + second
        seen.add(urls.signed_url(key, "v1", 3600))
    assert seen == {first}
    assert urls.cached_urls == 1  # signed once
    clock.now = start + WINDOW + 1  # the next window
    later = urls.signed_url(key, "v1", 3600)
    assert later != first
    assert dict(parse_qsl(urlsplit(later).query))["Expires"] == str(start + 3 * WINDOW)
    assert urls.signed_url(key, "v2", 3600) != later  # another version, another URL


def test_the_signing_cache_is_bounded(private_key: rsa.RSAPrivateKey) -> None:
    urls = CloudFrontUrls(
        DOMAIN, KEY_PAIR_ID, private_key, window_s=WINDOW, cache_entries=4, clock=Clock(1e9)
    )
    for index in range(10):
        urls.signed_url(f"clothing/u1/c{index}/photo.jpg", "v1", 3600)
    assert urls.cached_urls == 4


def test_a_new_upload_of_an_item_gets_a_new_url(
    cdn_repo: SyncStorageRepository, jpeg: bytes
) -> None:
    first = cdn_repo.upload_clothing_image("u1", "c1", jpeg, "photo.jpg")
    second = cdn_repo.upload_clothing_image("u1", "c1", jpeg, "photo.jpg")
    assert urlsplit(first).path == urlsplit(second).path
    assert first != second  # the version differs: the CDN cannot serve the old bytes


def test_many_calls_within_one_window_give_one_url_per_expiry(
    cdn_repo: SyncStorageRepository, jpeg: bytes
) -> None:
    stored = cdn_repo.store_avatar("u1", jpeg, "me.jpg")
    by_expiry: dict[str, set[str]] = {}
    for _ in range(100):
        url = cdn_repo.presigned_url(stored.main.key, version_id=stored.main.version_id)
        by_expiry.setdefault(dict(parse_qsl(urlsplit(url).query))["Expires"], set()).add(url)
    assert all(len(urls) == 1 for urls in by_expiry.values())
    assert len(by_expiry) <= 2  # two only if the calls straddled a window boundary


def test_body_photos_temp_and_exports_stay_presigned_s3(
    cdn_repo: SyncStorageRepository, jpeg: bytes
) -> None:
    body = cdn_repo.store_body_image("u1", "b1", jpeg, "body.jpg")
    assert DOMAIN not in body.url
    assert "X-Amz-Signature" in body.url
    assert "X-Amz-Expires=300" in body.url
    temp = cdn_repo.upload_temp("sess-1", jpeg, "photo.jpg", "image/jpeg")
    assert "X-Amz-Signature" in cdn_repo.presigned_url(temp.key)
    export = cdn_repo.export_user_files("u1")
    assert "X-Amz-Signature" in export.url


def test_a_cdn_url_needs_the_version_and_image_url_looks_it_up(
    cdn_repo: SyncStorageRepository, jpeg: bytes
) -> None:
    stored = cdn_repo.store_tryon_result("u1", "t1", jpeg, "result.jpg")
    with pytest.raises(InvalidStorageRequest, match="version_id"):
        cdn_repo.presigned_url(stored.main.key)
    assert cdn_repo.image_url(stored.main.key) == stored.url  # one HeadObject, same URL


def test_without_the_cdn_every_url_is_presigned_s3_as_before(
    repo: SyncStorageRepository, jpeg: bytes
) -> None:
    stored = repo.store_clothing_image("u1", "c1", jpeg, "photo.jpg")
    assert "X-Amz-Signature" in stored.url
    assert repo.presigned_url(stored.main.key) != ""
    with pytest.raises(StorageConfigurationError, match="need the CDN"):
        repo.signed_cookies("u1")


def test_upload_status_urls_are_cdn_urls_of_the_recorded_versions(
    cdn_repo: SyncStorageRepository,
    public_key: rsa.RSAPublicKey,
    admin: Any,
    bucket: str,
    jpeg: bytes,
) -> None:
    destination = UploadDestination("clothing", "u1", "c9")
    post = cdn_repo.presign_upload("sess-cdn", "photo.jpg", destination=destination)
    assert post_presigned(post, jpeg, "image/jpeg") in (200, 201, 204)
    event = object_created(bucket, "temp/sess-cdn/photo.jpg")
    assert UploadProcessor(cdn_repo.uploads, worker_id="cdn").process(event).outcome is Outcome.DONE
    status = cdn_repo.upload_status("sess-cdn")
    assert status.state == "done"
    current = {key: version for key, version, _ in all_versions(admin, bucket, "clothing/u1/c9/")}
    assert status.main_key is not None
    assert status.thumbnail_key is not None
    assert status.main_version_id == current[status.main_key]
    assert status.thumbnail_version_id == current[status.thumbnail_key]
    for url, key in ((status.url, status.main_key), (status.thumbnail_url, status.thumbnail_key)):
        assert url is not None
        assert urlsplit(url).netloc == DOMAIN
        assert dict(parse_qsl(urlsplit(url).query))["versionId"] == current[key]
        assert accepts_url(public_key, url, now=datetime.now(UTC).timestamp())


async def test_the_async_face_signs_the_same_urls(
    cdn_settings: StorageSettings, jpeg: bytes
) -> None:
    async with await StorageRepository.from_settings(cdn_settings) as repository:
        stored = await repository.store_clothing_image("u1", "c1", jpeg, "photo.jpg")
        assert await repository.image_url(stored.main.key) == stored.url
        inline = repository.presigned_url(stored.main.key, version_id=stored.main.version_id)
        assert inline == stored.url
        cookies = await repository.signed_cookies("u1")
        assert len(cookies.sets) == 3


# -- cookies ----------------------------------------------------------------------------


def test_signed_cookies_cover_exactly_the_users_served_paths(
    cdn_repo: SyncStorageRepository, public_key: rsa.RSAPublicKey
) -> None:
    now = datetime.now(UTC).timestamp()
    cookies = cdn_repo.signed_cookies("u1")
    assert [s.path for s in cookies.sets] == ["/clothing/u1/", "/tryon/u1/", "/avatars/u1/"]
    twelve_hours = 12 * 3600
    assert now + twelve_hours - 5 <= cookies.expires_at.timestamp() <= now + twelve_hours + 5

    def admitted(url: str) -> bool:
        # A browser sends a cookie set only under its path; CloudFront then checks it.
        path = urlsplit(url).path
        return any(
            path.startswith(s.path) and accepts_cookie(public_key, dict(s.values), url, now)
            for s in cookies.sets
        )

    base = f"https://{DOMAIN}"
    for key in ("clothing/u1/c1/photo.jpg", "tryon/u1/t1/result.jpg", "avatars/u1/me_thumb.jpg"):
        assert admitted(f"{base}/{key}?versionId=v1"), key
    for key in (
        "body/u1/b1/body.jpg",  # body photos: never through the CDN
        "clothing/u10/c1/photo.jpg",  # u1 is a prefix of u10's id
        "clothing/other/u1/photo.jpg",  # another user's item named u1
        "temp/u1/photo.jpg",
        "exports/u1/export.zip",
        "clothing/u2/c1/photo.jpg",
    ):
        assert not admitted(f"{base}/{key}?versionId=v1"), key
    assert not any(
        accepts_cookie(
            public_key, dict(s.values), f"{base}/clothing/u1/c1/a.jpg", now=now + 13 * 3600
        )
        for s in cookies.sets
    )


def test_a_tampered_cookie_is_refused(
    cdn_repo: SyncStorageRepository, public_key: rsa.RSAPublicKey
) -> None:
    now = datetime.now(UTC).timestamp()
    (clothing, *_) = cdn_repo.signed_cookies("u1").sets
    values = dict(clothing.values)
    url = f"https://{DOMAIN}/clothing/u2/c1/photo.jpg"
    widened = json.loads(unb64(values["CloudFront-Policy"]))
    widened["Statement"][0]["Resource"] = f"https://{DOMAIN}/clothing/*"
    forged = base64.b64encode(json.dumps(widened).encode()).decode()
    forged = forged.translate(str.maketrans("+=/", "-_~"))
    assert not accepts_cookie(public_key, values | {"CloudFront-Policy": forged}, url, now)
    signature = values["CloudFront-Signature"]
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    own = f"https://{DOMAIN}/clothing/u1/c1/photo.jpg"
    assert accepts_cookie(public_key, values, own, now)
    assert not accepts_cookie(public_key, values | {"CloudFront-Signature": flipped}, own, now)


def test_the_fastapi_helper_sets_each_cookie_under_its_path(
    cdn_repo: SyncStorageRepository,
) -> None:
    from fastapi import Response

    from wearit_storage.fastapi import set_signed_cookies

    cookies = cdn_repo.signed_cookies("u1")
    response = Response()
    set_signed_cookies(response, cookies, domain="test.example")
    headers = [v.decode() for k, v in response.raw_headers if k == b"set-cookie"]
    assert len(headers) == 9
    for cookie_set in cookies.sets:
        for name, value in cookie_set.values.items():
            (header,) = [
                h
                for h in headers
                if h.startswith(f"{name}={value};") and f"Path={cookie_set.path};" in h
            ]
            assert "Domain=test.example" in header
            assert "Secure" in header
            assert "HttpOnly" in header
            assert "SameSite=lax" in header


# -- the private key --------------------------------------------------------------------


def test_the_private_key_appears_in_no_repr_and_no_log_line(
    cdn_settings: StorageSettings,
    private_pem: str,
    jpeg: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="wearit_storage")
    with SyncStorageRepository.from_settings(cdn_settings) as repository:
        stored = repository.store_clothing_image("u1", "c1", jpeg, "photo.jpg")
        cookies = repository.signed_cookies("u1")
        body = private_pem.splitlines()[1]  # a line of the key's base64
        signature = dict(parse_qsl(urlsplit(stored.url).query))["Signature"]
        for text in (
            repr(repository.s3_client.image_urls.cdn),
            repr(cdn_settings),
            repr(cookies),
            caplog.text,
        ):
            assert body not in text
            assert "PRIVATE KEY" not in text
            assert signature not in text
            assert cookies.sets[0].values["CloudFront-Signature"] not in text


@pytest.mark.parametrize("source", ["secretsmanager", "ssm"])
def test_the_private_key_is_read_from_secrets_manager_or_ssm(
    source: str,
    settings: StorageSettings,
    moto_endpoint: str,
    private_pem: str,
    public_key: rsa.RSAPublicKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"wearit/cdn-key-{source}"
    service = emulator_client(source, moto_endpoint, region=settings.region)
    if source == "secretsmanager":
        service.create_secret(Name=name, SecretString=private_pem)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_endpoint)
        secret, parameter = name, None
    else:
        service.put_parameter(Name=name, Value=private_pem, Type="SecureString", Overwrite=True)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", moto_endpoint)
        secret, parameter = None, name
    configured = dataclasses.replace(
        settings,
        cdn_domain=DOMAIN,
        cdn_key_pair_id=KEY_PAIR_ID,
        cdn_private_key_secret=secret,
        cdn_private_key_parameter=parameter,
    )
    with SyncS3Client.from_settings(configured) as client:
        url = client.generate_presigned_url("avatars/u1/me.jpg", version_id="v1")
    assert accepts_url(public_key, url, now=datetime.now(UTC).timestamp())


def test_a_missing_or_wrong_key_fails_at_connect_naming_the_variable(
    settings: StorageSettings, tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def configured(*, file: str | None = None, secret: str | None = None) -> StorageSettings:
        return dataclasses.replace(
            settings,
            cdn_domain=DOMAIN,
            cdn_key_pair_id=KEY_PAIR_ID,
            cdn_private_key_file=file,
            cdn_private_key_secret=secret,
        )

    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text(
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(StorageConfigurationError, match="WEARIT_CDN_PRIVATE_KEY_FILE") as raised:
        SyncS3Client.from_settings(configured(file=str(not_a_key)))
    assert "c2VjcmV0" not in str(raised.value)
    with pytest.raises(StorageConfigurationError, match="cannot be read"):
        SyncS3Client.from_settings(configured(file=str(tmp_path / "absent.pem")))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_endpoint)
    with pytest.raises(StorageConfigurationError, match="ResourceNotFoundException"):
        SyncS3Client.from_settings(configured(secret="absent"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cdn_domain": DOMAIN}, "must be set together"),
        ({"cdn_domain": DOMAIN, "cdn_key_pair_id": KEY_PAIR_ID}, "exactly one of"),
        (
            {
                "cdn_domain": DOMAIN,
                "cdn_key_pair_id": KEY_PAIR_ID,
                "cdn_private_key_file": "/k",
                "cdn_private_key_secret": "s",
            },
            "got 2",
        ),
        ({"cdn_private_key_file": "/k"}, "without WEARIT_CDN_DOMAIN"),
        ({"cdn_domain": "https://images.wearit.com", "cdn_key_pair_id": KEY_PAIR_ID}, "host name"),
        ({"cdn_domain": DOMAIN, "cdn_key_pair_id": "k-1"}, "CloudFront public key id"),
    ],
)
def test_cdn_settings_are_validated(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(StorageConfigurationError, match=message):
        StorageSettings(region="eu-west-3", bucket_name="wearit-b", **overrides)  # type: ignore[arg-type]


def test_the_replica_client_makes_no_urls(cdn_settings: StorageSettings) -> None:
    replica = cdn_settings.replica()
    assert not replica.has_cdn
    assert replica.cdn_private_key_file is None


# -- invalidation -----------------------------------------------------------------------


def test_invalidating_a_user_asks_cloudfront_for_their_served_paths(moto_endpoint: str) -> None:
    cloudfront = emulator_client("cloudfront", moto_endpoint)
    distribution_id = create_distribution(cloudfront)
    invalidation = invalidate_user_paths(cloudfront, distribution_id, "u1")
    assert invalidation.paths == ("/clothing/u1/*", "/tryon/u1/*", "/avatars/u1/*")
    assert invalidation.paths == user_paths("u1")
    stored = cloudfront.get_invalidation(
        DistributionId=distribution_id, Id=invalidation.invalidation_id
    )["Invalidation"]
    assert stored["InvalidationBatch"]["Paths"]["Items"] == list(invalidation.paths)
    # A second erasure of the same user is a new request, not the same one replayed.
    again = invalidate_user_paths(cloudfront, distribution_id, "u1")
    assert again.invalidation_id != invalidation.invalidation_id


def test_invalidating_an_unknown_distribution_names_the_setting(moto_endpoint: str) -> None:
    cloudfront = emulator_client("cloudfront", moto_endpoint)
    with pytest.raises(StorageConfigurationError, match="WEARIT_CDN_DISTRIBUTION_ID"):
        invalidate_user_paths(cloudfront, "EDOESNOTEXIST", "u1")
