"""Decisions per moderator for the shift: the counts the moderators' console shows beside the
all-time ones (``queue.stats``'s ``decisions``).

A shift is a fixed stretch of the day, not a sign-in: shifts start at ``SHIFT_START``
(``HH:MM`` in ``SHIFT_TIMEZONE``) and follow each other every ``SHIFT_SECONDS`` (default
08:00 and 20:00 in Asia/Shanghai). A sign-in would be a per-tab fact (a moderator with two
tabs, or one who reconnects, would restart their count) and would not let a lead see the
whole team's shift on one table; a clock-based shift gives every instance and every tab the
same answer without any state of its own. A zone with daylight saving moves the shift by the
offset change on that day (Asia/Shanghai has none).

Each applied decision adds one to the room's HASH for the current shift
(``Keys.shift_decisions``: moderator → count), which expires two shifts after its last
decision: the previous shift's table stays readable for a hand-over, then goes.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import redis

from nlp_service.core.config import Settings
from nlp_service.moderation.queue import ModerationQueue
from nlp_service.store.redis import Keys

_ANCHOR_DAY = (2020, 1, 1)  # any day: shifts are counted from its SHIFT_START


def shift_start(settings: Settings, now_ms: int) -> int:
    """The start (epoch ms) of the shift that holds ``now_ms``."""
    hh, mm = (int(x) for x in settings.shift_start.split(":"))
    anchor = int(datetime(*_ANCHOR_DAY, hh, mm, tzinfo=ZoneInfo(settings.shift_timezone)).timestamp() * 1000)
    length = settings.shift_seconds * 1000
    return anchor + (now_ms - anchor) // length * length


def count(client: redis.Redis, keys: Keys, settings: Settings, room: str, moderator: str, now_ms: int) -> None:
    """One applied decision of ``moderator`` in ``room`` (one round trip)."""
    key = keys.shift_decisions(room, shift_start(settings, now_ms))
    pipe = client.pipeline(transaction=False)
    pipe.hincrby(key, moderator, 1)
    pipe.expire(key, 2 * settings.shift_seconds)
    pipe.execute()


def decisions(client: redis.Redis, keys: Keys, settings: Settings, room: str, now_ms: int) -> dict:
    """The current shift of ``room``: its start and end (epoch ms) and decisions per moderator."""
    start = shift_start(settings, now_ms)
    counts = client.hgetall(keys.shift_decisions(room, start))
    return {"start": start, "end": start + settings.shift_seconds * 1000, "decisions": {m: int(n) for m, n in counts.items()}}


def room_stats(queue: ModerationQueue, settings: Settings, room: str, now_ms: int) -> dict:
    """``queue.stats`` of the room with its current ``shift`` (:func:`decisions`)."""
    return {**queue.stats(room, now_ms), "shift": decisions(queue.client, queue.keys, settings, room, now_ms)}
