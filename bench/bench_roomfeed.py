"""What the room's live comment feed costs, per comment, beside what the engine spends on it.

    REDIS_URL=redis://127.0.0.1:6379/6 python bench/bench_roomfeed.py [--rounds 5]

The recorded sample room (2,999 comments, the seed rules) goes through one engine in batches
of 100 with the feed off (``ROOM_FEED_ENTRIES=0``): that is the engine's CPU per comment. Then
the same outcomes are put to the feed the way the engine and the recorder do it: the request
thread's part (``Outcome.feed_record`` and ``Recorder.add_feed``), and the flush's part
(``store/roomfeed.append_on``: one ``XADD`` per room and flush, an ``EXPIRE`` per room and
minute, riding a
pipeline that is sent anyway: measured 100 flushes to a pipeline) for flushes of 1, 20 and
100 comments; best of the rounds, CPU time
of this process and wall time. The ratio to the engine's CPU is the figure to read: the
engine-level ``bench_engine.py --feed`` compares whole runs, and on a shared 2-core machine
its run-to-run noise (±30 %) is larger than the feed.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIABLES = {"lottery_time": "8点整", "coupon_code": "LIVE20", "current_link": "3", "courier": "顺丰", "price": "99元"}


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from nlp_service.core.config import Settings
    from nlp_service.live.services import Services
    from nlp_service.live.types import Comment
    from nlp_service.replies import store
    from nlp_service.store import roomfeed
    from nlp_service.store.redis import connect, execute

    prefix = "bf" + secrets.token_hex(4)
    settings = Settings(key_prefix=prefix, var_dir=Path(tempfile.mkdtemp(prefix="bench-roomfeed-")), admin_key="bench-roomfeed-admin-key-01", room_feed_entries=0)
    client = connect(settings)
    svc = Services.start(settings, client, poll=False)
    rows = [json.loads(line) for line in (ROOT / "data/replay/sample_room.jsonl").open(encoding="utf-8")]
    best: dict[str, tuple[float, float]] = {}

    def keep(name: str, cpu: float, wall: float, n: int) -> None:
        per = (cpu / n * 1e6, wall / n * 1e6)
        best[name] = min(best.get(name, per), per)

    try:
        store.set_variables(client, svc.keys, "global", VARIABLES)
        svc.state.refresh()
        cfg = roomfeed.FeedConfig(entries=500, ttl_seconds=3600)
        for r in range(args.rounds + 1):  # round 0 warms the caches
            room = f"room-{r}"
            comments = [Comment(f"{room}-{x['id']}", room, x["user"], x.get("nickname", ""), x["text"], x["ts"]) for x in rows]
            outcomes = []

            def engine(comments=comments, outcomes=outcomes) -> None:
                for i in range(0, len(comments), 100):
                    part = comments[i : i + 100]
                    outcomes.extend(svc.engine.handle(part, now_ms=part[-1].ts))

            cpu, wall = timed(engine)
            if r:
                keep("engine, batch 100 (feed off)", cpu, wall, len(comments))
            rec = svc.engine.recorder
            rec.feed_cfg = cfg  # the request thread's part, as ReplyEngine._feed does it
            cpu, wall = timed(lambda outcomes=outcomes, room=room, rec=rec: [rec.add_feed({room: [o.feed_record() for o in outcomes[i : i + 100]]}) for i in range(0, len(outcomes), 100)])
            rec.take()
            rec.feed_cfg = None
            if r:
                keep("feed: records (request)", cpu, wall, len(outcomes))
            records = [o.feed_record() for o in outcomes]
            for k in (1, 20, 100):

                def flush(k=k, records=records, room=room) -> None:
                    # the appends ride pipelines that go anyway (a request's round trip or the
                    # recorder's flush): their marginal cost, 100 flushes per pipeline here
                    pipe, ttl = client.pipeline(transaction=False), roomfeed.ExpireClock()
                    for n, i in enumerate(range(0, len(records), k), 1):
                        roomfeed.append_on(pipe, svc.keys, room, records[i : i + k], cfg, expire=ttl.due(room))
                        if n % 100 == 0:
                            execute(pipe)
                            pipe = client.pipeline(transaction=False)
                    execute(pipe)

                cpu, wall = timed(flush)
                if r:
                    keep(f"feed: append, flush of {k}", cpu, wall, len(records))
    finally:
        svc.close()
        for key in client.scan_iter(f"{prefix}:*", count=1000):
            client.delete(key)
    engine_cpu = best["engine, batch 100 (feed off)"][0]
    print(f"command: python bench/bench_roomfeed.py --rounds {args.rounds}")
    print(f"{'µs per comment, best of the rounds':38s} {'cpu':>8s} {'wall':>8s} {'cpu / engine cpu':>17s}")
    for name, (cpu, wall) in best.items():
        print(f"{name:38s} {cpu:8.2f} {wall:8.2f} {cpu / engine_cpu:17.3f}")


if __name__ == "__main__":
    main()
