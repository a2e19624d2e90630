"""The FastAPI application: wiring, error mapping and small ASGI middlewares."""

from __future__ import annotations

import gc
import math
import re
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from nlp_service.analysis import Analyzer
from nlp_service.api.fastpath import ReplyFastPath
from nlp_service.api.routes import (
    actions,
    comments,
    health,
    keys,
    moderation,
    moderation_stream,
    reply,
    rules,
    score,
)
from nlp_service.core import metrics
from nlp_service.core.config import Settings, get_settings
from nlp_service.core.errors import (
    AuthError,
    ForbiddenError,
    InvalidDecisionError,
    InvalidRoleError,
    InvalidRuleError,
    InvalidTextError,
    InvalidTimeZoneError,
    InvalidWordListError,
    QueueItemBusyError,
    QueueItemNotFoundError,
    RateLimitedError,
    RuleNotFoundError,
    StoreUnavailableError,
)
from nlp_service.live.services import Services

# Domain error → HTTP status. Routes raise domain errors; only this table knows HTTP.
STATUS = {
    AuthError: 401,
    ForbiddenError: 403,
    RuleNotFoundError: 404,
    InvalidRuleError: 422,
    InvalidTextError: 422,
    StoreUnavailableError: 503,
    QueueItemNotFoundError: 404,
    QueueItemBusyError: 409,
    InvalidDecisionError: 422,
    InvalidTimeZoneError: 422,
    InvalidRoleError: 422,
    InvalidWordListError: 422,
    RateLimitedError: 429,
}


def _error(status: int, kind: str, message: str, details: list | None = None, headers: dict | None = None) -> JSONResponse:
    body: dict = {"error": {"type": kind, "message": message}}
    if details:
        body["error"]["details"] = details
    headers = {**({"WWW-Authenticate": "Bearer"} if status == 401 else {}), **(headers or {})} or None
    return JSONResponse(body, status_code=status, headers=headers)


class BodyLimit:
    """Reject bodies over ``max_bytes`` with 413 before they are read into memory."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await _error(413, "body_too_large", f"request body is {int(length)} bytes; the limit is {self.max_bytes}")(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await _error(413, "body_too_large", f"request body exceeds {self.max_bytes} bytes")(scope, receive, send)


class _TooLarge(Exception):
    pass


class Metrics:
    """Requests and latency by route template (not raw path, to keep label sets small)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(scope["method"], path, str(status["code"])).inc()
            metrics.HTTP_LATENCY.labels(scope["method"], path).observe(time.perf_counter() - start)


class ServiceApp(FastAPI):
    """The service's FastAPI app, with the reply fast path (``api/fastpath.py``) in front of
    FastAPI's own ``__call__``: the reply routes' well-formed requests never enter FastAPI's
    and Starlette's stack (telemetry check, error and body-limit middlewares)."""

    fast_path: ReplyFastPath | None = None

    async def __call__(self, scope, receive, send) -> None:
        if self.fast_path is None:
            return await super().__call__(scope, receive, send)
        return await self.fast_path(scope, receive, send)

    async def full(self, scope, receive, send) -> None:
        """The whole app (every route, middleware and error handler), past the fast path."""
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, services: Services | None = None, analyzer: Analyzer | None = None) -> FastAPI:
    """The app. Pass ``services`` to share one set (tests); otherwise they start in the
    lifespan, with ``analyzer`` when one was loaded before (``api/prefork.py``)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        own = services is None
        app.state.services = services or Services.start(settings, analyzer=analyzer)
        if app.state.services.generated_admin_key:
            print(
                "nlp-service: created the first admin API key (shown once, store it now):\n"
                f"  {app.state.services.generated_admin_key}",
                flush=True,
            )
        # Everything loaded so far (models, jieba's tables, word lists) lives as long as the
        # process: out of the garbage collector's sight, full collections stay short (p99).
        gc.collect()
        gc.freeze()
        # What stays (cached analyses and moderation results) is young when it arrives, and the
        # default thresholds walked all of it again every few thousand new texts
        gc.set_threshold(*app.state.services.settings.gc_thresholds)
        try:
            yield
        finally:
            if own:
                app.state.services.close()

    app = ServiceApp(
        title="nlp-service",
        version="0.1.0",
        description="The comment brain for live-stream e-commerce rooms: analysis, auto-replies, moderation.",
        lifespan=lifespan,
    )
    if services is not None:
        app.state.services = services
    for router in (reply.router, actions.router, comments.router, rules.router, moderation_stream.router, moderation.router, moderation.rooms_router, moderation.any_router, score.router, keys.router, health.router):
        app.include_router(router)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        where = ", ".join(".".join(str(p) for p in d["loc"]) + ": " + d["msg"] for d in details[:5])
        return _error(422, "validation_error", f"invalid request: {where}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail))

    for error_type, status in STATUS.items():
        app.add_exception_handler(error_type, _domain_handler(status))

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Metrics)
    app.fast_path = ReplyFastPath(app.full, settings.max_body_bytes, lambda: getattr(app.state, "services", None))  # see fastpath.py
    return app


def error_type(exc: Exception) -> str:
    """The ``error.type`` of a domain error, in the one style of every error response
    (snake_case: ``rule_not_found``, ``invalid_rule``; ``reason`` when the error names one)."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    name = type(exc).__name__.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _domain_handler(status: int):
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        retry = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(max(1, math.ceil(retry)))} if retry is not None else None
        return _error(status, error_type(exc), str(exc), headers=headers)

    return handler
