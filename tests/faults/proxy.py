"""A fault-injecting HTTP/1.1 proxy in front of the moto S3 server (tests only, stdlib only).

The SDK under test talks to :attr:`FaultProxy.url`; the proxy forwards every request to
moto, except where a fault says otherwise. A fault is chosen per request, when its head
has been read:

* by **rules** (:class:`Rule`, first firing rule wins): match on the HTTP method, the S3
  operation (derived from the method, the path and the query: ``?uploads``,
  ``?partNumber=``, ``?versions``, ``?delete``...), a substring of the object key, and
  optionally only the *nth* request the rule matched;
* or by a **seeded random mode** (:class:`RandomFaults`): a fault with probability ``p``,
  its kind drawn from a weighted list. The draw for a request depends only on the seed, the
  request's method, operation, key and listing prefix, and how many such requests came
  before it, so a run is reproducible whatever order a thread pool sends requests in.

Faults (:class:`FaultKind`): ``slowdown`` (503 ``SlowDown``) and ``error500`` (500
``InternalError``) answer without forwarding; ``reset_before`` resets the client
connection without forwarding; ``reset_after`` forwards, lets moto process the request
and reads its whole response, then resets (a lost response); ``reset_mid_body`` sends the
status line, the headers and half of the body, then resets (with no body: half of the
head); ``corrupt_body`` flips one byte in the middle of the body (same length);
``latency`` waits, then forwards. Resets are real TCP resets (``SO_LINGER`` 0).

HTTP handling: persistent client connections (keep-alive), ``Content-Length``, chunked
and close-delimited bodies streamed in 64 KiB pieces in both directions, ``HEAD`` and
bodiless statuses, and ``Expect: 100-continue`` answered by the proxy itself (the
request is forwarded whole, without ``Expect``). Each forwarded request uses its own
upstream connection (``Connection: close``), so upstream framing never leaks between
requests.

Bounded: it listens on 127.0.0.1 only, accepts loopback clients only, forwards only to a
loopback upstream, and :meth:`FaultProxy.stop` (or leaving the ``with`` block) closes
every connection and joins every thread.
"""

from __future__ import annotations

import contextlib
import random
import socket
import socketserver
import struct
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from io import BufferedReader
from types import TracebackType
from typing import Final, Self
from urllib.parse import parse_qsl, unquote, urlsplit

LOOPBACK: Final = "127.0.0.1"
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_PIECE: Final = 64 * 1024
_MAX_LINE: Final = 64 * 1024
_MAX_HEADERS: Final = 200
_HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "upgrade", "expect"}
)
_META_PREFIX: Final = "x-amz-meta-"


class FaultKind(StrEnum):
    SLOWDOWN = "slowdown"
    ERROR500 = "error500"
    RESET_BEFORE = "reset_before"
    RESET_AFTER = "reset_after"
    RESET_MID_BODY = "reset_mid_body"
    CORRUPT_BODY = "corrupt_body"
    LATENCY = "latency"


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    latency_s: float = 0.0  # for LATENCY: how long to wait before forwarding


@dataclass(frozen=True, slots=True)
class Request:
    """What a rule or the random mode sees of a request."""

    method: str
    operation: str  # S3 operation name, e.g. "PutObject", "UploadPart", "DeleteObjects"
    bucket: str
    key: str  # the object key, URL-decoded; "" for bucket-level requests
    query: Mapping[str, str]
    metadata: Mapping[str, str]  # x-amz-meta-* headers, without the prefix
    tags: Mapping[str, str] = field(default_factory=dict)  # the x-amz-tagging header

    @property
    def signature(self) -> str:
        """Identifies "the same request" for the random mode; excludes the bucket (fresh
        random names per test) and server-generated ids (upload ids)."""
        return f"{self.method} {self.operation} {self.key} prefix={self.query.get('prefix', '')}"


