"""Deferred bookkeeping for comments that need no answer from Redis right now.

Most comments match no rule and are not flagged: for them Redis only has to record the
comment (the user's recent list for moderators, the flood counter, the room pulse). Doing
that in the request would cost every request a round trip, so it is buffered here and sent
in one pipeline by a background thread every ``interval`` seconds, or earlier on the back of
any request that does need Redis (the buffer rides in front of that request's own commands,
so counts stay in order). A comment that matched a rule or was flagged never waits here:
flagged items are queued durably in the request itself.

The room's live comment feed rides here too (:meth:`Recorder.add_feed`): every comment's
final outcome, appended after the request answered, never in its critical path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from nlp_service.core.periodic import PeriodicThread
from nlp_service.moderation import pulse
from nlp_service.moderation.pulse import PulseEvent
from nlp_service.moderation.queue import ModerationQueue, ObserveConfig, QueueEntry, observed
from nlp_service.store import roomfeed
from nlp_service.store.pipeline import execute

log = logging.getLogger(__name__)

Entries = dict[str, list[QueueEntry]]  # room → its comments, in arrival order
Events = dict[str, list[PulseEvent]]
Feed = dict[str, list[dict]]  # room → its comments' live-feed records (``store/roomfeed.py``)


class Recorder:
    def __init__(
        self, queue: ModerationQueue, cfg: ObserveConfig, on_flood: Callable[[str, str, str], None], interval: float = 0.02,
        feed: roomfeed.FeedConfig | None = None,
    ) -> None:  # fmt: skip
        self.queue = queue
        self.cfg = cfg
        self.feed_cfg = feed if feed is not None and feed.entries > 0 else None  # None: no live feed
        self._feed: Feed = {}
        self._feed_ttl = roomfeed.ExpireClock()
        self.on_flood = on_flood
        self._lock = threading.Lock()
        self._entries: Entries = {}
        self._events: Events = {}
        self._flusher = PeriodicThread("recorder", interval, self.flush)

    def add(self, room: str, entries: list[QueueEntry], events: list[PulseEvent]) -> None:
        with self._lock:
            if entries:
                self._entries.setdefault(room, []).extend(entries)
            if events:
                self._events.setdefault(room, []).extend(events)

    def add_feed(self, feed: Feed) -> None:
        """Comments' live-feed records (room → records), appended on the next flush."""
        if self.feed_cfg is None:
            return
        with self._lock:
            for room, records in feed.items():
                self._feed.setdefault(room, []).extend(records)

    def take(self) -> tuple[Entries, Events, Feed]:
        with self._lock:
            entries, events, feed = self._entries, self._events, self._feed
            self._entries, self._events, self._feed = {}, {}, {}
        return entries, events, feed

    def queue_on(self, pipe, entries: Entries, events: Events, now_ms: int, feed: Feed | None = None) -> list[tuple[str, list[QueueEntry]]]:
        """Put taken bookkeeping on ``pipe``; returns the order of its observe scripts (they
        come first on ``pipe``: the pulse and feed commands after them are not read back)."""
        order = []
        for room, items in entries.items():
            self.queue.observe_call(pipe, room, items, self.cfg, now_ms)
            order.append((room, items))
        for room, room_events in events.items():
            pulse.queue_updates(pipe, self.queue.keys, room, room_events)
        if feed and self.feed_cfg is not None:
            for room, records in feed.items():
                roomfeed.append_on(pipe, self.queue.keys, room, records, self.feed_cfg, expire=self._feed_ttl.due(room))
        return order

    def results(self, order: list[tuple[str, list[QueueEntry]]], results: list) -> None:
        """Mark flooders found by the deferred counters (their next comment is blocked)."""
        for (room, items), res in zip(order, results, strict=False):
            if isinstance(res, Exception):  # that room's counts only (see store/pipeline.execute)
                log.warning("deferred bookkeeping of room %s dropped: %s", room, res)
                continue
            for entry, (count, _queued) in zip(items, observed(res), strict=True):
                if int(count) > self.cfg.flood_max:
                    self.on_flood(room, entry.user, entry.digest)

    def flush(self, now_ms: int | None = None) -> int:
        """Send everything buffered now; returns how many comments were recorded."""
        entries, events, feed = self.take()
        if not entries and not events and not feed:
            return 0
        pipe = self.queue.client.pipeline(transaction=False)
        order = self.queue_on(pipe, entries, events, now_ms if now_ms is not None else int(time.time() * 1000), feed)
        try:
            out = execute(pipe)
        except redis.RedisError as exc:  # bookkeeping only: nothing flagged is in here
            log.warning("deferred bookkeeping dropped (%d rooms): %s", len(entries), exc)
            return 0
        self.results(order, out[: len(order)])
        return sum(len(v) for v in entries.values())

    def start(self) -> None:
        self._flusher.start()

    def stop(self) -> None:
        self._flusher.stop()
        try:
            self.flush()
        except Exception:  # shutting down: best effort
            log.exception("final flush failed")
