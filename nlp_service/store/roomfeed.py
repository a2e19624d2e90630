"""The room's live comment feed: every comment with its labels and the reply it got (or why
none), in one capped Redis stream per room (``Keys.room_feed``), for the console's live room.

Cost on the reply path: nothing in the request. The engine hands each batch's outcomes to
the recorder (``moderation/recorder.py``) once they are final, and the recorder appends them
in its own pipeline: the next request's round trip, or its background flush every 20 ms. So
a comment shows in the feed a few milliseconds after its answer left, and the appends are
one ``XADD`` per comment (approximate ``MAXLEN``, the cheap trim) plus one ``EXPIRE`` per
room and flush, riding a pipeline that is sent anyway. ``bench/bench_engine.py --feed``
measures it side by side (README "The console").

An entry is one field ``c`` (JSON, see :func:`record`): one field keeps the encoding cost
and the stream's memory per entry low. Stream ids are the resume points, as on the action
feed: a reader that reconnects with the last id it showed gets everything after it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from nlp_service.store.actions import read_after
from nlp_service.store.redis import Keys


@dataclass(frozen=True)
class FeedConfig:
    entries: int  # MAXLEN (approximate); 0: no feed
    ttl_seconds: int  # the stream expires this long after its last append


def append_on(pipe, keys: Keys, room: str, records: list[dict], cfg: FeedConfig) -> None:
    """Queue the appends of one room's records on ``pipe`` (their results are not read)."""
    stream = keys.room_feed(room)
    for rec in records:
        pipe.xadd(stream, {"c": json.dumps(rec, ensure_ascii=False, separators=(",", ":"))}, maxlen=cfg.entries, approximate=True)
    pipe.expire(stream, cfg.ttl_seconds)


def _parse(entries) -> list[dict]:
    return [{"feed_id": sid, **json.loads(f["c"])} for sid, f in entries]


def read(client: redis.Redis, keys: Keys, room: str, after: str = "0", count: int = 100, wait_ms: int = 0) -> list[dict]:
    """Comments after stream id ``after`` (oldest first), each with its ``feed_id``; waits
    up to ``wait_ms`` for the first one when there is none yet (long-poll)."""
    return _parse(read_after(client, keys.room_feed(room), after, count, wait_ms))


def latest(client: redis.Redis, keys: Keys, room: str, count: int) -> list[dict]:
    """The room's last ``count`` comments, oldest first (what a new viewer sees first)."""
    return _parse(reversed(client.xrevrange(keys.room_feed(room), count=count)))


def last_id(client: redis.Redis, keys: Keys, room: str) -> str:
    """The id of the newest comment in the feed, ``0`` when there is none."""
    newest = client.xrevrange(keys.room_feed(room), count=1)
    return newest[0][0] if newest else "0"
