"""Reply requests answered by the protocol (api/direct.py) put on the wire exactly the bytes
the ASGI path sends, log the same access line and count the same metrics: the same requests
go to a server with the direct path and to one with it off (each on a fresh Redis and fresh
services, so both start from the same state), and the raw responses are compared, the date
value aside. Errors, pipelined requests, HTTP/1.0, ``Connection: close`` and bodies split
over several writes are among them."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import socket
import threading
import time

import pytest
from pydantic import SecretStr
from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import AccessFormatter

from nlp_service.api import accesslog, direct
from nlp_service.api.app import create_app
from nlp_service.api.server import HeadLimitedHttpTools
from nlp_service.core import metrics
from nlp_service.core.errors import RateLimitedError, StoreUnavailableError
from nlp_service.live.services import Services
from tests.processes import uvicorn_in_thread

ADMIN = "adm-direct-key"


class AsgiOnly(HeadLimitedHttpTools):
    """The same protocol with every request going the ASGI way (the path before api/direct.py)."""

    direct_replies = False


def comment(i: int, text: str = "福袋几点开", room: str = "room1") -> dict:
    return {"id": f"d{i}", "room": room, "user": f"u{i}", "nickname": f"n{i}", "text": text, "ts": 1764072600000}


def post(path: str, body: bytes | dict, token: str | None = ADMIN, version: str = "1.1", extra: str = "") -> bytes:
    body = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    auth = f"Authorization: Bearer {token}\r\n" if token is not None else ""
    head = f"POST {path} HTTP/{version}\r\nHost: t\r\n{auth}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


# (name, the writes one connection makes, the responses it reads): run in this order on each server
SINGLE = post("/v1/reply", comment(1))
CASES: list[tuple[str, list[bytes], int]] = [
    ("single", [SINGLE], 1),
    ("same id again", [SINGLE], 1),
    ("batch", [post("/v1/reply/batch", {"comments": [comment(2), comment(3, "来了"), comment(4, "几号链接")]})], 1),
    ("http/1.0", [post("/v1/reply", comment(5, "已拍"), version="1.0")], 1),
    ("connection close", [post("/v1/reply", comment(6, "质量太差了"), extra="Connection: close\r\n")], 1),
    ("keep-alive, three in turn", [post("/v1/reply", comment(7)), post("/v1/reply", comment(8, "来了")), post("/v1/reply/batch", {"comments": [comment(9)]})], 3),
    ("pipelined, an error among them", [post("/v1/reply", comment(10)) + post("/v1/reply", b'{"id": "x", "room": ') + post("/v1/reply/batch", {"comments": [comment(11), comment(12)]})
                                        + post("/v1/reply", comment(13, "来了")) + post("/v1/reply?asgi=1", comment(22)) + post("/v1/reply", comment(23))], 6),
    ("body over several writes", [(whole := post("/v1/reply", comment(14, "福袋什么时候开奖")))[:30], whole[30:-20], whole[-20:-5], whole[-5:]], 1),
    ("no key", [post("/v1/reply", comment(15), token=None)], 1),
    ("unknown key", [post("/v1/reply", comment(16), token="nope")], 1),
    ("wrong room", [post("/v1/reply", comment(17, room="other"))], 1),
    ("invalid json", [post("/v1/reply", b'{"id": 1')], 1),
    ("batch over max_batch", [post("/v1/reply/batch", {"comments": [comment(100 + i) for i in range(6)]})], 1),
    ("content-length over the limit", [post("/v1/reply", b"x" * 3000)], 1),
    ("chunked body over the limit", [b"POST /v1/reply HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + ADMIN.encode()
                                     + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(b"400\r\n" + b"y" * 1024 + b"\r\n" for _ in range(3)) + b"0\r\n\r\n"], 1),
    ("chunked body", [b"POST /v1/reply HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + ADMIN.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (json.dumps(comment(18)).encode()[:20], json.dumps(comment(18)).encode()[20:])) + b"0\r\n\r\n"], 1),
    ("query string", [post("/v1/reply?x=1", comment(19))], 1),
    ("expect 100-continue", [post("/v1/reply", comment(20), extra="Expect: 100-continue\r\n")], 2),
    ("forwarded", [post("/v1/reply", comment(21), extra="X-Forwarded-For: 10.1.2.3\r\n")], 1),
    ("get", [b"GET /v1/reply HTTP/1.1\r\nHost: t\r\n\r\n"], 1),
]


def read_response(sock: socket.socket, buf: bytes) -> tuple[bytes, bytes]:
    """One raw response (head and body by content-length, or a bare interim 100) and what follows it."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-response: {buf!r}"
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    length = re.search(rb"(?im)^content-length: (\d+)\r?$", head + b"\r\n")
    size = int(length[1]) if length else 0
    while len(rest) < size:
        chunk = sock.recv(65536)
        assert chunk
        rest += chunk
    return head + b"\r\n\r\n" + rest[:size], rest[size:]