@dataclass(slots=True)
class Rule:
    """Inject ``fault`` into requests matching every given criterion (None: any).

    ``nth`` (1-based) restricts the fault to the nth request this rule matched; ``None``
    injects it into every match.
    """

    fault: Fault | FaultKind
    method: str | None = None
    operation: str | None = None
    key: str | None = None  # substring of the object key
    nth: int | None = None
    bucket: str | None = None  # exact bucket name (the primary, not the replica)
    matched: int = field(default=0, init=False)

    def decide(self, request: Request) -> Fault | None:
        """Count a match and return the fault if it applies to this request."""
        if self.method is not None and request.method != self.method.upper():
            return None
        if self.operation is not None and request.operation != self.operation:
            return None
        if self.key is not None and self.key not in request.key:
            return None
        if self.bucket is not None and request.bucket != self.bucket:
            return None
        self.matched += 1
        if self.nth is not None and self.matched != self.nth:
            return None
        return self.fault if isinstance(self.fault, Fault) else Fault(self.fault)


@dataclass(frozen=True, slots=True)
class RandomFaults:
    """Each request gets a fault with ``probability``; the kind is drawn from ``weights``."""

    seed: int
    probability: float
    weights: Mapping[FaultKind, float]
    latency_s: tuple[float, float] = (0.01, 0.1)

    def decide(self, request: Request, occurrence: int) -> Fault | None:
        rng = random.Random(f"{self.seed}|{request.signature}|{occurrence}")
        if rng.random() >= self.probability:
            return None
        kind = rng.choices(list(self.weights), weights=list(self.weights.values()))[0]
        latency = rng.uniform(*self.latency_s) if kind is FaultKind.LATENCY else 0.0
        return Fault(kind, latency)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the proxy handled it."""

    method: str
    operation: str
    key: str
    metadata: Mapping[str, str]
    fault: FaultKind | None
    upstream_status: int | None = None  # None: never answered by moto (not forwarded)
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProxyStats:
    requests: int
    operations: Counter[str]
    faults: Counter[str]

    def summary(self) -> str:
        faults = ", ".join(f"{k}={v}" for k, v in sorted(self.faults.items())) or "none"
        return f"{self.requests} requests, {sum(self.faults.values())} faults ({faults})"


def classify(method: str, key: str, query: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """The S3 operation of a path-style request."""
    copy = "x-amz-copy-source" in headers
    if method in ("GET", "HEAD"):
        if key:
            if method == "HEAD":
                return "HeadObject"
            if "tagging" in query:
                return "GetObjectTagging"
            return "ListParts" if "uploadId" in query else "GetObject"
        if method == "HEAD":
            return "HeadBucket"
        for marker, name in (
            ("versions", "ListObjectVersions"),
            ("uploads", "ListMultipartUploads"),
            ("versioning", "GetBucketVersioning"),
        ):
            if marker in query:
                return name
        return "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"
    if method == "PUT":
        if not key:
            return "PutBucket" if query else "CreateBucket"
        if "partNumber" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        if "tagging" in query:
            return "PutObjectTagging"
        return "CopyObject" if copy else "PutObject"
    if method == "POST":
        if "delete" in query:
            return "DeleteObjects"
        if "uploads" in query:
            return "CreateMultipartUpload"
        return "CompleteMultipartUpload" if "uploadId" in query else "PostObject"
    if method == "DELETE":
        if "uploadId" in query:
            return "AbortMultipartUpload"
        return "DeleteObject" if key else "DeleteBucket"
    return method


# -- HTTP framing ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Head:
    start_line: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        for header, value in self.headers:
            if header.lower() == name:
                return value
        return None

    def encode(self, *, drop: frozenset[str] = frozenset(), extra: Iterable[str] = ()) -> bytes:
        lines = [self.start_line]
        lines += [f"{k}: {v}" for k, v in self.headers if k.lower() not in drop]
        lines += list(extra)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass(frozen=True, slots=True)
class _Framing:
    kind: str  # "none", "length", "chunked", "close"
    length: int = 0

    @property
    def known_length(self) -> int | None:
        if self.kind == "none":
            return 0
        return self.length if self.kind == "length" else None


def _read_head(reader: BufferedReader) -> _Head | None:
    """Read a start line and headers; None on a clean end of stream before any byte."""
    line = reader.readline(_MAX_LINE)
    while line in (b"\r\n", b"\n"):  # tolerated between messages (RFC 9112 2.2)
        line = reader.readline(_MAX_LINE)
    if not line:
        return None
    start_line = _line(line)
    headers: list[tuple[str, str]] = []
    while True:
        raw = reader.readline(_MAX_LINE)
        if not raw:
            raise ConnectionError("connection closed inside a message head")
        text = _line(raw)
        if not text:
            return _Head(start_line, headers)
        name, sep, value = text.partition(":")
        if not sep or len(headers) >= _MAX_HEADERS:
            raise ConnectionError(f"malformed header line {text[:80]!r}")
        headers.append((name.strip(), value.strip()))


def _line(raw: bytes) -> str:
    if not raw.endswith(b"\n"):
        raise ConnectionError("line too long or truncated")
    return raw.decode("latin-1").rstrip("\r\n")


def _request_framing(head: _Head) -> _Framing:
    if "chunked" in (head.get("transfer-encoding") or "").lower():
        return _Framing("chunked")
    length = head.get("content-length")
    return _Framing("length", int(length)) if length else _Framing("none")


def _response_framing(head: _Head, status: int, method: str) -> _Framing:
    if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
        return _Framing("none")
    if "chunked" in (head.get("transfer-encoding") or "").lower():
        return _Framing("chunked")
    length = head.get("content-length")
    return _Framing("length", int(length)) if length is not None else _Framing("close")


class _Payload:
    """Passes body bytes through, optionally flipping one byte or stopping after N bytes."""

    def __init__(self, *, flip_at: int | None = None, cut_at: int | None = None) -> None:
        self.flip_at, self.cut_at, self.offset = flip_at, cut_at, 0

    def pass_through(self, piece: bytes) -> tuple[bytes, bool]:
        start, self.offset = self.offset, self.offset + len(piece)
        if self.flip_at is not None and start <= self.flip_at < self.offset:
            edited = bytearray(piece)
            edited[self.flip_at - start] ^= 0xFF
            piece = bytes(edited)
        if self.cut_at is not None and self.offset >= self.cut_at:
            return piece[: self.cut_at - start], True
        return piece, False


Sink = Callable[[bytes], object]


def _discard(_: bytes) -> None:
    return None


def _copy_exact(source: BufferedReader, size: int, sink: Sink, payload: _Payload) -> bool:
    """Copy ``size`` payload bytes; False when the payload asked to stop early."""
    remaining = size
    while remaining:
        piece = source.read(min(_PIECE, remaining))
        if not piece:
            raise ConnectionError("peer closed the connection inside a body")
        remaining -= len(piece)
        out, stop = payload.pass_through(piece)
        sink(out)
        if stop:
            return False
    return True


def _copy_body(source: BufferedReader, framing: _Framing, sink: Sink, payload: _Payload) -> bool:
    """Stream one body from ``source`` to ``sink`` keeping its framing; False if cut."""
    if framing.kind == "length":
        return _copy_exact(source, framing.length, sink, payload)
    if framing.kind == "close":
        while piece := source.read1(_PIECE):
            out, stop = payload.pass_through(piece)
            sink(out)
            if stop:
                return False
        return True
    if framing.kind == "chunked":
        while True:
            size_line = source.readline(_MAX_LINE)
            sink(size_line)
            size = int(_line(size_line).split(";")[0].strip(), 16)
            if size == 0:  # last chunk, then trailers up to an empty line
                while (trailer := source.readline(_MAX_LINE)) not in (b"\r\n", b"\n"):
                    _line(trailer)
                    sink(trailer)
                sink(trailer)
                return True
            if not _copy_exact(source, size, sink, payload):
                return False
            sink(source.read(2))  # the CRLF after the chunk data
    return True


def _reset(sock: socket.socket, reader: BufferedReader) -> None:
    """Close with a TCP RST instead of an orderly FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    reader.close()  # the makefile() reference keeps the descriptor open otherwise
    sock.close()


