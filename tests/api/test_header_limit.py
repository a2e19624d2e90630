"""Request heads are bounded by the protocol `nlp-service serve` runs (api/server.py): an
oversized request line or header block gets 431 with the JSON error body and the connection
is closed, before the application sees anything; bodies and keep-alive requests are not
counted against it."""

import json
import socket

import pytest
import uvicorn

from nlp_service.api.server import PROTOCOL, HeadLimitedHttpTools
from nlp_service.core.config import get_settings
from tests.processes import uvicorn_in_thread

LIMIT = get_settings().max_header_bytes
seen: list[str] = []


async def app(scope, receive, send):
    """Counts what reaches the application; answers 200 with the body size."""
    if scope["type"] != "http":
        return
    seen.append(scope["path"])
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = json.dumps({"body_bytes": size}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def server():
    with uvicorn_in_thread(app, http=PROTOCOL, log_level="warning", lifespan="off") as port:
        yield port


def _exchange(port: int, raw: bytes, responses: int = 1) -> list[tuple[int, dict | None]]:
    """Send ``raw`` and read ``responses`` HTTP responses (status, JSON body)."""
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):  # the server closed after its answer
            pass
        buf = b""
        while len(out) < responses:
            while b"\r\n\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    return out
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            while len(buf) < length:
                buf += sock.recv(65536)
            body, buf = buf[:length], buf[length:]
            out.append((int(head.split(b" ")[1]), json.loads(body) if body else None))
    return out


def _get(path: str, header_bytes: int) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Pad: {'a' * header_bytes}\r\n\r\n".encode()


def test_the_serve_protocol_is_the_bounded_one() -> None:
    assert uvicorn.Config(app, http=PROTOCOL).http == PROTOCOL
    assert issubclass(HeadLimitedHttpTools, uvicorn.protocols.http.httptools_impl.HttpToolsProtocol)


def test_an_oversized_header_gets_431_and_reaches_nothing(server) -> None:
    seen.clear()
    [(status, body)] = _exchange(server, _get("/huge", 4 * LIMIT))
    assert status == 431 and body["error"]["type"] == "headers_too_large" and str(LIMIT) in body["error"]["message"]
    assert seen == []  # the application never saw it


def test_an_oversized_request_line_gets_431(server) -> None:
    [(status, _)] = _exchange(server, f"GET /{'p' * 2 * LIMIT} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status == 431


def test_heads_under_the_limit_pass_and_keep_alive_counts_each_request_alone(server) -> None:
    seen.clear()
    pad = LIMIT * 2 // 3  # two of them exceed the limit together, never alone
    answers = _exchange(server, _get("/one", pad) + _get("/two", pad), responses=2)
    assert [s for s, _ in answers] == [200, 200] and seen == ["/one", "/two"]


def test_a_large_body_is_not_counted_as_head(server) -> None:
    body = b"x" * (8 * LIMIT)
    raw = b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    [(status, answer)] = _exchange(server, raw)
    assert status == 200 and answer == {"body_bytes": len(body)}


def test_keep_alive_after_a_large_body_is_not_refused(server) -> None:
    """The last read of a large body ends the message; it is not counted as the next head."""
    body = b"y" * (3 * LIMIT)
    post = b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    answers = _exchange(server, post + _get("/after", 100), responses=2)
    assert [s for s, _ in answers] == [200, 200]


def test_a_head_over_the_limit_in_one_read_gets_431(server) -> None:
    """1.5 × the limit arrives in one socket read and ends in it: counted exactly, header by header."""
    seen.clear()
    [(status, body)] = _exchange(server, _get("/one-read", LIMIT * 3 // 2))
    assert status == 431 and body["error"]["type"] == "headers_too_large" and seen == []
    many = "".join(f"X-H{i}: {'b' * 1000}\r\n" for i in range(LIMIT // 1000 + 5))
    [(status, _)] = _exchange(server, f"GET /many HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode())
    assert status == 431 and seen == []