def exchange(port: int, writes: list[bytes], responses: int) -> tuple[list[bytes], bool]:
    """The raw responses to ``writes`` on one connection (date and Retry-After values blanked)
    and whether the server closed the connection after them."""
    out, buf = [], b""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i, data in enumerate(writes):
            if i:
                time.sleep(0.02)  # separate reads on the server, most of the time (never needed to pass)
            sock.sendall(data)
        for _ in range(responses):
            raw, buf = read_response(sock, buf)
            out.append(re.sub(rb"(?im)^(date|retry-after): [^\r]*", rb"\1: -", raw))
        # a connection the server ends gets EOF soon; one kept alive has none within the short wait
        ending = b"connection: close" in out[-1] or out[-1].startswith(b"HTTP/1.1 500")
        sock.settimeout(10 if ending else 0.3)
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
    return out, closed


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = tuple(re.sub(r":\d+$", ":port", a) if isinstance(a, str) else a for a in record.args)
        self.lines.append((record.msg, args))


def serve(services: Services, protocol: type):
    """The service app for ``services`` under ``protocol``, uvicorn's access log on."""
    app = create_app(services.settings, services)
    return uvicorn_in_thread(app, http=protocol, log_config=None, log_level="info", lifespan="off")


@pytest.fixture
def run(rclient, svc_settings):
    """``run(protocol, cases)``: the cases through a server with ``protocol`` on a fresh Redis
    database and fresh services; returns the responses, access log lines and metrics counted."""
    settings = svc_settings.model_copy(update={"admin_key": SecretStr(ADMIN), "max_body_bytes": 2048, "max_batch": 5})
    started: list[Services] = []

    def run_(protocol: type, cases: list, patch=None, access: logging.Handler | None = None) -> tuple[list, list, list]:
        """``access``: the access logger's one handler, configured as uvicorn configures it
        (then the log is what that handler wrote); by default a handler that keeps the records."""
        rclient.flushdb()
        services = Services.start(settings, rclient, poll=False)
        started.append(services)
        if patch is not None:
            patch(services)
        counters = [metrics.HTTP_REQUESTS.labels("POST", path, status) for path in ("/v1/reply", "/v1/reply/batch") for status in ("200", "403", "422", "500")]
        before = [c._value.get() for c in counters]
        records = _Records()
        logger = logging.getLogger("uvicorn.access")
        saved = logger.handlers, logger.propagate, logger.level
        logger.handlers, logger.level = [access or records], logging.INFO
        logger.propagate = saved[1] and access is None  # uvicorn's config: not propagated
        try:
            with serve(services, protocol) as port:
                responses = [exchange(port, writes, n) for _, writes, n in cases]
        finally:
            logger.handlers, logger.propagate, logger.level = saved
        lines = records.lines if access is None else re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:port", access.stream.getvalue()).splitlines()
        return responses, lines, [c._value.get() - b for c, b in zip(counters, before, strict=True)]

    yield run_
    for services in started:
        services.close()


def test_every_case_gets_the_bytes_log_and_metrics_of_the_asgi_path(run) -> None:
    direct_out = run(HeadLimitedHttpTools, CASES)
    asgi_out = run(AsgiOnly, CASES)
    for (name, _, _), got, want in zip(CASES, direct_out[0], asgi_out[0], strict=True):
        assert got == want, name
    assert direct_out[1] == asgi_out[1]  # access log lines, client ports aside
    assert direct_out[2] == asgi_out[2]
    responses = dict(zip((c[0] for c in CASES), direct_out[0], strict=True))
    assert [r[:15] for r in responses["pipelined, an error among them"][0]] == [b"HTTP/1.1 200 OK", b"HTTP/1.1 422 Un", *[b"HTTP/1.1 200 OK"] * 4]
    assert [re.search(rb'"id":"(d\d+)"', r)[1] for r in responses["pipelined, an error among them"][0][2:]] == [b"d11", b"d13", b"d22", b"d23"]  # in order
    assert responses["http/1.0"][1] and responses["connection close"][1] and not responses["single"][1]
    assert b"connection: close\r\n" in responses["http/1.0"][0][0]
    assert len(direct_out[1]) == sum(n for *_, n in CASES) - 1  # every response logged but the interim 100
    assert direct_out[2][0] > 0  # and counted


