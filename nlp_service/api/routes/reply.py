"""POST /v1/reply and /v1/reply/batch: what the room bot calls for every comment."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from nlp_service.api.auth import require_rooms
from nlp_service.api.deps import BotKey, ServicesDep
from nlp_service.api.schemas import BatchIn, BatchOut, CommentIn, CommentOut

router = APIRouter(prefix="/v1", tags=["reply"])


@router.post("/reply", response_model=CommentOut)
def reply(body: CommentIn, key: BotKey, services: ServicesDep) -> dict:
    """Analyse one comment and answer it if a rule fires and the limits allow."""
    require_rooms(key, [body.room])
    return services.engine.handle([body.to_comment()])[0].to_dict()


@router.post("/reply/batch", response_model=BatchOut)
def reply_batch(body: BatchIn, key: BotKey, services: ServicesDep) -> dict:
    """Up to ``max_batch`` comments in one request (one Redis round trip)."""
    limit = services.settings.max_batch
    if len(body.comments) > limit:
        raise HTTPException(413, f"batch has {len(body.comments)} comments; the limit is {limit}")
    require_rooms(key, {c.room for c in body.comments})
    outcomes = services.engine.handle([c.to_comment() for c in body.comments])
    return {"results": [o.to_dict() for o in outcomes]}
