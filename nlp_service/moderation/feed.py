"""What one moderator's live connection hands out: the queue as a stream of events.

The console (and any client) keeps one Server-Sent Events connection per moderator. The
connection never invents a second queue: every item it sends was taken with the same
``XREADGROUP``/``XAUTOCLAIM`` calls as ``POST /v1/moderation/pull``
(:meth:`ModerationQueue.pull`), so two moderators never get the same item and an item a
moderator sits on past the claim time goes to whoever pulls next.

Flow control is the moderator's hand: the feed holds at most ``window`` undecided items for
its moderator and pulls more only as decisions free a place, so one open browser tab does
not drain the room away from the other moderators.

A connection that closes stops taking: its step in flight takes nothing more, and an item it
took in the instant the connection closed goes straight back to the queue
(:meth:`ModeratorFeed.close`), so an item never waits out the claim time in the hands of a
moderator who has left.

Resuming loses nothing because the state lives in Redis, not in the connection: a new
connection first sends again every item the moderator still holds (the consumer's pending
entries), then goes on. An item that left the moderator's hands (decided, here or elsewhere,
or reclaimed by another moderator after the claim time) is reported as ``gone`` with why.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from nlp_service.core.config import Settings
from nlp_service.moderation import shift
from nlp_service.moderation.queue import ModerationQueue, QueueItem, parse_item_id

URGENT_AT_ONCE = 5  # alerts pulled in one round while the window is full


def is_urgent(item_id: str) -> bool:
    return parse_item_id(item_id)[2]


def enrich(queue: ModerationQueue, item: dict) -> dict:
    """An item as a moderator sees it: with the user's recent comments in the room (this
    comment left out) and the suggested standard answer (标准话术)."""
    comment = item.get("comment", {})
    user = comment.get("user", "")
    recent = queue.recent_comments(item["room"], user) if user else []
    return {
        **item,
        "recent_comments": [c for c in recent if c.get("id") != comment.get("id")],
        "suggested_reply": item.get("moderation", {}).get("suggested_reply"),
    }


def pulled(queue: ModerationQueue, item: QueueItem, claim_ms: int) -> dict:
    """A freshly pulled item, enriched, with when it goes back to the queue."""
    return {**enrich(queue, item.to_dict()), "held_seconds": 0.0, "returns_in_seconds": claim_ms / 1000}


@dataclass
class ModeratorFeed:
    """The events of one connection (see the module docstring). Not thread-safe: one
    connection drives it, one step at a time."""

    queue: ModerationQueue
    rooms: list[str]
    moderator: str
    claim_ms: int
    window: int = 3
    sent: set[str] = field(default_factory=set)
    settings: Settings | None = None  # set: the stats carry the current shift's decisions
    closed: threading.Event = field(default_factory=threading.Event)  # the connection is gone

    def close(self) -> None:
        """The connection is gone: a step still running (in its thread) takes nothing more."""
        self.closed.set()

    def resume(self) -> list[dict]:
        """Every item this moderator holds now (oldest first): sent again on a new connection."""
        held = self.queue.held_by(self.rooms, self.moderator, self.claim_ms)
        self.sent = {i["item_id"] for i in held}
        return [enrich(self.queue, i) for i in held]

    def step(self, wait_ms: int) -> tuple[list[dict], list[dict]]:
        """One round: (new items, gone items). Sends what the moderator holds and this
        connection has not shown yet, then pulls up to the free places of the window,
        waiting at most ``wait_ms`` for one; reports the items sent earlier that this
        moderator no longer holds, each with ``why``: ``decided`` (with the decision) or
        ``returned`` (held past the claim time and taken by another moderator)."""
        mine = self.queue.held_by(self.rooms, self.moderator, self.claim_ms)
        held = {i["item_id"] for i in mine}
        gone = [self._why_gone(item_id) for item_id in sorted(self.sent - held)]
        self.sent &= held
        # Items this moderator holds that this connection never sent: pulled by another of
        # their connections (a second tab, /pull, or the last step of a connection that had
        # already dropped when its pull returned). They are theirs to decide: show them here.
        new = [enrich(self.queue, i) for i in mine if i["item_id"] not in self.sent]
        self.sent |= {i["item_id"] for i in new}
        # An item this moderator sat on past the claim time belongs to whoever pulls next,
        # but XAUTOCLAIM would hand it straight back to this same feed (an open tab nobody
        # watches would keep its items for ever): while one of ours is overdue, no reclaiming.
        reclaim = not any(i["returns_in_seconds"] <= 0 for i in mine)
        # alerts (mood_spike, the urgent stream) take no place in the window: a moderator with
        # a full hand still sees a spike at once
        free = self.window - sum(1 for i in held if not is_urgent(i))
        if free > 0:
            got = self.queue.pull(self.rooms, self.moderator, free, wait_ms, self.claim_ms, reclaim=reclaim, stop=self.closed)
        else:
            got = self.queue.pull(self.rooms, self.moderator, URGENT_AT_ONCE, 0, self.claim_ms, urgent_only=True, reclaim=reclaim, stop=self.closed)
        if got and self.closed.is_set():  # taken as the connection closed: nobody will see them here
            self.queue.hand_back(got, self.moderator, self.claim_ms)
            return [], gone
        for item in got:
            # an item of ours reclaimed by ourselves is already on screen: send it again
            # anyway, its delivery count and return time are new
            self.sent.add(item.item_id)
        return new + [pulled(self.queue, item, self.claim_ms) for item in got], gone

    @property
    def full(self) -> bool:
        """True when the moderator holds ``window`` comments (alerts not counted)."""
        return sum(1 for i in self.sent if not is_urgent(i)) >= self.window

    def _why_gone(self, item_id: str) -> dict:
        decision = self.queue.decision_of(item_id)
        if decision is not None:
            return {"item_id": item_id, "why": "decided", "decision": decision}
        return {"item_id": item_id, "why": "returned"}

    def stats(self, now_ms: int | None = None) -> list[dict]:
        """Each room's queue stats (with the shift's decisions per moderator when ``settings`` is set)."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        if self.settings is None:
            return [self.queue.stats(room, now_ms) for room in self.rooms]
        return [shift.room_stats(self.queue, self.settings, room, now_ms) for room in self.rooms]