def uvicorn_access_handler(colors: bool) -> logging.StreamHandler:
    """The access handler uvicorn's default log config builds (``LOGGING_CONFIG``), on a string stream."""
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(AccessFormatter(LOGGING_CONFIG["formatters"]["access"]["fmt"], use_colors=colors))
    return handler


@pytest.mark.parametrize("colors", [False, True])
def test_uvicorns_own_access_log_gets_the_same_lines_written_a_loop_turn_at_a_time(run, monkeypatch, colors) -> None:
    buffered = []
    real = accesslog.AccessLines.ok

    def spy(self, client, path, version):
        buffered.append(path)
        real(self, client, path, version)

    monkeypatch.setattr(accesslog.AccessLines, "ok", spy)
    direct_out = run(HeadLimitedHttpTools, CASES, access=uvicorn_access_handler(colors))
    asgi_out = run(AsgiOnly, CASES, access=uvicorn_access_handler(colors))
    assert direct_out[0] == asgi_out[0] and direct_out[2] == asgi_out[2]
    # the same lines; a buffered one may follow a line the ASGI path logged in the same loop turn
    assert sorted(direct_out[1]) == sorted(asgi_out[1])
    assert len(direct_out[1]) == sum(n for *_, n in CASES) - 1
    assert len(buffered) == 15  # every reply the protocol answered went through the buffer
    assert ("\x1b[" in direct_out[1][0]) == colors


def test_the_direct_path_answers_the_well_formed_requests(run, monkeypatch) -> None:
    taken = []
    real = direct.DirectReplyProtocol._respond

    def spy(self, reply, payload):
        taken.append(reply.path)
        real(self, reply, payload)

    monkeypatch.setattr(direct.DirectReplyProtocol, "_respond", spy)
    run(HeadLimitedHttpTools, CASES)
    # all but the errors, the query string, the 100-continue, the forwarded one and the chunked body over the limit
    assert len(taken) == 15 and taken.count("/v1/reply/batch") == 3


@pytest.mark.parametrize("lane", ["engine", "reply"])
@pytest.mark.parametrize("error", [RuntimeError("engine failed"), StoreUnavailableError("redis down"), RateLimitedError("slow down", 1.5)])
def test_errors_after_the_checks_get_the_asgi_path_answer(run, error, lane) -> None:
    """``engine``: the batch fails in the engine thread (the usual request's outcomes come back
    to the protocol in a loop callback); ``reply``: in ``Services.reply``, the awaited path
    (long comments and slices take it)."""

    def fail(services: Services) -> None:
        def begin(comments, now_ms=None, after=None):
            raise error

        async def reply(comments):
            raise error

        if lane == "engine":
            services.engine.begin = begin  # the engine's first half (the coalescer's batches and the one-request retries)
        else:
            services.reply = reply
            services.reply_to = lambda comments, loop, receiver: False

    cases = [("single", [post("/v1/reply", comment(1))], 1), ("next", [post("/v1/reply", comment(2))], 1)]
    direct_out = run(HeadLimitedHttpTools, cases, fail)
    asgi_out = run(AsgiOnly, cases, fail)
    assert direct_out == asgi_out
    status = {RuntimeError: b"500", StoreUnavailableError: b"503", RateLimitedError: b"429"}[type(error)]
    assert direct_out[0][0][0][0].startswith(b"HTTP/1.1 " + status)


def test_a_client_gone_mid_answer_leaves_the_server_serving(services, admin) -> None:
    """The awaited path (``Services.reply``): another request is answered while it waits."""
    token = admin["Authorization"].removeprefix("Bearer ")
    release = threading.Event()
    real = services.reply

    async def reply(comments):
        if comments[0].id == "gone":  # held until the client has left
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 20)
        return await real(comments)

    services.reply = reply
    real_to = services.reply_to
    services.reply_to = lambda comments, loop, receiver: comments[0].id != "gone" and real_to(comments, loop, receiver)
    errors = _Records()
    errors.setLevel(logging.ERROR)
    logging.getLogger("uvicorn.error").addHandler(errors)
    try:
        with serve(services, HeadLimitedHttpTools) as port:  # leaving it waits for the held answer's task
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(post("/v1/reply", {**comment(1), "id": "gone"}, token))
            responses, _ = exchange(port, [post("/v1/reply", comment(2), token)], 1)
            assert responses[0].startswith(b"HTTP/1.1 200 OK")
            release.set()
    finally:
        release.set()
        logging.getLogger("uvicorn.error").removeHandler(errors)
    assert errors.lines == []


