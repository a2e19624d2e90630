"""Instructions per request, reply endpoint beside the bare one, counted by valgrind's callgrind.

    REDIS_URL=… python bench/bench_http_callgrind.py [--permille 400 1000] [--seconds 20] [--port 31000]

Requests/s on a shared machine move by ±30 % from one minute to the next; the instructions a
server executes per request do not. Each server (``nlp-service serve`` and the bare app under
the same server, bench/serve_bare.py, one worker) runs under ``valgrind --tool=callgrind``
with instrumentation off; wrk (one thread, 8 connections) warms it up for ``--seconds``, then
instrumentation is switched on for another ``--seconds`` of the same traffic mix
(bench/wrk_comments.lua: the share of texts never seen before, in per mille) and the count is
divided by the requests wrk completed. All threads are counted (event loop, engine, recorder,
pollers); Redis and wrk are not. Needs valgrind and wrk; takes a few minutes per server.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from bench_http import (  # this script's own directory (run as bench/…py)
    ADMIN,
    ROOT,
    SALT,
    run_tag,
    start,
    wrk_args,
)

VARIABLES = '{"lottery_time":"8点","coupon_code":"LIVE","current_link":"3","courier":"顺丰","price":"99元"}'


def count(app: str, port: int, permille: int, seconds: int, env: dict, tmp: Path) -> tuple[int, int]:
    """(instructions, requests) of ``app`` ("reply" or "bare") over ``seconds`` of measured traffic."""
    out = tmp / f"callgrind.{app}.{permille}"
    served = [str(Path(sys.executable).with_name("nlp-service")), "serve", "--port", str(port)] if app == "reply" else ["-m", "bench.serve_bare", str(port), "1"]
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p", sys.executable, *served]
    proc = start(cmd, port, env, tmp / "servers.log", timeout=900)
    try:
        # a JSON body needs its content type: without it the PUT got a 422 and the rules that
        # name a variable were refused as missing_variable (before 2026-12-06 afternoon)
        if app == "reply":
            httpx.put(f"http://127.0.0.1:{port}/v1/rooms/bench-room/variables", headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"},
                      content=VARIABLES.encode(), timeout=60).raise_for_status()
        mix = {**env, "BENCH_NEW_PERMILLE": str(permille)}
        url = f"http://127.0.0.1:{port}/v1/reply"
        # the measured run's users, ids and new texts are not the warm-up's (wrk_comments.lua):
        # else its new texts come from the caches and its replayed ids from idempotency
        subprocess.run(wrk_args(url, seconds, 8, threads=1), env={**mix, "BENCH_RUN": run_tag()}, capture_output=True, check=True)
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], capture_output=True, check=True)
        done = subprocess.run(wrk_args(url, seconds, 8, threads=1), env={**mix, "BENCH_RUN": run_tag()}, capture_output=True, text=True, check=True).stdout
        subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], capture_output=True, check=True)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True, check=True)
    finally:
        proc.terminate()
        proc.wait()
    requests = int(re.search(r"requests=(\d+)", done)[1])
    total = sum(int(m[1]) for f in tmp.glob(f"{out.name}.*") for m in re.finditer(r"^totals: (\d+)", f.read_text(), re.M))
    return total, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--permille", type=int, nargs="+", default=[400, 1000], help="share of new texts, per mille")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--port", type=int, default=31000)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("set REDIS_URL (the bench room's keys only are touched)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-callgrind-"))
    texts = [json.loads(line)["text"] for line in (ROOT / "data/replay/sample_room.jsonl").open(encoding="utf-8")]
    (tmp / "texts.txt").write_text("\n".join(json.dumps(t, ensure_ascii=False) for t in texts) + "\n", encoding="utf-8")
    env = {**os.environ, "NLP_SERVICE_ADMIN_KEY": ADMIN, "NLP_SERVICE_VAR_DIR": str(tmp / "var"), "BENCH_TOKEN": ADMIN, "BENCH_SALT": SALT,
           "BENCH_TEXTS_FILE": str(tmp / "texts.txt")}
    rows = []
    for permille in args.permille:
        bare = count("bare", args.port + 1, permille, args.seconds, env, tmp)
        reply = count("reply", args.port, permille, args.seconds, env, tmp)
        rows.append((permille, bare, reply))
    print(f"command: python {' '.join(sys.argv)}  (valgrind --tool=callgrind, one worker, wrk -t1 -c8, {args.seconds} s measured)")
    # requests measured: the threads' timed work (the recorder's 20 ms flush, the pollers) is
    # spread over them, so a run the machine slowed to fewer requests counts more per request
    print(f"{'new texts':>9s} {'bare Ir/request':>16s} {'reply Ir/request':>17s} {'bare ÷ reply':>12s} {'requests (reply)':>17s}")
    for permille, (b_ir, b_n), (r_ir, r_n) in rows:
        print(f"{permille / 10:8.0f}% {b_ir / b_n:16,.0f} {r_ir / r_n:17,.0f} {(b_ir / b_n) / (r_ir / r_n):12.2f} {r_n:17,d}")


if __name__ == "__main__":
    main()
