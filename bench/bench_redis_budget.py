"""What a comment and a show cost in Redis, per key family.

    python bench/bench_redis_budget.py [--port 32010] [--repeat 3]

Starts its own empty redis-server on loopback (``--port``), replays the recorded sample room
(data/replay/sample_room.jsonl, 2,999 comments in 20 minutes) through the engine with the
seed rules ``--repeat`` times into distinct rooms (each a show), lets moderators decide every
queued item, judges the pulse, then reads ``MEMORY USAGE`` of every key and sums it per key
family (the key with its room, user, ids and minutes replaced). Prints bytes per comment for
each family, what a 20-minute show holds, and the TTL or cap that bounds each family.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import redis

from nlp_service.core.config import get_settings
from nlp_service.live.services import Services
from nlp_service.live.types import Comment
from nlp_service.moderation import pulse

ROOT = Path(__file__).resolve().parents[1]


def family(key: str, rooms: set[str]) -> str:
    """``svc:{room}:recent:u123`` → ``{room}:recent:<user>`` (ids and numbers folded)."""
    parts = key.split(":")[1:]
    out = []
    for i, p in enumerate(parts):
        if p.startswith("{"):
            out.append("{room}" if p.strip("{}") in rooms else p)
        elif re.fullmatch(r"\d+(-\d+)?|u?\d+-\d+", p):
            out.append("<n>")
        elif i > 0 and parts[i - 1] in ("recent", "user", "flood", "seen", "idem", "decided"):
            out.append("<id>")
        elif i > 1 and parts[i - 2] in ("flood", "user"):
            out.append("<id>")
        else:
            out.append(p)
    return ":".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=32010)
    parser.add_argument("--repeat", type=int, default=3, help="shows (rooms) replayed")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-budget-"))
    server = subprocess.Popen(["redis-server", "--port", str(args.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp)],
                              stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=args.port, decode_responses=True)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        settings = get_settings().model_copy(update={"var_dir": tmp / "var", "admin_key": None})
        svc = Services.start(settings, client, poll=False)
        rows = [json.loads(x) for x in (ROOT / "data/replay/sample_room.jsonl").read_text(encoding="utf-8").splitlines()]
        base = client.info("memory")["used_memory"]
        rooms: set[str] = set()
        n = 0
        for show in range(args.repeat):
            room = f"show{show}"
            rooms.add(room)
            for i in range(0, len(rows), 100):
                part = rows[i : i + 100]
                svc.engine.handle([Comment(f"{r['id']}-{show}", room, r["user"], r["nickname"], r["text"], r["ts"]) for r in part], now_ms=part[-1]["ts"])
                n += len(part)
            svc.engine.recorder.flush()
            svc.engine.post_due_bursts(now_ms=rows[-1]["ts"] + 3_600_000, rooms=[room])
            pulse.judge_room(client, svc.keys, room, None)
            while items := svc.engine.queue.pull([room], "mod", 500, 0, claim_ms=60_000):
                for it in items:
                    svc.engine.queue.decide(it.item_id, "mod", "approve")
            svc.engine.queue.trim(room)
        used = client.info("memory")["used_memory"] - base
        sizes: dict[str, list[int]] = defaultdict(list)
        ttls: dict[str, set[str]] = defaultdict(set)
        for key in client.scan_iter(count=1000):
            f = family(key, rooms)
            sizes[f].append(client.memory_usage(key, samples=0) or 0)
            ttl = client.ttl(key)
            ttls[f].add("none" if ttl < 0 else f"{ttl // 3600}h" if ttl >= 3600 else f"{ttl}s")
        svc.close()
    finally:
        server.terminate()
        server.wait()
    print(f"command: python {' '.join(sys.argv)}")
    print(f"{n:,} comments in {args.repeat} shows of {len(rows):,} comments (20 minutes each); used_memory grew {used:,} B = {used / n:,.0f} B/comment")
    print(f"{'key family':44s} {'keys':>6s} {'bytes':>10s} {'B/comment':>9s}  TTL now")
    total = 0
    for f, s in sorted(sizes.items(), key=lambda kv: -sum(kv[1])):
        total += sum(s)
        print(f"{f:44s} {len(s):6d} {sum(s):10,d} {sum(s) / n:9.1f}  {','.join(sorted(ttls[f]))[:40]}")
    print(f"{'total (MEMORY USAGE)':44s} {sum(len(s) for s in sizes.values()):6d} {total:10,d} {total / n:9.1f}")
    print(f"one 20-minute show of {len(rows):,} comments: {total / args.repeat:,.0f} B")


if __name__ == "__main__":
    main()
