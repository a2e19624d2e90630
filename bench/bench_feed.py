"""Redis commands an idle moderator costs: a waiting pull that polls against one that blocks.

    REDIS_URL=redis://127.0.0.1:6379/<scratch db> python bench/bench_feed.py [--rooms 3] [--seconds 2]

A moderator's live feed (``GET /v1/moderation/stream``) spends its idle time in
``ModerationQueue.pull(wait_ms=...)``. This counts the Redis commands one idle pull sends
while it waits ``--seconds`` on ``--rooms`` rooms with nothing to hand out, side by side in
one run: the queue's pull (one round of XREADGROUP, then XREAD BLOCK until something is
appended) and the loop it replaced (the same round every 50 ms), kept here as the
reference. Commands are counted on the client (a pipeline counts each command in it), so
other users of the server do not disturb the figures. The database is flushed.
"""

from __future__ import annotations

import argparse
import os
import time

import redis
from redis.client import Pipeline

from nlp_service.moderation.queue import ModerationQueue
from nlp_service.store.redis import Keys

SENT = {"n": 0}


def _count(cls):
    original = cls.execute_command

    def counting(self, *args, **kwargs):
        SENT["n"] += 1
        return original(self, *args, **kwargs)

    cls.execute_command = counting


def polling_pull(queue: ModerationQueue, rooms: list[str], moderator: str, count: int, wait_ms: int) -> list:
    """The pull loop before the blocking wait: a round over every stream every 50 ms."""
    items: list = []
    deadline = time.monotonic() + wait_ms / 1000
    while True:
        for urgent in (True, False):
            for room in rooms:
                if len(items) < count:
                    items += queue._read_new(room, urgent, moderator, count - len(items))
        if items or time.monotonic() >= deadline:
            return items
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if not url:
        raise SystemExit("set REDIS_URL to a scratch database (it is flushed)")
    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushdb()
    keys = Keys("bench")
    queue = ModerationQueue(client, keys)
    rooms = [f"room{i}" for i in range(args.rooms)]
    for room in rooms:  # rooms with a queue and nothing in it
        client.xgroup_create(keys.mod_stream(room), "moderators", id="0", mkstream=True)
    _count(redis.Redis)
    _count(Pipeline)
    wait_ms = int(args.seconds * 1000)
    figures = {}
    for name, pull in (("polling every 50 ms", lambda: polling_pull(queue, rooms, "alice", 3, wait_ms)),
                       ("XREAD BLOCK (now)", lambda: queue.pull(rooms, "alice", 3, wait_ms, 60_000, reclaim=False))):  # fmt: skip
        SENT["n"] = 0
        start = time.monotonic()
        assert pull() == []
        figures[name] = (SENT["n"], time.monotonic() - start)
    client.flushdb()
    print(f"idle pull on {args.rooms} rooms for {args.seconds:g} s (python bench/bench_feed.py --rooms {args.rooms} --seconds {args.seconds:g})")
    for name, (n, took) in figures.items():
        print(f"  {name:22} {n:5d} Redis commands ({n / took:7.1f}/s)")
    old, new = figures["polling every 50 ms"][0], figures["XREAD BLOCK (now)"][0]
    print(f"  ratio: {old / new:.0f}x fewer commands")


if __name__ == "__main__":
    main()
