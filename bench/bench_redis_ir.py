"""Instructions the Redis server executes per comment, this checkout beside another one.

    python bench/bench_redis_ir.py --against DIR [--redis-port 37579] [--batch 8] [--rounds 2]

A figure the other jobs of a shared machine do not move: starts its own redis-server under
``valgrind --tool=callgrind`` (needs valgrind; nothing on disk), then for each checkout in
turn (``DIR`` first, then this one; its C extension built in place) a child process replays
the recorded sample room (data/replay/sample_room.jsonl, 2,999 comments, their own times as
the clock, the seed rules and room variables) through ``ReplyEngine.handle``, ``--batch``
comments per call (what the coalescer packs into one round trip under load), and flushes the
recorder at the end. The server's instruction count is zeroed once the child is ready and
read when it is done, with ``INFO commandstats`` over the same span. Prints instructions per
comment and the commands per comment (script calls included) for each checkout.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
VARIABLES = {"lottery_time": "8点整", "coupon_code": "LIVE20", "current_link": "3", "courier": "顺丰", "price": "99元"}


def child(url: str, room: str, batch: int) -> None:
    """Replay the sample room into ``room`` once the parent says go (a line on stdin)."""
    from nlp_service.core.config import Settings
    from nlp_service.live.services import Services
    from nlp_service.live.types import Comment
    from nlp_service.replies import store
    from nlp_service.store.redis import connect

    settings = Settings(redis_url=url, var_dir=Path(tempfile.mkdtemp(prefix="bench-ir-")), admin_key="bench-ir-admin-key-0123456789")
    client = connect(settings)
    svc = Services.start(settings, client, poll=False)  # no background flush: the batching is the same every run
    store.set_variables(client, svc.keys, "global", VARIABLES)
    svc.state.refresh()
    rows = [json.loads(line) for line in (ROOT / "data/replay/sample_room.jsonl").open(encoding="utf-8")]
    comments = [Comment(f"{room}-{r['id']}", room, r["user"], r.get("nickname", ""), r["text"], r["ts"]) for r in rows]
    for c in comments[:200]:  # the analysis caches warm, in a room of its own (not measured)
        svc.engine.handle([Comment("warm-" + c.id, "warm-" + room, c.user, c.nickname, c.text, c.ts)], now_ms=c.ts)
    svc.engine.recorder.flush()
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(0, len(comments), batch):
        part = comments[i : i + batch]
        svc.engine.handle(part, now_ms=part[-1].ts)
    svc.engine.recorder.flush(comments[-1].ts)
    print(json.dumps({"comments": len(comments)}), flush=True)
    svc.close()


def instructions(pid: int, out_dir: Path) -> int:
    """Dump the server's counters; the instructions since the last zeroing."""
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
    newest = max(glob.glob(str(out_dir / f"cg.{pid}.*")), key=os.path.getmtime)
    with open(newest) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {newest}")


def run(tree: Path, url: str, room: str, batch: int, client: redis.Redis, pid: int, out_dir: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", url, room, str(batch)], env=env, cwd=tree,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdin is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{tree}: the replay did not start")
        client.config_resetstat()
        subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        n = json.loads(proc.stdout.readline())["comments"]
        ir = instructions(pid, out_dir)
        stats = {k.removeprefix("cmdstat_"): int(v["calls"]) / n for k, v in client.info("commandstats").items()}
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return {"ir": ir / n, "stats": stats}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    # imported here: the child runs with the other checkout first on its path
    from bench.bench_redis_cpu import own_redis, side_by_side_arguments

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    side_by_side_arguments(parser)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    out_dir = Path(tempfile.mkdtemp(prefix="bench-ir-cg-"))
    server, client = own_redis(args.redis_server, args.redis_port, out_dir, ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out_dir}/cg.%p"))
    url = f"redis://127.0.0.1:{args.redis_port}/0"
    trees = {"before": args.against.resolve(), "after": ROOT}
    runs: dict[str, list[dict]] = {label: [] for label in trees}
    version = "?"
    try:
        version = client.info("server")["redis_version"]
        pid = int(client.info("server")["process_id"])  # valgrind runs the server in its own process
        for rnd in range(args.rounds):
            for label, tree in list(trees.items())[:: 1 if rnd % 2 == 0 else -1]:  # ABBA: drift hits both sides alike
                client.flushall()
                res = run(tree, url, f"room-{rnd}", args.batch, client, pid, out_dir)
                runs[label].append(res)
                print(f"round {rnd} {label:6s} {res['ir']:10.0f} instructions per comment", flush=True)
        client.shutdown(nosave=True)
    except redis.ConnectionError:
        pass  # the shutdown closes the connection
    finally:
        if server.poll() is None:
            server.terminate()
        server.wait()
    print(f"\ncommand: python {' '.join(sys.argv)}  (Redis {version} under callgrind; {args.batch} comments per handle call)")
    for label, rs in runs.items():
        print(f"{label:6s} {statistics.mean(r['ir'] for r in rs):10.0f} instructions per comment (mean of {len(rs)})")
    print("\ncommands per comment:  before  after")
    names = sorted({k for rs in runs.values() for r in rs for k in r["stats"]}, key=lambda k: -runs["before"][0]["stats"].get(k, 0))
    for k in names:
        cells = [statistics.mean(r["stats"].get(k, 0.0) for r in runs[label]) for label in trees]
        if any(cells):
            print(f"  {k:18s} " + "  ".join(f"{c:6.3f}" for c in cells))


if __name__ == "__main__":
    main()
