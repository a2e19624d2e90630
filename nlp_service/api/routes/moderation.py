"""The moderators' queue (role moderator) and the word lists (role admin)."""

from __future__ import annotations

import time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Response

from nlp_service.api.auth import require_rooms
from nlp_service.api.deps import AdminKey, AnyKey, ModeratorKey, RoomPath, ScopePath, ServicesDep
from nlp_service.api.schemas import (
    BanIn,
    DecisionIn,
    ModerateIn,
    ModerateOut,
    PullIn,
    PullOut,
    TermsIn,
    documented,
)
from nlp_service.core.errors import InvalidTimeZoneError
from nlp_service.moderation import bans, lists, pulse, shift
from nlp_service.moderation.detect import moderate
from nlp_service.moderation.feed import enrich
from nlp_service.moderation.queue import parse_item_id
from nlp_service.store.version import bump_version

router = APIRouter(prefix="/v1/moderation", tags=["moderation"])
rooms_router = APIRouter(prefix="/v1/rooms", tags=["moderation"])
any_router = APIRouter(prefix="/v1", tags=["moderation"])


@router.post("/pull", **documented(PullOut))
def pull(body: PullIn, key: ModeratorKey, services: ServicesDep) -> dict:
    """Items for this moderator (each given to one moderator only), with why they were
    flagged, the user's recent comments and a suggested standard answer."""
    queue = services.engine.queue
    if body.rooms:
        require_rooms(key, body.rooms)
        rooms = body.rooms
    else:
        rooms = [r for r in queue.rooms() if key.allows_room(r)]
    items = queue.pull(rooms, key.name, body.count, body.wait_ms, int(services.settings.moderation_claim_seconds * 1000))
    return {"items": [enrich(queue, item.to_dict()) for item in items]}


@router.post("/items/{item_id}/decision")
def decide(item_id: str, body: DecisionIn, key: ModeratorKey, services: ServicesDep) -> dict:
    """approve | delete | ban (with ban_seconds) | reply (with reply_text); idempotent."""
    room, _, _ = parse_item_id(item_id)
    require_rooms(key, [room])
    decision, applied = services.engine.queue.decide(item_id, key.name, body.action, body.reason, body.ban_seconds, body.reply_text)
    if applied:  # the shift's count (a repeated decision is not a new one)
        shift.count(services.client, services.keys, services.settings, room, key.name, int(time.time() * 1000))
    if applied and body.action == "ban":
        bump_version(services.client, services.keys)  # every instance reloads the room's bans
    return {"decision": decision, "applied_now": applied}


@router.get("/stats")
def stats(key: ModeratorKey, services: ServicesDep, room: str | None = None) -> dict:
    """Queue depth, pending, oldest item age and decisions per moderator (all time, and in
    the current ``shift``), per room."""
    queue = services.engine.queue
    rooms = [room] if room else [r for r in queue.rooms() if key.allows_room(r)]
    require_rooms(key, rooms)
    now_ms = int(time.time() * 1000)
    return {"rooms": [shift.room_stats(queue, services.settings, r, now_ms) for r in rooms]}


@router.get("/mine")
def mine(key: ModeratorKey, services: ServicesDep) -> dict:
    """The items the calling moderator holds (pulled, not decided), oldest first, with their
    age and when each goes back to the queue."""
    queue = services.engine.queue
    rooms = [r for r in queue.rooms() if key.allows_room(r)]
    claim_ms = int(services.settings.moderation_claim_seconds * 1000)
    return {"moderator": key.name, "items": queue.held_by(rooms, key.name, claim_ms)}


@router.post("/lists/{scope}/{category}")
def change_list(scope: ScopePath, category: str, body: TermsIn, _: AdminKey, services: ServicesDep) -> dict:
    """Add or remove terms of a word list (or the allow list) for a room or ``global``."""
    return lists.change_terms(services.client, services.keys, scope, category, body.add, body.remove)


@router.get("/lists/{scope}/{category}")
def show_list(
    scope: ScopePath, category: str, _: AdminKey, services: ServicesDep,
    q: Annotated[str, Query(max_length=50, description="only terms containing this")] = "",
    limit: Annotated[int, Query(ge=1, le=200_000)] = 500,
) -> dict:  # fmt: skip
    """The terms in force for a room or ``global`` (base list with the global and room
    changes applied), and this scope's own additions and removals."""
    return lists.view_terms(services.client, services.keys, services.settings.data_dir, scope, category, q, limit)


@rooms_router.get("/{room}/pulse")
def room_pulse(
    room: RoomPath, key: ModeratorKey, services: ServicesDep,
    minutes: Annotated[int, Query(ge=1, le=720, description="how many of the room's latest minutes with comments")] = 30,
    tz: Annotated[str, Query(description="IANA time zone of the minute times", max_length=64)] = "Asia/Shanghai",
) -> dict:  # fmt: skip
    """The room's mood per minute (shares, counts, top intents, negative words, ISO 8601
    times in ``tz``), the alerts raised, and the top negative words of its last five minutes."""
    require_rooms(key, [room])
    return pulse.dashboard(services.client, services.keys, room, minutes, _zone(tz))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidTimeZoneError(f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai") from exc


@rooms_router.post("/{room}/bans", status_code=201)
def ban(room: RoomPath, body: BanIn, key: AdminKey, services: ServicesDep) -> dict:
    """Ban a user in a room for ``seconds`` (their comments are then blocked without analysis;
    the room's action feed tells the bot)."""
    until = bans.ban(services.client, services.keys, room, body.user, body.seconds, by=key.name)
    return {"room": room, "user": body.user, "until": until}


@rooms_router.get("/{room}/bans")
def list_bans(room: RoomPath, _: AdminKey, services: ServicesDep) -> dict:
    return {"room": room, "bans": bans.active(services.client, services.keys, room)}


@rooms_router.delete("/{room}/bans/{user}", status_code=204)
def unban(room: RoomPath, user: str, _: AdminKey, services: ServicesDep) -> Response:
    bans.unban(services.client, services.keys, room, user)
    return Response(status_code=204)


@any_router.post("/moderate", **documented(ModerateOut))
def moderate_text(body: ModerateIn, key: AnyKey, services: ServicesDep) -> dict:
    """The moderation result alone (any role, with that room's lists: the key must cover the
    room; ``global``, the base lists, is open to every key); nothing is queued or counted."""
    if body.room != "global":
        require_rooms(key, [body.room])
    snap = services.state.room(body.room)
    analysis = services.analyzer.analyze(body.text)
    result = moderate(analysis, snap.lexicon, services.engine.standard_answers, classifier=services.engine.moderation_model)
    return {"room": body.room, **result.to_dict(full=True)}