def _error_response(status: int, reason: str, code: str, message: str, method: str) -> bytes:
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()
    head = _Head(
        f"HTTP/1.1 {status} {reason}",
        [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(body))),
            ("x-amz-request-id", request_id),
        ],
    ).encode()
    return head if method == "HEAD" else head + body


_ERRORS: Final[Mapping[FaultKind, tuple[int, str, str, str]]] = {
    FaultKind.SLOWDOWN: (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
    FaultKind.ERROR500: (
        500,
        "Internal Server Error",
        "InternalError",
        "We encountered an internal error. Please try again.",
    ),
}


# -- the proxy ------------------------------------------------------------------------


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins every connection thread

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__((LOOPBACK, 0), _Handler)

    def verify_request(self, request: object, client_address: object) -> bool:
        return isinstance(client_address, tuple) and client_address[0] in _LOOPBACK_HOSTS


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server, sock = self.server, self.request
        assert isinstance(server, _Server)
        assert isinstance(sock, socket.socket)
        server.proxy._serve_connection(sock)


class FaultProxy:
    """``with FaultProxy(moto_url) as proxy:`` then point clients at ``proxy.url``."""

    def __init__(self, upstream_url: str, *, upstream_timeout_s: float = 30.0) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or parts.hostname not in _LOOPBACK_HOSTS or not parts.port:
            raise ValueError(f"upstream must be http://<loopback>:<port>, not {upstream_url!r}")
        self._upstream = (parts.hostname, parts.port)
        self._upstream_timeout_s = upstream_timeout_s
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._rules: list[Rule] = []
        self._random: RandomFaults | None = None
        self._seen: Counter[str] = Counter()
        self._records: list[RequestRecord] = []
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Self:
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fault-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()  # no new connections
        with self._lock:
            for sock in list(self._connections):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes threads blocked on a read
        server.server_close()  # joins the connection threads
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- scripting ----------------------------------------------------------------------

    def script(self, *rules: Rule) -> None:
        """Replace the rules (and turn the random mode off)."""
        with self._lock:
            self._rules, self._random = list(rules), None

    def randomize(self, faults: RandomFaults | None) -> None:
        """Turn the random mode on (rules off), or off with None."""
        with self._lock:
            self._rules, self._random, self._seen = [], faults, Counter()

    def clear(self) -> None:
        """No faults from now on; counts are kept."""
        self.script()

    # -- figures ------------------------------------------------------------------------

    @property
    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def matching(
        self,
        *,
        operation: str | None = None,
        key: str | None = None,
        fault: FaultKind | None = None,
    ) -> list[RequestRecord]:
        """Records of the given operation, exact key and fault kind (None: any)."""
        return [
            r
            for r in self.records
            if (operation is None or r.operation == operation)
            and (key is None or r.key == key)
            and (fault is None or r.fault is fault)
        ]

    @property
    def stats(self) -> ProxyStats:
        records = self.records
        return ProxyStats(
            requests=len(records),
            operations=Counter(r.operation for r in records),
            faults=Counter(r.fault.value for r in records if r.fault is not None),
        )

    # -- serving ------------------------------------------------------------------------

    def _decide(self, request: Request) -> Fault | None:
        with self._lock:
            fault = None
            for rule in self._rules:  # every matching rule counts the request
                decided = rule.decide(request)
                fault = fault or decided
            if self._random is not None:
                occurrence = self._seen[request.signature]
                self._seen[request.signature] += 1
                fault = self._random.decide(request, occurrence)
            return fault

    def _record(self, request: Request, fault: Fault | None, upstream_status: int | None) -> None:
        record = RequestRecord(
            request.method,
            request.operation,
            request.key,
            request.metadata,
            fault.kind if fault else None,
            upstream_status,
            request.tags,
        )
        with self._lock:
            self._records.append(record)

    def _serve_connection(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.add(sock)
        reader: BufferedReader = sock.makefile("rb")
        try:
            keep_alive = True
            while keep_alive and not self._stopping.is_set():
                head = _read_head(reader)
                if head is None:
                    return
                keep_alive = self._exchange(sock, reader, head)
        except (OSError, ValueError):
            return  # client gone, malformed message or proxy stopping: drop the connection
        finally:
            with self._lock:
                self._connections.discard(sock)
            reader.close()

    def _exchange(self, sock: socket.socket, reader: BufferedReader, head: _Head) -> bool:
        """Serve one request; False when the client connection must not be reused."""
        method, target, _ = head.start_line.split(" ", 2)
        parts = urlsplit(target)
        bucket, _, raw_key = parts.path.lstrip("/").partition("/")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {name.lower(): value for name, value in head.headers}
        metadata = {
            name[len(_META_PREFIX) :]: value
            for name, value in headers.items()
            if name.startswith(_META_PREFIX)
        }
        key = unquote(raw_key)
        tags = dict(parse_qsl(headers.get("x-amz-tagging", ""), keep_blank_values=True))
        request = Request(
            method, classify(method, key, query, headers), bucket, key, query, metadata, tags
        )
        fault = self._decide(request)
        kind = fault.kind if fault else None
        client_keeps_alive = (headers.get("connection") or "").lower() != "close"

        if kind is FaultKind.RESET_BEFORE:
            self._record(request, fault, None)
            _reset(sock, reader)
            return False
        if (headers.get("expect") or "").lower() == "100-continue":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        error = _ERRORS.get(kind) if kind else None
        if error is not None:
            _copy_body(reader, _request_framing(head), _discard, _Payload())
            self._record(request, fault, None)
            sock.sendall(_error_response(*error, method))
            return client_keeps_alive
        if fault is not None and kind is FaultKind.LATENCY:
            self._stopping.wait(fault.latency_s)

        with socket.create_connection(self._upstream, self._upstream_timeout_s) as upstream:
            upstream_reader: BufferedReader = upstream.makefile("rb")
            with upstream_reader:
                upstream.sendall(head.encode(drop=_HOP_BY_HOP, extra=["Connection: close"]))
                _copy_body(reader, _request_framing(head), upstream.sendall, _Payload())
                response = _read_head(upstream_reader)
                if response is None:
                    raise ConnectionError("upstream closed without a response")
                status = int(response.start_line.split(" ", 2)[1])
                framing = _response_framing(response, status, method)
                self._record(request, fault, status)
                return self._respond(sock, reader, upstream_reader, response, framing, kind) and (
                    client_keeps_alive and framing.kind != "close"
                )

    def _respond(
        self,
        sock: socket.socket,
        reader: BufferedReader,
        upstream_reader: BufferedReader,
        response: _Head,
        framing: _Framing,
        kind: FaultKind | None,
    ) -> bool:
        """Relay (or sabotage) moto's response; False when the client connection is gone."""
        if kind is FaultKind.RESET_AFTER:
            _copy_body(upstream_reader, framing, _discard, _Payload())  # moto finished
            _reset(sock, reader)
            return False
        extra = ["Connection: close"] if framing.kind == "close" else []
        encoded = response.encode(drop=_HOP_BY_HOP, extra=extra)
        known = framing.known_length
        if kind is FaultKind.RESET_MID_BODY and known == 0:
            sock.sendall(encoded[: len(encoded) // 2])
            _reset(sock, reader)
            return False
        sock.sendall(encoded)
        payload = _Payload()
        if kind is FaultKind.RESET_MID_BODY:
            payload = _Payload(cut_at=max(1, (known or 2) // 2))
        elif kind is FaultKind.CORRUPT_BODY:
            payload = _Payload(flip_at=(known or 0) // 2)
        if not _copy_body(upstream_reader, framing, sock.sendall, payload):
            _reset(sock, reader)
            return False
        return True
