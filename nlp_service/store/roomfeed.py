"""The room's live comment feed: every comment with its labels and the reply it got (or why
none), in one capped Redis stream per room (``Keys.room_feed``), for the console's live room.

Cost on the reply path: nothing in the request. The engine hands each batch's outcomes to
the recorder (``moderation/recorder.py``) once they are final, and the recorder appends them
in its own pipeline: the next request's round trip, or its background flush every 20 ms. So
a comment shows in the feed a few milliseconds after its answer left, and the appends are
one ``XADD`` per room and flush (approximate ``MAXLEN``, the cheap trim) plus one ``EXPIRE``,
riding a pipeline that is sent anyway. An entry holds every comment of the room that flush
took, as one JSON list in field ``c`` (records: ``live/types.Outcome.feed_record``): one
``XADD`` per comment cost the engine 17 % more CPU per comment in ``bench/bench_engine.py
--feed``, most of it redis-py packing a command; one per flush costs one JSON encoding, by
pydantic-core's ``to_json`` (:func:`records_json`: ~3x faster than ``json.dumps`` on a batch's
records, ~2 µs a record, and the same text, tested).

Stream ids are the resume points, as on the action feed: a reader that reconnects with the
last entry id it showed gets everything after it. ``ROOM_FEED_ENTRIES`` caps the entries
(flushes), so the comments kept are about that many times the room's comments per flush.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import redis
from pydantic_core import PydanticSerializationError, to_json
from redis.exceptions import DataError

from nlp_service.store.actions import read_after
from nlp_service.store.pipeline import queue
from nlp_service.store.redis import Keys


@dataclass(frozen=True)
class FeedConfig:
    entries: int  # MAXLEN (approximate); 0: no feed
    ttl_seconds: int  # the stream expires this long after its last append

    def __post_init__(self) -> None:
        # what redis-py's xadd checks of maxlen at every call, checked once here (append_on
        # queues XADD's arguments itself)
        if not isinstance(self.entries, int) or self.entries < 0:
            raise DataError("XADD maxlen must be non-negative integer")


EXPIRE_EVERY_SECONDS = 60.0  # one EXPIRE per room this often: it cost as much as the XADD


def append_on(pipe, keys: Keys, room: str, records: list[dict], cfg: FeedConfig, expire: bool = True) -> None:
    """Queue one entry of the room's records on ``pipe`` (its results are not read), and
    (``expire``) renew the stream's TTL."""
    stream = keys.room_feed(room)
    # pipe.xadd(stream, {"c": ...}, maxlen=cfg.entries, approximate=True)'s arguments, queued
    # without redis-py's per-method layers (store/pipeline.queue); cfg.entries checked by FeedConfig
    queue(pipe, "XADD", stream, b"MAXLEN", b"~", str(cfg.entries), "*", "c", records_json(records))
    if expire:
        queue(pipe, "EXPIRE", stream, cfg.ttl_seconds)


def records_json(records: list[dict]) -> str:
    """``json.dumps(records, ensure_ascii=False, separators=(",", ":"))``, encoded by
    pydantic-core (the same text for the records' strings, ints, None and lists: tested on
    random ones); what it refuses (a lone surrogate) is left to ``json.dumps``, as before."""
    try:
        return to_json(records).decode()
    except PydanticSerializationError:
        return json.dumps(records, ensure_ascii=False, separators=(",", ":"))


class ExpireClock:
    """Which rooms' feeds need their TTL renewed now: each at most every
    ``EXPIRE_EVERY_SECONDS`` (so a feed expires up to that much before ``ttl_seconds`` after
    its last comment). Per process; a race between two flushes only sends one more EXPIRE."""

    def __init__(self, every_seconds: float = EXPIRE_EVERY_SECONDS, clock=time.monotonic) -> None:
        self.every = every_seconds
        self.clock = clock
        self._last: dict[str, float] = {}

    def due(self, room: str) -> bool:
        now = self.clock()
        if now - self._last.get(room, -1e18) < self.every:
            return False
        if len(self._last) > 100_000:  # rooms come and go: forget them all rather than grow
            self._last.clear()
        self._last[room] = now
        return True


def _parse(entries) -> list[dict]:
    """Every comment of the entries, oldest first, each with its entry's id (``feed_id``)."""
    return [{"feed_id": sid, **rec} for sid, f in entries for rec in json.loads(f["c"])]


def read(client: redis.Redis, keys: Keys, room: str, after: str = "0", count: int = 100, wait_ms: int = 0) -> list[dict]:
    """The comments of up to ``count`` entries after entry id ``after`` (oldest first), each
    with its ``feed_id``; waits up to ``wait_ms`` for the first entry (long-poll). A reader
    resumes after the last ``feed_id`` it got: entries are read whole."""
    return _parse(read_after(client, keys.room_feed(room), after, count, wait_ms))


def latest(client: redis.Redis, keys: Keys, room: str, count: int) -> list[dict]:
    """The room's last ``count`` comments (from its last ``count`` entries), oldest first:
    what a new viewer sees first. The newest entry is whole, so resuming after it is exact."""
    return _parse(reversed(client.xrevrange(keys.room_feed(room), count=count)))[-count:]


def last_id(client: redis.Redis, keys: Keys, room: str) -> str:
    """The id of the newest comment in the feed, ``0`` when there is none."""
    newest = client.xrevrange(keys.room_feed(room), count=1)
    return newest[0][0] if newest else "0"
