"""Reply requests answered by the HTTP protocol itself, without a round of ASGI objects.

The ASGI fast path (``api/fastpath.py``) already skips FastAPI, but under uvicorn each request
still builds what ASGI needs: the scope, a ``RequestResponseCycle`` with its ``asyncio.Event``,
the proxy-headers middleware's pass, receive and send message dicts, and uvicorn's per-header
validation in ``send``. Measured with ``wrk -t2 -c32`` at 40 % new texts, a raw ASGI app
returning a fixed body cost the server 93 µs a request, about half the event loop's share of
``POST /v1/reply`` (182-200 µs; the engine thread's ~125 µs besides).

So the protocol (``api/server.py`` runs it) answers a complete, well-formed ``POST /v1/reply``
or ``/v1/reply/batch`` when its message completes: the body is in hand, it runs the fast
path's :func:`answer` and writes the same bytes uvicorn would (status line, uvicorn's default
headers, content-type, content-length, ``connection: close`` when the connection ends) in one
write, logs the same access line and counts the same metrics. The usual request is not even a
task: once its key, body and limits are checked it joins the loop turn's batch
(``Services.reply_to``, ``live/inloop.py``; the coalescer's thread for a cluster client) with a
:class:`_Delivery` where a future would be, and the response is written when the batch's
outcomes are in. A task and its future cost ~3 µs of the loop's time a request, and under load
every request of a batch was resumed one loop turn after its outcomes arrived (~6 % fewer
instructions a request at 40 % new texts, bench/bench_http_callgrind.py). A request with long
comments (the prescreen lane first) or cut into slices still awaits ``Services.reply`` in a
task. Everything else goes the ASGI
way: a request it does not take (another route, ``Expect: 100-continue``, an upgrade, proxy
headers, a body over the limit) never leaves uvicorn's own code, and a request ``answer``
refuses or fails on runs uvicorn's cycle with the body already read, into the same app the
fast path hands it to, so every error response comes from one place. Pipelined requests are
queued in uvicorn's own pipeline and answered in order. ``tests/api/test_direct.py`` compares
the bytes on the wire with the ASGI path's.

What it saved (2026-12-06, one worker, side by side with the ASGI path): ~40-55K instructions a
request of ~850-1,000K (``bench/bench_http_callgrind.py``); in process, ~17-22 µs of the
event loop's ~65-110 µs (``bench/bench_protocol.py``, of which uvicorn's access log is ~40 µs);
~45 µs of server CPU a request in interleaved ``wrk -t2 -c32`` runs on a loaded machine.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import Any

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from nlp_service.api.accesslog import AccessLines, for_logger
from nlp_service.api.fastpath import MODELS, REFUSED, ReplyFastPath, replay, server_error
from nlp_service.api.routes.reply import comments_of, render
from nlp_service.api.schemas import BatchIn

_ROUTES = {path.encode(): (path, model) for path, model in MODELS.items()}
_PROXY_HEADERS = (b"x-forwarded-for", b"x-forwarded-proto")  # they change the scope's client: ASGI way
_STEERING = (b"connection", b"content-length", b"transfer-encoding")  # uvicorn's send reads these


class DirectReply:
    """One reply request taken by the protocol: its body while it arrives, then its answer.
    While it is answered it stands where uvicorn keeps the current cycle (``protocol.cycle``,
    and its pipeline), so it has the attributes uvicorn reads there."""

    __slots__ = ("path", "model", "authorization", "scope", "default_headers", "keep_alive", "body", "start", "response_complete", "disconnected")

    def __init__(self, path: str, model: type, authorization: str | None, scope: dict, default_headers: list, keep_alive: bool) -> None:
        self.path, self.model, self.authorization, self.scope = path, model, authorization, scope
        self.default_headers, self.keep_alive = default_headers, keep_alive
        self.body = bytearray()
        self.start = time.perf_counter()
        self.response_complete = False
        self.disconnected = False


def fast_path_of(app: Any) -> ReplyFastPath | None:
    """The reply fast path of the service app uvicorn runs (``api/app.ServiceApp``), or None
    for any other app or wrapping (then every request goes the ASGI way)."""
    if isinstance(app, ProxyHeadersMiddleware):
        app = app.app
    fast = getattr(app, "fast_path", None)
    return fast if isinstance(fast, ReplyFastPath) else None


class DirectReplyProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering well-formed reply requests itself (see above).
    ``direct_replies = False`` in a subclass sends every request the ASGI way (the tests)."""

    direct_replies = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a concurrency limit (503s), a root path or default headers that steer the response: ASGI way
        steering = any(name.lower() in _STEERING for name, _ in self.config.encoded_headers)
        plain = self.direct_replies and self.limit_concurrency is None and not self.root_path and not steering
        self.fast_path = fast_path_of(self.app) if plain else None
        # uvicorn's access lines of the replies answered here, buffered per loop turn where
        # logging is configured as uvicorn leaves it (api/accesslog.py), else None: logger.info
        self.access_lines: AccessLines | None = None
        if self.fast_path is not None and self.access_log:
            self.access_lines = for_logger(self.access_logger, self.loop)
        self.direct: DirectReply | None = None  # the current request, while its body arrives
        self._head: tuple[list, bytes] = ([], b"")  # the default headers, and the response head they start

    def on_headers_complete(self) -> None:
        self.direct = self._take() if self.fast_path is not None else None
        if self.direct is None:
            super().on_headers_complete()

    def _take(self) -> DirectReply | None:
        """The request as a ``DirectReply`` if it is one to answer here, with the scope
        uvicorn would have built for it (needed if it goes the ASGI way after all)."""
        route = _ROUTES.get(self.url)  # the exact path: no query, nothing percent-encoded
        parser = self.parser
        if route is None or self.expect_100_continue or parser.get_method() != b"POST" or parser.should_upgrade():
            return None
        version = parser.get_http_version()
        if version != "1.1" and version != "1.0":
            return None
        authorization = None
        for name, value in self.headers:
            if name == b"authorization":
                if authorization is None:
                    authorization = value.decode("latin-1")
            elif name in _PROXY_HEADERS or (name == b"content-length" and value.isdigit() and int(value) > self.fast_path.max_bytes):
                return None
        path, model = route
        scope = self.scope
        scope["method"], scope["path"], scope["raw_path"], scope["query_string"] = "POST", path, self.url, b""
        if version != "1.1":
            scope["http_version"] = version
        keep_alive = version != "1.0" and parser.should_keep_alive()
        return DirectReply(path, model, authorization, scope, self.server_state.default_headers, keep_alive)

    def on_body(self, body: bytes) -> None:
        direct = self.direct
        if direct is None:
            return super().on_body(body)
        direct.body += body
        if len(direct.body) > self.fast_path.max_bytes:  # the ASGI way, for the 413 (as the fast path)
            self.direct = None
            super().on_headers_complete()
            super().on_body(bytes(direct.body))

    def on_message_complete(self) -> None:
        direct = self.direct
        if direct is None:
            return super().on_message_complete()
        self.direct = None
        existing, self.cycle = self.cycle, direct
        if existing is None or existing.response_complete:
            self._start_asgi_task(direct, None)
        else:  # after the responses before it, as uvicorn queues pipelined requests
            self.flow.pause_reading()
            self.pipeline.appendleft((direct, None))

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        if not isinstance(cycle, DirectReply):
            return super()._start_asgi_task(cycle, app)
        fast = self.fast_path
        services = fast.services()
        if services is None:
            return self._run(self._asgi(cycle, fast.app))
        try:
            comments = comments_of(services, cycle.model, bytes(cycle.body), cycle.authorization)
        except REFUSED:  # the full app answers it (the same error, from one place)
            return self._run(self._asgi(cycle, fast.app))
        except Exception as exc:
            return self._run(self._asgi(cycle, _failing(exc)))
        # the usual request goes to the engine's queue with no task to await it: its outcomes
        # come back in a loop callback that writes the response (_Delivery)
        if not services.reply_to(comments, self.loop, _Delivery(self, cycle)):
            self._run(self._answer(cycle, services, comments))

    def _run(self, work: Any) -> None:
        """``work`` (a coroutine answering a request) as a task, kept where uvicorn keeps its own."""
        context = contextvars.Context() if self.config.reset_contextvars else None
        task = self.loop.create_task(work, context=context)
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    async def _answer(self, direct: DirectReply, services: Any, comments: list) -> None:
        """A request with long comments (the prescreen lane first) or cut into slices."""
        try:
            outcomes = await services.reply(comments)
        except Exception as exc:
            return await self._failed(direct, exc)
        self._deliver(direct, outcomes)

    def _deliver(self, direct: DirectReply, outcomes: list) -> None:
        """The response of ``outcomes``, written now unless the client is not reading."""
        try:
            payload = render(outcomes, direct.model is BatchIn)
        except Exception as exc:
            return self._run(self._asgi(direct, _failing(exc)))
        if self.flow.write_paused and not direct.disconnected:
            return self._run(self._drained(direct, payload))
        self._write(direct, payload)

    async def _drained(self, direct: DirectReply, payload: bytes) -> None:
        await self.flow.drain()
        self._write(direct, payload)

    def _write(self, direct: DirectReply, payload: bytes) -> None:
        if not (direct.disconnected or self.transport.is_closing()):
            self._respond(direct, payload)
        self.fast_path.count(direct.path, direct.start)

    async def _failed(self, direct: DirectReply, exc: BaseException) -> None:
        """The engine failed ``direct``'s batch: the full app's answer to a refusal, else a 500."""
        await self._asgi(direct, self.fast_path.app if isinstance(exc, REFUSED) else _failing(exc))

    def _respond(self, direct: DirectReply, payload: bytes) -> None:
        """What uvicorn's ``RequestResponseCycle.send`` writes and logs for the fast path's
        200, and what it does once the response is complete."""
        if self.access_lines is not None:  # the path is the route's own: no query, no root path
            self.access_lines.ok(get_client_addr(direct.scope), direct.path, direct.scope["http_version"])
        elif self.access_log:
            scope = direct.scope
            self.access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope), "POST", get_path_with_query_string(scope), scope["http_version"], 200)
        head = self._head_of(direct.default_headers) + b"content-length: %d\r\n" % len(payload)
        if not direct.keep_alive:
            head += b"connection: close\r\n"
        self.transport.write(head + b"\r\n" + payload)
        direct.response_complete = True
        if not direct.keep_alive:
            self.transport.close()
        self.on_response_complete()

    def _head_of(self, default_headers: list) -> bytes:
        """Status line, default headers and content-type; built again only when the server
        renews its default headers (the date, once a second)."""
        if self._head[0] is not default_headers:
            lines = [STATUS_LINE[200]] + [b"%s: %s\r\n" % (name.lower(), value) for name, value in default_headers]
            self._head = (default_headers, b"".join(lines) + b"content-type: application/json\r\n")
        return self._head[1]

    async def _asgi(self, direct: DirectReply, app: Any) -> None:
        """The request through uvicorn's own cycle into ``app`` (as the fast path hands it on),
        its body already read."""
        cycle = RequestResponseCycle(
            scope=direct.scope,
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=direct.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=direct.keep_alive,
            on_response=self.on_response_complete,
        )
        cycle.more_body, cycle.disconnected = False, direct.disconnected
        if self.cycle is direct:  # else a pipelined request came since: uvicorn watches that one
            self.cycle = cycle
        body = bytes(direct.body)

        async def replayed(scope, receive, send) -> None:
            await app(scope, replay(body, False, receive), send)

        await cycle.run_asgi(replayed)

    def connection_lost(self, exc: Exception | None) -> None:
        direct = self.cycle
        if isinstance(direct, DirectReply):  # uvicorn would also set its message event: it has none
            direct.disconnected = not direct.response_complete
            self.cycle = None
        super().connection_lost(exc)


class _Delivery:
    """Stands where a request's future would be (``live/coalesce.Receiver``, for the loop's
    batches and the coalescer's): the batch's outcomes for ``direct``, handed over on the
    loop, are written at once."""

    __slots__ = ("protocol", "direct")

    def __init__(self, protocol: DirectReplyProtocol, direct: DirectReply) -> None:
        self.protocol, self.direct = protocol, direct

    def done(self) -> bool:  # a gone client's response is skipped when it is written (_write)
        return False

    def set_result(self, outcomes: list) -> None:
        try:
            self.protocol._deliver(self.direct, outcomes)
        except Exception:  # this request's alone: the batch's other deliveries go on (coalesce._resolve)
            self.protocol.logger.exception("Exception in ASGI application\n")
            self.protocol.transport.close()

    def set_exception(self, exc: BaseException) -> None:
        self.protocol._run(self.protocol._failed(self.direct, exc))


def _failing(exc: BaseException):
    """An ASGI app that answers as the fast path does when ``answer`` raised ``exc``: the 500
    Starlette's ``ServerErrorMiddleware`` sends, then the error for uvicorn to log."""

    async def app(scope, receive, send) -> None:
        await server_error(scope, receive, send)
        raise exc

    return app
