"""Memory of `nlp-service serve --workers N`: RSS and PSS of 1, 2 and 4 workers.

    python bench/bench_workers.py [--workers 1 2 4] [--requests 400] [--spawn]

For each worker count, starts ``nlp-service serve`` (N > 1: the pre-fork master loads
everything and forks the workers, api/prefork.py), sends ``--requests`` distinct sample-room
comments to ``POST /v1/moderate`` over new connections (so every worker analyses and
moderates some), then reads /proc/<pid>/smaps_rollup of every serving process: RSS, PSS
(pages shared between processes divided among them) and USS (Private_Clean +
Private_Dirty: what the process alone holds). The memory an extra worker costs is the
growth of the tree's PSS per worker beyond the first (and, per worker, its USS). With
``--spawn``, the same for ``uvicorn --workers N`` (every worker a fresh interpreter that
loads everything itself: how the service ran before), side by side. Redis: REDIS_URL when
set, else the embedded server (its process is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from bench_http import ADMIN, ROOT, free_port  # this script's own directory (run as bench/…py)


def rollup(pid: int) -> dict[str, int]:
    """smaps_rollup fields in KiB."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
        return [int(k) for k in fh.read().split()]


def cmdline(pid: int) -> bytes:
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        return fh.read()


def serving_pids(root: int) -> list[int]:
    """The root and its descendants that run Python serving code (not Redis, not the watchdog)."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        try:
            cmd = cmdline(pid)
            todo.extend(children(pid))
        except OSError:
            continue
        if b"redis" not in cmd and b"watchdog" not in cmd and b"resource_tracker" not in cmd:
            out.append(pid)
    return out


def measure(cmd: list[str], port: int, workers: int, env: dict, texts: list[str]) -> dict:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200 and len(serving_pids(proc.pid)) >= workers:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{' '.join(cmd)} did not start")
            time.sleep(0.2)
        admin = {"Authorization": f"Bearer {ADMIN}"}
        for text in texts:  # a new connection each: the kernel spreads them over the workers
            httpx.post(url + "/v1/moderate", json={"text": text}, headers=admin, timeout=10).raise_for_status()
        time.sleep(1.0)  # let the poll threads settle
        pids = serving_pids(proc.pid)
        stats = {pid: rollup(pid) for pid in pids}
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    mb = 1024
    workers_only = [s for pid, s in stats.items() if pid != proc.pid or len(stats) == 1]
    return {
        "processes": len(stats),
        "rss": sum(s["Rss"] for s in stats.values()) / mb,
        "pss": sum(s["Pss"] for s in stats.values()) / mb,
        "worker_rss": sum(s["Rss"] for s in workers_only) / len(workers_only) / mb,
        "worker_uss": sum(s["Private_Clean"] + s["Private_Dirty"] for s in workers_only) / len(workers_only) / mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--spawn", action="store_true", help="also measure uvicorn --workers N (fresh interpreters)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    texts = list(dict.fromkeys(json.loads(x)["text"] for x in (ROOT / "data/replay/sample_room.jsonl").open(encoding="utf-8")))
    texts = texts[: args.requests]
    env = {**os.environ, "NLP_SERVICE_ADMIN_KEY": ADMIN, "NLP_SERVICE_VAR_DIR": str(tmp / "var")}
    embedded = None
    if not os.environ.get("REDIS_URL"):  # one embedded server for every run, not counted
        from nlp_service.core.config import Settings
        from nlp_service.store.redis import connect, embedded_url

        embedded = connect(Settings(var_dir=tmp / "var"))
        env["REDIS_URL"] = embedded_url(embedded)
    kinds = [("pre-fork (serve)", False)] + ([("spawn (uvicorn)", True)] if args.spawn else [])
    rows = []
    try:
        for name, spawn in kinds:
            for w in args.workers:
                port = free_port()
                if spawn:
                    cmd = [sys.executable, "-m", "uvicorn", "nlp_service.api.app:create_app", "--factory", "--port", str(port),
                           "--workers", str(w), "--log-level", "warning", "--no-access-log"]
                else:
                    cmd = [sys.executable, "-m", "nlp_service.cli", "serve", "--port", str(port), "--workers", str(w)]
                rows.append((name, w, measure(cmd, port, w, env, texts)))
    finally:
        if embedded is not None:
            from nlp_service.store.embedded import stop_embedded

            stop_embedded()
    print(f"command: python {' '.join(sys.argv)}  ({len(texts)} distinct comments moderated per run)")
    print(f"{'how':18s} {'workers':>7s} {'procs':>5s} {'RSS MB':>8s} {'PSS MB':>8s} {'worker RSS':>10s} {'worker USS':>10s} {'PSS per extra worker':>20s}")
    first: dict[str, float] = {}
    for name, w, m in rows:
        first.setdefault(name, m["pss"])
        base_w = next(x for n, x, _ in rows if n == name)
        extra = (m["pss"] - first[name]) / (w - base_w) if w > base_w else float("nan")
        print(f"{name:18s} {w:7d} {m['processes']:5d} {m['rss']:8.0f} {m['pss']:8.0f} {m['worker_rss']:10.0f} {m['worker_uss']:10.0f} {extra:20.0f}")
    print("target: each worker beyond the first ≤ 100 MB unshared (issue 15)")


if __name__ == "__main__":
    main()
