"""A local append-only spool for flagged comments while Redis cannot be reached.

Entries are appended as JSON lines and fsynced (a flagged comment is never only in
memory). When Redis answers again, the state-poll thread renames the file aside (new
comments go to a fresh file) and replays it through the same enqueue script, whose
per-comment-id marker makes the replay exactly-once even if it is interrupted and run again.
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from pathlib import Path

from nlp_service.moderation.queue import ModerationQueue, ObserveConfig, QueueEntry, observed
from nlp_service.store.pipeline import execute


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.replaying = path.with_suffix(path.suffix + ".replaying")
        self._lock = threading.Lock()

    def append(self, entries: list[dict]) -> None:
        """Durably append entries: {room, comment_id, user, record, moderation}."""
        if not entries:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                for e in entries:
                    fh.write(json.dumps(e, ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def pending(self) -> bool:
        return self.replaying.exists() or (self.path.exists() and self.path.stat().st_size > 0)

    def replay(self, queue: ModerationQueue, cfg: ObserveConfig, now_ms: int) -> int:
        """Move spooled entries into the streams; returns how many were newly queued.
        Raises ``redis.RedisError`` when Redis is still away (the spool is kept)."""
        with self._lock:
            if not self.replaying.exists():
                if not self.path.exists():
                    return 0
                self.path.replace(self.replaying)  # appends now go to a fresh file
        by_room: dict[str, list[QueueEntry]] = defaultdict(list)
        for line in self.replaying.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line from a crash mid-write
            by_room[e["room"]].append(QueueEntry(e["comment_id"], e["user"], e["record"], e["moderation"], observe=False))
        pipe = queue.client.pipeline(transaction=False)
        for room, entries in by_room.items():
            queue.observe_call(pipe, room, entries, cfg, now_ms)
        results = execute(pipe) if by_room else []  # a RedisError leaves the spool for the next try
        self.replaying.unlink(missing_ok=True)
        return sum(queued for res in results for _count, queued in observed(res))
