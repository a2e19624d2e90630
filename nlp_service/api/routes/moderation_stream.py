"""The moderators' queue as Server-Sent Events (role moderator): ``moderation/feed.py``.

Same claim semantics as ``POST /v1/moderation/pull`` (it calls the same queue functions);
the connection only decides when to pull. Events: ``hello``, then ``item`` for each item the moderator already holds and ``held``
(their ids: what a reconnecting client should still show), then ``item`` (an item for this moderator,
enriched like a pulled one), ``gone`` (an item sent earlier that this moderator no longer
holds: decided here or elsewhere, or returned after the claim time), ``stats`` (depth,
oldest age and decisions per moderator of each room, all time and in the current
``shift``, every few seconds). A client that
reconnects gets every item it still holds first: nothing is lost with a dropped connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from nlp_service.api.auth import require_rooms
from nlp_service.api.deps import ModeratorKey, ServicesDep
from nlp_service.moderation.feed import ModeratorFeed
from nlp_service.replies.rules import ROOM_PATTERN

router = APIRouter(prefix="/v1/moderation", tags=["moderation"])

WAIT_MS = 1000  # one pull waits this long for an item before the feed looks at what it holds again
STATS_EVERY_SECONDS = 3.0
# The feeds' blocking Redis calls run in their own threads: asyncio's default executor has
# cpu + 4 threads, and the action feed's long polls already wait there for up to 15 s, so a
# few open bot streams would hold up every moderator's next item.
POOL = ThreadPoolExecutor(max_workers=64, thread_name_prefix="moderator-feed")


async def _run(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(POOL, fn, *args)


def _event(kind: str, data: object) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/stream")
async def stream(
    request: Request, key: ModeratorKey, services: ServicesDep,
    rooms: Annotated[list[Annotated[str, Query(pattern=ROOM_PATTERN)]] | None, Query(max_length=1000, description="rooms to work; default every room the key may see")] = None,
    window: Annotated[int, Query(ge=1, le=20, description="items held at once: more are pulled only as these are decided")] = 3,
) -> StreamingResponse:  # fmt: skip
    """The queue, live: items arrive as they are flagged, each to one moderator only."""
    queue = services.engine.queue
    if rooms:
        require_rooms(key, rooms)
    else:
        rooms = [r for r in queue.rooms() if key.allows_room(r)]
    claim_ms = int(services.settings.moderation_claim_seconds * 1000)
    feed = ModeratorFeed(queue, list(rooms), key.name, claim_ms, window, settings=services.settings)

    async def events():
        yield f"retry: 2000\n: moderator {key.name}, rooms {','.join(feed.rooms)}\n\n"
        yield _event("hello", {"moderator": key.name, "rooms": feed.rooms, "claim_seconds": claim_ms / 1000, "window": window})
        held = await _run(feed.resume)
        for item in held:
            yield _event("item", item)
        # what this moderator holds now: a reconnecting client drops what it shows beyond it
        # (decided elsewhere or returned while it was away)
        yield _event("held", {"item_ids": [i["item_id"] for i in held]})
        next_stats = 0.0
        try:
            while not await request.is_disconnected():
                if time.monotonic() >= next_stats:
                    yield _event("stats", {"rooms": await _run(feed.stats)})
                    next_stats = time.monotonic() + STATS_EVERY_SECONDS
                new, gone = await _run(feed.step, WAIT_MS)
                for g in gone:
                    yield _event("gone", g)
                for item in new:
                    yield _event("item", item)
                if not new and feed.full:
                    await asyncio.sleep(WAIT_MS / 1000)  # the window is full: wait for a decision
                if not new and not gone:
                    yield ": keep-alive\n\n"
        finally:
            feed.close()  # the step still running in its thread takes nothing more (moderation/feed.py)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
