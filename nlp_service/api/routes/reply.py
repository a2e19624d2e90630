"""POST /v1/reply and /v1/reply/batch: what the room bot calls for every comment.

This is the hot path. Well-formed requests are answered by the HTTP protocol
(``api/direct.py``) or the ASGI fast path in ``api/fastpath.py`` (FastAPI's routing and request machinery cost ~100 µs a request, more
than the analysis); these routes answer everything else (errors, and the OpenAPI docs),
with the same code (:func:`answer`). Both do by hand what FastAPI's
generic machinery would do at several times the cost: the body is validated straight from bytes by pydantic-core
(``model_validate_json``, no intermediate dict), the key is checked inline, and the
response is serialised once by pydantic-core's JSON encoder (already installed with
FastAPI, and several times faster than ``json.dumps``). The engine runs in the coalescer's
worker thread (``live/coalesce.py``): concurrent requests share one batch and one Redis
round trip, and the event loop never waits on Redis. The request and response models
still document the contract in OpenAPI.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from pydantic_core import to_json

from nlp_service.api.auth import authenticate, require_role, require_rooms
from nlp_service.api.schemas import BatchIn, BatchOut, CommentIn, CommentOut
from nlp_service.live.services import Services
from nlp_service.live.types import Comment, Outcome

router = APIRouter(prefix="/v1", tags=["reply"])


def _schema(model: type) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema(ref_template="#/components/schemas/{model}")}}}}


def comments_of(services: Services, model: type[CommentIn] | type[BatchIn], body: bytes, authorization: str | None) -> list[Comment]:
    """The comments of a reply request, after the key, the body and the limits are checked.
    Raises the domain / HTTP errors the app maps to 401, 403, 413 and 422. Shared by the
    routes below and the ASGI fast path (``api/fastpath.py``)."""
    key = require_role(authenticate(authorization, services.api_keys), ["bot"])
    try:
        parsed = model.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]) from None
    if isinstance(parsed, CommentIn):
        require_rooms(key, [parsed.room])
        comments = [parsed.to_comment()]
    else:
        limit = services.settings.max_batch
        if len(parsed.comments) > limit:
            raise HTTPException(413, f"batch has {len(parsed.comments)} comments; the limit is {limit}")
        require_rooms(key, {c.room for c in parsed.comments})
        comments = [c.to_comment() for c in parsed.comments]
    services.rate_limiter.check(key.key_id or key.name, comments=len(comments))  # 429 + Retry-After
    for c in comments:  # the key's name is the bot's own user unless the room sets bot_user
        c.sender = key.name
    return comments


def render(outcomes: list[Outcome], batch: bool) -> bytes:
    """The response body: one outcome, or ``{"results": [...]}`` for the batch endpoint."""
    return to_json({"results": [o.to_dict() for o in outcomes]} if batch else outcomes[0].to_dict())


async def answer(services: Services, model: type[CommentIn] | type[BatchIn], body: bytes, authorization: str | None) -> bytes:
    """The response body of a reply request. Every 401/403/413/422 error is raised by
    :func:`comments_of`, before the engine sees a comment (the fast path relies on it)."""
    comments = comments_of(services, model, body, authorization)
    return render(await services.reply(comments), model is BatchIn)


async def _answer(request: Request, model: type[CommentIn] | type[BatchIn]) -> Response:
    body = await answer(request.app.state.services, model, await request.body(), request.headers.get("authorization"))
    return Response(body, media_type="application/json")


@router.post("/reply", response_model=CommentOut, openapi_extra=_schema(CommentIn))
async def reply(request: Request) -> Response:
    """Analyse one comment and answer it if a rule fires and the limits allow (role bot)."""
    return await _answer(request, CommentIn)


@router.post("/reply/batch", response_model=BatchOut, openapi_extra=_schema(BatchIn))
async def reply_batch(request: Request) -> Response:
    """Up to ``max_batch`` comments in one request, one Redis round trip (role bot)."""
    return await _answer(request, BatchIn)