def test_an_answer_for_a_client_gone_is_dropped_and_the_next_one_served(services, admin) -> None:
    """The usual path: the engine thread holds the batch until the client has left; its
    outcomes then find the connection gone, nothing is written or logged as an error, and the
    next request is answered."""
    token = admin["Authorization"].removeprefix("Bearer ")
    services.settings = services.settings.model_copy(update={"reply_in_loop": False})  # the coalescer's thread holds it
    held, release = threading.Event(), threading.Event()
    real = services.engine.begin

    def begin(comments, now_ms=None, after=None):
        if comments[0].id == "gone":
            held.set()
            release.wait(20)
        return real(comments, now_ms, after)

    services.engine.begin = begin
    written = []
    real_respond = direct.DirectReplyProtocol._respond
    errors = _Records()
    errors.setLevel(logging.ERROR)
    logging.getLogger("uvicorn.error").addHandler(errors)
    try:
        direct.DirectReplyProtocol._respond = lambda self, reply, payload: (written.append(payload), real_respond(self, reply, payload))[1]
        with serve(services, HeadLimitedHttpTools) as port:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(post("/v1/reply", {**comment(1), "id": "gone"}, token))
                assert held.wait(20)
            time.sleep(0.2)  # the server sees the close before the engine lets go (never needed to pass)
            release.set()
            responses, _ = exchange(port, [post("/v1/reply", comment(2), token)], 1)
            assert responses[0].startswith(b"HTTP/1.1 200 OK")
    finally:
        release.set()
        direct.DirectReplyProtocol._respond = real_respond
        logging.getLogger("uvicorn.error").removeHandler(errors)
    assert errors.lines == []
    assert len(written) == 1 and b'"id":"d2"' in written[0]  # the gone client's answer never written


def test_a_delivery_that_fails_closes_its_connection_alone(services, admin) -> None:
    """A response that cannot be written (here: the access log raising) is logged and its
    connection closed; the other requests of the same engine batch are answered. (The engine
    thread is held on a first request while the two queue, so they share the next batch.)"""
    token = admin["Authorization"].removeprefix("Bearer ")
    real_respond = direct.DirectReplyProtocol._respond
    services.settings = services.settings.model_copy(update={"reply_in_loop": False})  # the coalescer's thread holds it
    held, release = threading.Event(), threading.Event()
    real_begin = services.engine.begin
    batches = []

    def begin(comments, now_ms=None, after=None):
        batches.append([c.id for c in comments])
        if comments[0].id == "hold":
            held.set()
            release.wait(20)
        return real_begin(comments, now_ms, after)

    services.engine.begin = begin

    def respond(self, reply, payload):
        if b'"id":"bad"' in payload:
            raise OSError("log disk full")
        real_respond(self, reply, payload)

    errors = _Records()
    errors.setLevel(logging.ERROR)
    logging.getLogger("uvicorn.error").addHandler(errors)
    try:
        direct.DirectReplyProtocol._respond = respond
        with serve(services, HeadLimitedHttpTools) as port:
            with (socket.create_connection(("127.0.0.1", port), timeout=10) as first, socket.create_connection(("127.0.0.1", port), timeout=10) as bad,
                  socket.create_connection(("127.0.0.1", port), timeout=10) as good):
                first.sendall(post("/v1/reply", {**comment(3), "id": "hold"}, token))
                assert held.wait(20)
                bad.sendall(post("/v1/reply", {**comment(1), "id": "bad"}, token))
                time.sleep(0.1)  # bad queued first (never needed to pass)
                good.sendall(post("/v1/reply", comment(2), token))
                deadline = time.monotonic() + 20
                while len(services.coalescer._waiters) < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                release.set()
                assert bad.recv(100) == b""  # closed, no response
                raw, _ = read_response(good, b"")
                assert raw.startswith(b"HTTP/1.1 200 OK") and b'"id":"d2"' in raw
    finally:
        release.set()
        direct.DirectReplyProtocol._respond = real_respond
        logging.getLogger("uvicorn.error").removeHandler(errors)
    assert batches[1] == ["bad", "d2"]  # one batch: the failing delivery did not stop the other
    assert [msg for msg, _ in errors.lines] == ["Exception in ASGI application\n"]
