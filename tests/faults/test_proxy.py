"""The fault proxy itself: HTTP relaying, rule matching, resets, randomness, bounds."""

from __future__ import annotations

import http.client
import socket
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.faults.helpers import read
from tests.faults.proxy import (
    FaultKind,
    FaultProxy,
    RandomFaults,
    Request,
    Rule,
    classify,
)


def _address(proxy: FaultProxy) -> tuple[str, int]:
    parts = urlsplit(proxy.url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def test_relays_keep_alive_chunked_and_100_continue(
    proxy: FaultProxy, admin: Any, bucket: str
) -> None:
    connection = http.client.HTTPConnection(*_address(proxy), timeout=5)
    sized, chunked = b"sized body " * 1000, [b"first chunk ", b"second chunk"]
    connection.request(
        "PUT", f"/{bucket}/a/sized.bin", body=sized, headers={"Expect": "100-continue"}
    )
    first_socket = connection.sock
    for response in [connection.getresponse()]:
        assert (response.status, response.read()) == (200, b"")
    connection.request("PUT", f"/{bucket}/a/chunked.bin", body=iter(chunked), encode_chunked=True)
    for response in [connection.getresponse()]:
        assert (response.status, response.read()) == (200, b"")
    # A HEAD answer has no body: the next answer on the connection must still parse. (Not
    # moto's /moto-api/data.json: that dump of every service fails with 500 once other
    # tests have left state it cannot serialise.)
    connection.request("HEAD", f"/{bucket}")
    for response in [connection.getresponse()]:
        assert (response.status, response.read()) == (200, b"")
    connection.request("GET", "/moto-api/")
    for response in [connection.getresponse()]:
        assert response.status == 200
        assert b"<html" in response.read().lower()
    assert connection.sock is first_socket  # one connection for the four requests
    connection.close()

    assert read(admin, bucket, "a/sized.bin") == sized
    assert read(admin, bucket, "a/chunked.bin") == b"".join(chunked)
    assert proxy.stats.operations == Counter({"PutObject": 2, "HeadBucket": 1, "ListObjects": 1})


def test_a_reset_is_a_tcp_reset(proxy: FaultProxy, bucket: str) -> None:
    proxy.script(Rule(FaultKind.RESET_BEFORE))
    with socket.create_connection(_address(proxy), timeout=5) as sock:
        sock.sendall(f"GET /{bucket}/a/b.jpg HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        with pytest.raises(ConnectionResetError):  # not an orderly end of stream (b"")
            sock.recv(1)


def test_rules_match_method_operation_key_and_nth(proxy: FaultProxy, bucket: str) -> None:
    rule = Rule(FaultKind.ERROR500, method="get", operation="GetObject", key="b.jpg", nth=2)
    proxy.script(rule)
    connection = http.client.HTTPConnection(*_address(proxy), timeout=5)
    answers = []
    for method, path in [("GET", "a/b.jpg"), ("GET", "a/c.jpg"), ("HEAD", "a/b.jpg")] + [
        ("GET", "a/b.jpg")
    ] * 2:
        connection.request(method, f"/{bucket}/{path}")
        response = connection.getresponse()
        answers.append((response.status, response.read()))
    connection.close()

    assert rule.matched == 3
    assert [r.fault for r in proxy.records] == [None, None, None, FaultKind.ERROR500, None]
    assert [status == 500 for status, _ in answers] == [False, False, False, True, False]
    assert b"<Error><Code>InternalError</Code>" in answers[3][1]
    assert proxy.stats.faults == Counter({"error500": 1})


@pytest.mark.parametrize(
    ("method", "key", "query", "operation"),
    [
        ("GET", "", {"versions": "", "prefix": "clothing/"}, "ListObjectVersions"),
        ("GET", "", {"uploads": ""}, "ListMultipartUploads"),
        ("GET", "k", {}, "GetObject"),
        ("POST", "k", {"uploads": ""}, "CreateMultipartUpload"),
        ("PUT", "k", {"partNumber": "1", "uploadId": "x"}, "UploadPart"),
        ("POST", "k", {"uploadId": "x"}, "CompleteMultipartUpload"),
        ("DELETE", "k", {"uploadId": "x"}, "AbortMultipartUpload"),
        ("POST", "", {"delete": ""}, "DeleteObjects"),
        ("DELETE", "k", {"versionId": "v"}, "DeleteObject"),
        ("HEAD", "k", {}, "HeadObject"),
        ("PUT", "k", {}, "PutObject"),
    ],
)
def test_classifies_s3_operations(
    method: str, key: str, query: dict[str, str], operation: str
) -> None:
    assert classify(method, key, query, {}) == operation


def test_random_mode_is_deterministic_per_seed() -> None:
    weights = {FaultKind.SLOWDOWN: 1.0, FaultKind.LATENCY: 1.0}
    requests = [
        Request("PUT", "PutObject", "b", f"clothing/u/{n}/photo.jpg", {}, {}) for n in range(2000)
    ]

    def draws(seed: int) -> list[FaultKind | None]:
        faults = RandomFaults(seed=seed, probability=0.3, weights=weights)
        return [fault.kind if (fault := faults.decide(r, 0)) else None for r in reversed(requests)][
            ::-1
        ]

    first = draws(7)
    assert first == draws(7)  # order of arrival does not matter: reversed above
    assert first != draws(8)
    rate = sum(kind is not None for kind in first) / len(first)
    assert 0.25 < rate < 0.35
    assert set(first) == {None, FaultKind.SLOWDOWN, FaultKind.LATENCY}


def test_loopback_only_and_stops_cleanly(moto_endpoint: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("http://example.com:80")
    with FaultProxy(moto_endpoint) as proxy:
        address = _address(proxy)
        connection = http.client.HTTPConnection(*address, timeout=5)
        connection.request("GET", "/moto-api/data.json")
        assert connection.getresponse().read()
        idle = connection.sock  # kept alive, waiting for its next request
        assert idle is not None
    assert idle.recv(1) == b""  # closed by stop()
    connection.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=5).close()
