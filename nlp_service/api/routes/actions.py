"""The room's action feed for its bot: long-poll and Server-Sent Events (``store/actions.py``)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from nlp_service.api.auth import require_rooms
from nlp_service.api.deps import BotKey, RoomPath, ServicesDep
from nlp_service.store import actions

router = APIRouter(prefix="/v1/rooms", tags=["actions"])

STREAM_ID = r"^(0|[0-9]{1,20}-[0-9]{1,20}|\$)$"
AfterQuery = Annotated[str, Query(pattern=STREAM_ID, description="the last action id handled; 0 = from the start, $ = only new ones")]
HEARTBEAT_MS = 15_000  # an SSE comment line this often keeps proxies from closing an idle stream


@router.get("/{room}/actions")
def room_actions(
    room: RoomPath, key: BotKey, services: ServicesDep, after: AfterQuery = "0",
    count: Annotated[int, Query(ge=1, le=1000)] = 100, wait_ms: Annotated[int, Query(ge=0, le=actions.MAX_WAIT_MS)] = 0,
) -> dict:  # fmt: skip
    """Actions after ``after`` (long-poll up to ``wait_ms`` when there is none yet). Resume
    with the returned ``last_id``: nothing is missed, nothing comes twice."""
    require_rooms(key, [room])
    start = actions.last_id(services.client, services.keys, room) if after == "$" else after
    got = actions.read(services.client, services.keys, room, start, count, wait_ms)
    return {"room": room, "actions": [a.to_dict() for a in got], "last_id": got[-1].id if got else start}


@router.get("/{room}/actions/stream")
async def room_actions_stream(
    room: RoomPath, request: Request, key: BotKey, services: ServicesDep, after: AfterQuery = "$",
    last_event_id: Annotated[str | None, Header(pattern=STREAM_ID)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000, description="close the stream after this many actions")] = None,
) -> StreamingResponse:  # fmt: skip
    """The same feed as Server-Sent Events (``id`` = action id, ``event`` = kind). A client
    that reconnects sends ``Last-Event-ID`` (browsers do it by themselves) and resumes there."""
    require_rooms(key, [room])
    client, keys = services.client, services.keys
    start = last_event_id or after
    if start == "$":
        start = actions.last_id(client, keys, room)

    async def events():
        cursor, sent = start, 0
        yield f"retry: 2000\n: resuming after {cursor}\n\n"
        while limit is None or sent < limit:
            if await request.is_disconnected():
                return
            batch = await asyncio.to_thread(actions.read, client, keys, room, cursor, 100, HEARTBEAT_MS)
            if not batch:
                yield ": keep-alive\n\n"
                continue
            for a in batch[: None if limit is None else limit - sent]:
                cursor, sent = a.id, sent + 1
                yield f"id: {a.id}\nevent: {a.kind}\ndata: {json.dumps(a.to_dict(), ensure_ascii=False)}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
