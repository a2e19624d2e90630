"""The HTTP protocol ``nlp-service serve`` runs: uvicorn's httptools protocol with a bound on
the request head.

httptools (llhttp) has no limit on the size of a request line or of the headers: it keeps
adding a header's bytes to its buffer until the line ends, so four unauthenticated 50 MB
headers cost the worker 300 MB and stalled everyone else's requests. An ASGI middleware
cannot help: it sees the headers only once they are all in memory. uvicorn's h11 protocol
has a limit, but answers it with a bare 400 and parses in pure Python (slower on the reply
path; bench/bench_http.py). So the bytes of each request head are counted as they arrive,
and past ``max_header_bytes`` the client gets 431 with the service's JSON error body and
the connection is closed; nothing else was read, allocated or spent for it. A worker keeps
at most the limit plus two socket reads (256 KB each) of a hostile head.

Bodies are bounded by ``api/app.py`` ``BodyLimit`` and the fast path (413). Well-formed reply
requests are answered by the protocol itself (``api/direct.py``).
"""

from __future__ import annotations

import json

from nlp_service.api.direct import DirectReplyProtocol
from nlp_service.core.config import get_settings

PROTOCOL = "nlp_service.api.server:HeadLimitedHttpTools"  # uvicorn's ``http=`` for serve and the benches


class _HeadTooLarge(Exception):
    pass


class HeadLimitedHttpTools(DirectReplyProtocol):
    """Counts the bytes of the current request's head (request line and headers) two ways:
    exactly, as the parser hands over the URL and each complete header (a head that arrives
    in one read); and by the reads that leave a head unfinished (a header still growing
    inside the parser's buffer, which no callback shows)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes = get_settings().max_header_bytes
        self._in_head = True  # between two requests, or inside a head
        self._head_bytes = 0
        self._edges = 0  # heads and messages ended so far
        self._exact = 0  # bytes of URL and complete headers of the current request
        self._too_large = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._exact = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # "name: value\r\n"
        super().on_header(name, value)

    def _count(self, n: int) -> None:
        self._exact += n
        if self._exact > self.max_head_bytes:
            self._too_large = True
            raise _HeadTooLarge  # stops the parser; uvicorn answers a parser error with send_400_response

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            self._refuse()
        else:
            super().send_400_response(msg)

    def data_received(self, data: bytes) -> None:
        edges = self._edges
        super().data_received(data)
        # A read in which no head or message ended is all head bytes (or all body bytes, not
        # counted). A read that ended one may mix body bytes and the start of the next
        # keep-alive request: it is not counted, so a head is under-counted by less than a read.
        if self._in_head and self._edges == edges and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._edges += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0
        self._edges += 1

    def _refuse(self) -> None:
        limit = self.max_head_bytes
        body = json.dumps({"error": {"type": "headers_too_large", "message": f"request line and headers exceed {limit} bytes"}}).encode()
        head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [b"content-type: application/json\r\n", b"content-length: ", str(len(body)).encode(), b"\r\n", b"connection: close\r\n\r\n"]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
