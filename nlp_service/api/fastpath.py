"""An ASGI fast path for the two endpoints room bots call for every comment.

A bare FastAPI endpoint costs about 160 µs a request on this class of machine, of which
about 100 µs are FastAPI's and Starlette's routing, dependency and request machinery (a
plain ASGI handler taking the same body does the rest in ~60 µs). For ``POST /v1/reply``
and ``/v1/reply/batch`` that machinery buys nothing, so the app calls this first, in front
of FastAPI itself (``api/app.ServiceApp``: not even FastAPI's telemetry check, which reads
the environment on every request, nor Starlette's outer middlewares run), and it answers
well-formed requests itself, with the very function the routes use (``answer``) and the
same metrics. Anything it would refuse (no or wrong key, wrong role
or room, invalid JSON, a body or batch over the limits) it hands to the full app with
the body replayed, so every error response comes from one place and stays identical; an
unexpected error gets the 500 that Starlette's ``ServerErrorMiddleware`` would have sent.
Under ``nlp-service serve`` the HTTP protocol answers these requests before any ASGI object is
built (``api/direct.py``, with this module's pieces); this path answers them under any other
server (plain uvicorn, the test client).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse

from nlp_service.api.routes.reply import answer
from nlp_service.api.schemas import BatchIn, CommentIn
from nlp_service.core import metrics
from nlp_service.core.errors import (
    AuthError,
    ForbiddenError,
    RateLimitedError,
    StoreUnavailableError,
)

MODELS = {"/v1/reply": CommentIn, "/v1/reply/batch": BatchIn}
_HEADERS = [(b"content-type", b"application/json")]
# what ``answer`` raises before any engine work: the full app answers such a request instead
REFUSED = (AuthError, ForbiddenError, RateLimitedError, RequestValidationError, HTTPException, StoreUnavailableError)


class ReplyFastPath:
    """``app``: the full app (called for everything not answered here); ``services``: the
    running instance's services, None before the app's lifespan started them."""

    def __init__(self, app, max_bytes: int, services: Callable[[], object]) -> None:
        self.app, self.max_bytes, self.services = app, max_bytes, services
        # label lookups once, not per request
        self._requests = {path: metrics.HTTP_REQUESTS.labels("POST", path, "200") for path in MODELS}
        self._latency = {path: metrics.HTTP_LATENCY.labels("POST", path) for path in MODELS}

    def count(self, path: str, start: float) -> None:
        """The metrics of a request answered here (or by ``api/direct.py``), as ``app.Metrics`` counts the others."""
        self._requests[path].inc()
        self._latency[path].observe(time.perf_counter() - start)

    async def __call__(self, scope, receive, send):
        model = MODELS.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if model is None:
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        chunks, size, more = [], 0, True
        while more and size <= self.max_bytes:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        body = b"".join(chunks)
        services = self.services()
        payload = None
        if not more and services is not None:
            authorization = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    authorization = value.decode("latin-1")
                    break
            try:
                payload = await answer(services, model, body, authorization)
            except REFUSED:
                payload = None
            except Exception:
                await server_error(scope, receive, send)
                raise  # for the server to log, as Starlette re-raises it
        if payload is None:
            return await self.app(scope, replay(body, more, receive), send)
        await send({"type": "http.response.start", "status": 200, "headers": [*_HEADERS, (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})
        self.count(scope["path"], start)


async def server_error(scope, receive, send) -> None:
    """What Starlette's ``ServerErrorMiddleware`` answers an unexpected error with (no
    500 handler is installed, debug is off): nothing was sent yet when ``answer`` raised."""
    await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)


def replay(body: bytes, more: bool, receive):
    """A ``receive`` that first gives back the body already read, then the rest of the stream."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replayed
