"""The moderators' side of the queue: pull (urgent items first, then items another moderator
dropped, then new ones), the items a moderator holds, and a user's recent comments.

``XAUTOCLAIM`` hands over items pulled but not decided within ``moderation_claim_seconds``;
``XREADGROUP >`` gives new items, each to one moderator only. An item decided before anyone
pulled it is acknowledged and skipped instead of handed out (:meth:`QueuePull._undecided`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import redis

from nlp_service.moderation.queue_items import GROUP, QueueCore, QueueItem, parse_item_id


class QueuePull(QueueCore):
    """Pulling and holding items (a mixin of ``ModerationQueue``)."""

    def pull(
        self, rooms: list[str], moderator: str, count: int, wait_ms: int, claim_ms: int, urgent_only: bool = False, reclaim: bool = True,
        stop: threading.Event | None = None,
    ) -> list[QueueItem]:
        """Up to ``count`` items for ``moderator``: urgent items (mood_spike) first, then
        items another moderator dropped, then new ones (``urgent_only``: the urgent ones
        alone; ``reclaim=False``: no dropped items, see ``moderation/feed.py``). Once ``stop``
        is set (the moderator's connection is gone) nothing more is taken: a wait that wakes
        for a new item leaves it to whoever is still connected."""
        items: list[QueueItem] = []
        deadline = time.monotonic() + wait_ms / 1000
        kinds = (True,) if urgent_only else (True, False)
        for urgent in kinds if reclaim else ():
            for room in rooms:
                if len(items) < count:
                    items += self._reclaim(room, urgent, moderator, count - len(items), claim_ms)
        streams = [self._stream(room, urgent) for urgent in kinds for room in rooms]
        while True:
            if stop is not None and stop.is_set():
                return items
            marks = self._last_ids(streams) if wait_ms else {}  # taken before the round: see below
            for urgent in kinds:
                for room in rooms:
                    if len(items) < count:
                        items += self._read_new(room, urgent, moderator, count - len(items))
            left_ms = int((deadline - time.monotonic()) * 1000)
            if items or left_ms <= 0 or not marks:
                return items
            # Wait without polling: XREAD BLOCK (no group, consumes nothing) wakes on the first
            # entry appended to any of the streams after the marks, including one appended
            # during the round above, and works on a stream that does not exist yet. Then
            # the round runs again (another moderator may have taken that entry).
            if not self.client.xread(marks, count=1, block=left_ms):
                return items  # the wait ran out with nothing appended

    def hand_back(self, items: list[QueueItem], moderator: str, claim_ms: int) -> None:
        """Return ``items`` (pulled by ``moderator``, never shown: their connection closed
        while the pull ran) to the queue at once: marked idle for ``claim_ms``, the next pull
        of any moderator reclaims them (``XCLAIM … IDLE``; JUSTID leaves the delivery count)."""
        by_stream: dict[str, list[str]] = defaultdict(list)
        for item in items:
            room, sid, urgent = parse_item_id(item.item_id)
            by_stream[self._stream(room, urgent)].append(sid)
        for stream, sids in by_stream.items():
            self.client.xclaim(stream, GROUP, moderator, 0, sids, idle=claim_ms, justid=True)

    def _last_ids(self, streams: list[str]) -> dict[str, str]:
        pipe = self.client.pipeline(transaction=False)
        for stream in streams:
            pipe.xrevrange(stream, count=1)
        return {stream: (last[0][0] if last else "0-0") for stream, last in zip(streams, pipe.execute(), strict=True)}

    def _read_new(self, room: str, urgent: bool, moderator: str, count: int) -> list[QueueItem]:
        try:
            resp = self.client.xreadgroup(GROUP, moderator, {self._stream(room, urgent): ">"}, count=count)
        except redis.ResponseError as exc:
            if "NOGROUP" in str(exc):
                return []
            raise
        return self._undecided(room, urgent, [(sid, fields) for _stream, entries in resp or [] for sid, fields in entries], moderator)

    def _reclaim(self, room: str, urgent: bool, moderator: str, count: int, claim_ms: int) -> list[QueueItem]:
        try:
            resp = self.client.xautoclaim(self._stream(room, urgent), GROUP, moderator, min_idle_time=claim_ms, start_id="0-0", count=count)
        except redis.ResponseError as exc:
            if "NOGROUP" in str(exc):
                return []
            raise
        entries = [(sid, fields) for sid, fields in (resp[1] if resp else []) if fields]
        return self._undecided(room, urgent, entries, moderator)

    def _undecided(self, room: str, urgent: bool, entries: list[tuple[str, dict]], moderator: str) -> list[QueueItem]:
        """Items of ``entries`` (just delivered to ``moderator``) with their real delivery
        counts; items someone decided before they were pulled are acknowledged and dropped."""
        if not entries:
            return []
        stream = self._stream(room, urgent)
        prefix = "u" if urgent else ""
        decided = self.client.mget([self.keys.mod_decided(room, prefix + sid) for sid, _ in entries])
        done = [sid for (sid, _), d in zip(entries, decided, strict=True) if d is not None]
        if done:
            self.client.xack(stream, GROUP, *done)
        fresh = [(sid, fields) for (sid, fields), d in zip(entries, decided, strict=True) if d is None]
        if not fresh:
            return []
        pending = self.client.xpending_range(stream, GROUP, min=fresh[0][0], max=fresh[-1][0], count=len(fresh) * 4 + 16, consumername=moderator)
        deliveries = {p["message_id"]: int(p["times_delivered"]) for p in pending}
        return self._grouped(room, urgent, [(sid, self._item(room, sid, fields, urgent, deliveries.get(sid, 1))) for sid, fields in fresh])


    def recent_comments(self, room: str, user: str, limit: int = 10) -> list[dict]:
        return [json.loads(x) for x in self.client.lrange(self.keys.recent(room, user), 0, limit - 1)]
    def held_by(self, rooms: list[str], moderator: str, claim_ms: int, now_ms: int | None = None) -> list[dict]:
        """The items ``moderator`` holds (pulled, not decided): age, idle time and when each
        goes back to the queue (``claim_ms`` after its last delivery)."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        out = []
        for room in rooms:
            for urgent in (True, False):
                stream = self._stream(room, urgent)
                try:
                    pending = self.client.xpending_range(stream, GROUP, min="-", max="+", count=1000, consumername=moderator)
                except redis.ResponseError:  # no stream or no group yet
                    continue
                found, idle_ms = [], {}
                for p in pending:
                    sid = p["message_id"]
                    entry = self.client.xrange(stream, sid, sid)
                    if entry:
                        found.append((sid, self._item(room, sid, entry[0][1], urgent, int(p["times_delivered"]))))
                        idle_ms[sid] = int(p["time_since_delivered"])
                for (sid, _), item in zip(found, self._grouped(room, urgent, found), strict=True):
                    idle = idle_ms[sid]
                    out.append({
                        **item.to_dict(),
                        "age_seconds": round((now_ms - int(sid.split("-")[0])) / 1000, 3),
                        "held_seconds": round(idle / 1000, 3),
                        "returns_in_seconds": round(max(0, claim_ms - idle) / 1000, 3),
                    })  # fmt: skip
        return sorted(out, key=lambda i: i["age_seconds"], reverse=True)

