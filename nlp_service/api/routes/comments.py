"""The room's live comment feed (``store/roomfeed.py``): long-poll and Server-Sent Events, for
moderators and admins (the console's live room view)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from nlp_service.api.auth import require_rooms
from nlp_service.api.deps import ModeratorKey, RoomPath, ServicesDep
from nlp_service.api.routes.actions import HEARTBEAT_MS, STREAM_ID, AfterQuery
from nlp_service.store import actions, roomfeed

router = APIRouter(prefix="/v1/rooms", tags=["comments"])


@router.get("/{room}/comments")
def room_comments(
    room: RoomPath, key: ModeratorKey, services: ServicesDep, after: AfterQuery = "0",
    count: Annotated[int, Query(ge=1, le=1000)] = 100, wait_ms: Annotated[int, Query(ge=0, le=actions.MAX_WAIT_MS)] = 0,
) -> dict:  # fmt: skip
    """The room's comments after ``after`` with their labels and the reply each got (or the
    reason it got none), long-polling up to ``wait_ms``. Resume with the returned ``last_id``."""
    require_rooms(key, [room])
    client, keys = services.client, services.keys
    start = roomfeed.last_id(client, keys, room) if after == "$" else after
    got = roomfeed.read(client, keys, room, start, count, wait_ms)
    return {"room": room, "comments": got, "last_id": got[-1]["feed_id"] if got else start}


@router.get("/{room}/comments/stream")
async def room_comments_stream(
    room: RoomPath, request: Request, key: ModeratorKey, services: ServicesDep,
    backlog: Annotated[int, Query(ge=0, le=500, description="start with the room's last comments (when not resuming)")] = 50,
    last_event_id: Annotated[str | None, Header(pattern=STREAM_ID)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000, description="close the stream once this many comments were sent (whole entries)")] = None,
) -> StreamingResponse:  # fmt: skip
    """The same feed as Server-Sent Events: ``event: comments``, one per entry (``id`` = its
    ``feed_id``, ``data`` = its comments, oldest first). A new connection first gets the
    room's last ``backlog`` comments; a reconnecting client sends ``Last-Event-ID`` and
    resumes after it, nothing missed, nothing twice."""
    require_rooms(key, [room])
    client, keys = services.client, services.keys

    def first() -> tuple[list[dict], str]:
        if last_event_id:
            return [], last_event_id
        recent = roomfeed.latest(client, keys, room, backlog) if backlog else []
        return recent, recent[-1]["feed_id"] if recent else roomfeed.last_id(client, keys, room)

    def entries(comments: list[dict]) -> list[str]:
        """One SSE event per feed entry (the comments arrive grouped by it, in order)."""
        out, group = [], []
        for c in comments:
            if group and group[-1]["feed_id"] != c["feed_id"]:
                out.append(event(group))
                group = []
            group.append(c)
        return [*out, event(group)] if group else out

    def event(group: list[dict]) -> str:
        return f"id: {group[-1]['feed_id']}\nevent: comments\ndata: {json.dumps(group, ensure_ascii=False)}\n\n"

    async def events():
        recent, cursor = await asyncio.to_thread(first)
        yield f"retry: 2000\n: resuming after {cursor}\n\n"
        sent = len(recent)
        for e in entries(recent):
            yield e
        while (limit is None or sent < limit) and not await request.is_disconnected():
            batch = await asyncio.to_thread(roomfeed.read, client, keys, room, cursor, 20, HEARTBEAT_MS)
            if not batch:
                yield ": keep-alive\n\n"
                continue
            cursor, sent = batch[-1]["feed_id"], sent + len(batch)
            for e in entries(batch):
                yield e

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
