"""The queue's upkeep: its stats (depth, pending, oldest age, decisions per moderator) and
trimming, which never drops an item still pending or not yet delivered."""

from __future__ import annotations

import time

import redis

from nlp_service.moderation.queue_items import GROUP, QueueCore


class QueueUpkeep(QueueCore):
    """Stats and trimming (a mixin of ``ModerationQueue``)."""

    def _group_info(self, stream: str) -> dict | None:
        """XINFO GROUPS entry of the moderators' group, or None when there is none yet."""
        try:
            groups = self.client.xinfo_groups(stream)
        except redis.ResponseError:  # no such stream
            return None
        return next((g for g in groups if g["name"] == GROUP), None)

    def stats(self, room: str, now_ms: int | None = None) -> dict:
        """Depth (undelivered + pending), pending, oldest item age, decisions per moderator."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        stream = self.keys.mod_stream(room)
        out = {"room": room, "depth": 0, "pending": 0, "undelivered": 0, "oldest_age_seconds": None, "length": 0, "decisions": {}}
        group = self._group_info(stream)
        if group is None:
            return out
        pending = int(group["pending"])
        lag = group.get("lag")
        last = group["last-delivered-id"]
        undelivered = int(lag) if lag is not None else len(self.client.xrange(stream, "(" + last, "+"))
        oldest = None
        if pending:
            oldest = self.client.xpending(stream, GROUP)["min"]
        elif undelivered:
            nxt = self.client.xrange(stream, "(" + last, "+", count=1)
            oldest = nxt[0][0] if nxt else None
        stats = self.client.hgetall(self.keys.mod_stats(room))
        out.update(
            depth=pending + undelivered,
            pending=pending,
            undelivered=undelivered,
            oldest_age_seconds=round((now_ms - int(oldest.split("-")[0])) / 1000, 3) if oldest else None,
            length=self.client.xlen(stream),
            decisions={k.split(":", 1)[1]: int(v) for k, v in stats.items() if k.startswith("moderator:")},
            actions={k.split(":", 1)[1]: int(v) for k, v in stats.items() if k.startswith("action:")},
        )
        return out

    def trim(self, room: str) -> int:
        """Drop decided items only: everything older than both the oldest pending item and
        the first undelivered one. Returns how many entries were removed."""
        stream = self.keys.mod_stream(room)
        group = self._group_info(stream)
        if group is None:
            return 0
        bounds = []
        if int(group["pending"]):
            bounds.append(self.client.xpending(stream, GROUP)["min"])
        nxt = self.client.xrange(stream, "(" + group["last-delivered-id"], "+", count=1)
        if nxt:
            bounds.append(nxt[0][0])
        if not bounds:  # everything delivered and decided
            last = group["last-delivered-id"]
            ms, seq = (int(x) for x in last.split("-"))
            bounds.append(f"{ms}-{seq + 1}")
        minid = min(bounds, key=lambda s: tuple(int(x) for x in s.split("-")))
        return int(self.client.xtrim(stream, minid=minid, approximate=False))
