"""One hostile client must not hurt the other rooms: p99, errors and memory, with and without it.

    python bench/bench_hostile.py [--seconds 8] [--rooms 10] [--port 32012] [--redis-port 32011]
                                  [--attacks ts,long,regex,headers] [--parallel]

Loopback only, bounded in time: starts its own redis-server and ``nlp-service serve`` (one
worker), then runs ``--rooms`` rooms of normal traffic (one client per room, sample-room
comments, one request at a time) for ``--seconds``, twice: alone, then with one hostile
client mixed in (its own process and key, one request at a time) that loops over poison
``ts`` values (10^20, a 400-digit number, a string, ``true``), batches of 10 comments of
2,000 characters in its own room, a nested-quantifier regex rule, and 1 MB request headers
(``--parallel``: one connection per attack, back to back, a flood rather than a client). Prints the other rooms' p50/p99 in both runs and the
ratio (target ≤ 2), the normal clients' errors (target 0), what the hostile client got
(each attack should be refused with 4xx, or answered in its own room) and the server's RSS
at start and end of each run (target: flat).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "bench-admin-key-0123456789"


def wait_for(check, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError("service did not come up")


def normal_client(base: str, room: str, texts: list[str], stop: threading.Event, lat: list[float], errors: Counter) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        i = 0
        while not stop.is_set():
            body = {"id": f"{room}-{time.monotonic_ns()}", "room": room, "user": f"u{i % 50}", "nickname": f"n{i % 50}", "text": texts[i % len(texts)]}
            start = time.perf_counter()
            try:
                r = http.post("/v1/reply", json=body)
                if r.status_code != 200:
                    errors[r.status_code] += 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
            lat.append(time.perf_counter() - start)
            i += 1


def huge_headers(port: int, size: int = int(os.environ.get("BENCH_HEADER_BYTES", 1 << 20))) -> str:
    """Send a request whose one header is ``size`` bytes; returns the status line it got."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * size + b"\r\n\r\n")
        except OSError:
            pass
        try:
            return s.recv(100).split(b"\r\n")[0].decode() or "closed"
        except OSError:
            return "closed"


ATTACKS = ("ts", "long", "regex", "headers")
LONG_BATCH = 10  # comments of 2,000 characters in one batch request


def hostile_process(base: str, port: int, key: str, stop, results, attacks: tuple[str, ...] = ATTACKS, parallel: bool = False) -> None:
    """The hostile client in a process of its own (building its long bodies and 1 MB headers
    must not take the GIL from the normal clients' threads: that would be the bench
    measuring itself)."""
    got: Counter = Counter()
    if parallel:  # one connection per attack, each back to back: four hostile clients
        threads = [threading.Thread(target=attack, args=((name,), base, port, key, stop, got)) for name in attacks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:  # one client: one request at a time, the attacks in turn
        attack(attacks, base, port, key, stop, got)
    results.put(dict(got))


def attack(names: tuple[str, ...], base: str, port: int, key: str, stop, got: Counter) -> None:
    """The attacks in turn, one request at a time, until ``stop``; what the server answered
    is counted in ``got``."""
    headers = {"Authorization": f"Bearer {key}"}
    long_text = ("主播骗子退款垃圾加微信" * 200)[:2000]
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        i = 0
        while not stop.is_set():
            i += 1
            for name in names:
                _one(name, i, http, port, long_text, got)


def _one(name: str, i: int, http: httpx.Client, port: int, long_text: str, got: Counter) -> None:
    """One request of attack ``name``; the answer is counted in ``got``."""
    if name == "ts":
        for ts in (10**20, "9" * 400, "yesterday", True):
            r = http.post("/v1/reply", json={"id": f"p{i}", "room": "hostile", "user": "h", "text": "福袋几点开", "ts": ts})
            got[f"poison ts → {r.status_code}"] += 1
    elif name == "long":
        batch = [{"id": f"l{i}-{j}", "room": "hostile", "user": f"h{j}", "text": long_text[:1990] + str(j)} for j in range(LONG_BATCH)]
        got[f"{LONG_BATCH} × 2,000 chars → {http.post('/v1/reply/batch', json={'comments': batch}).status_code}"] += 1
    elif name == "regex":
        rule = {"id": f"slow{i}", "scope": "hostile", "match": {"regex": ["(?:q+m+)+z"]}, "replies": ["x"]}
        got[f"nested-quantifier rule → {http.post('/v1/rules', json=rule).status_code}"] += 1
    elif name == "headers":
        got[f"1 MB header → {huge_headers(port)}"] += 1


def rss(pid: int) -> int:
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)] if "redis" not in p.name())


def run(base: str, port: int, rooms: int, seconds: float, texts: list[str], server_pid: int, hostile_key: str | None,
        attacks: tuple[str, ...] = ATTACKS, parallel: bool = False) -> dict:
    stop = threading.Event()
    lats = [[] for _ in range(rooms)]
    errors: Counter = Counter()
    got: Counter = Counter()
    threads = [threading.Thread(target=normal_client, args=(base, f"room{r}", texts, stop, lats[r], errors)) for r in range(rooms)]
    ctx = multiprocessing.get_context("spawn")
    hostile_stop, results = ctx.Event(), ctx.Queue()
    hostile = ctx.Process(target=hostile_process, args=(base, port, hostile_key, hostile_stop, results, attacks, parallel)) if hostile_key else None
    rss_start = rss(server_pid)
    if hostile is not None:
        hostile.start()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    hostile_stop.set()
    for t in threads:
        t.join(60)
    if hostile is not None:
        got.update(results.get(timeout=60))
        hostile.join(60)
    all_lat = sorted(x for lat in lats for x in lat)
    pct = lambda q: all_lat[min(len(all_lat) - 1, int(q * len(all_lat)))] * 1000  # noqa: E731
    return {"n": len(all_lat), "p50": pct(0.5), "p99": pct(0.99), "errors": sum(errors.values()), "error_kinds": dict(errors),
            "hostile": dict(got), "rss_start": rss_start, "rss_end": rss(server_pid)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--port", type=int, default=32012)
    parser.add_argument("--redis-port", type=int, default=32011)
    parser.add_argument("--attacks", default=",".join(ATTACKS), help=f"which of {','.join(ATTACKS)} the hostile client sends")
    parser.add_argument("--parallel", action="store_true", help="one connection per attack, back to back (a flood of hostile clients)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    redis_srv = subprocess.Popen(["redis-server", "--port", str(args.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp)],
                                 stdout=subprocess.DEVNULL)
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{args.redis_port}/0", "NLP_SERVICE_ADMIN_KEY": ADMIN, "NLP_SERVICE_VAR_DIR": str(tmp / "var")}
    server = subprocess.Popen([sys.executable, "-c", "from nlp_service.cli import app; app()", "serve", "--host", "127.0.0.1", "--port", str(args.port), "--workers", "1"],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_for(lambda: httpx.get(base + "/readyz", timeout=1).status_code == 200)
        admin = {"Authorization": f"Bearer {ADMIN}"}
        key = httpx.post(base + "/v1/keys", headers=admin, json={"name": "hostile", "role": "admin", "rooms": ["*"]}).json()["key"]
        for r in range(args.rooms):
            httpx.put(f"{base}/v1/rooms/room{r}/variables", headers=admin, json={"lottery_time": "8点", "coupon_code": "LIVE", "current_link": "3"}).raise_for_status()
        texts = [json.loads(line)["text"] for line in (ROOT / "data/replay/sample_room.jsonl").open(encoding="utf-8")]
        run(base, args.port, args.rooms, 2, texts, server.pid, None)  # warm-up: lazy state, the texts seen once
        calm = run(base, args.port, args.rooms, args.seconds, texts, server.pid, None)
        hostile = run(base, args.port, args.rooms, args.seconds, texts, server.pid, key, tuple(args.attacks.split(",")), args.parallel)
    finally:
        server.terminate()
        server.wait(30)
        redis_srv.terminate()
        redis_srv.wait(30)
    print(f"command: python {' '.join(sys.argv)}")
    print(f"{args.rooms} rooms of normal traffic, {args.seconds:g} s per run, one `nlp-service serve` worker, own redis-server, loopback")
    for name, r in (("without the hostile client", calm), ("with the hostile client", hostile)):
        print(f"{name:28s} requests {r['n']:6d}  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  normal errors {r['errors']} {r['error_kinds'] or ''}"
              f"  server RSS {r['rss_start'] / 2**20:.0f} → {r['rss_end'] / 2**20:.0f} MB")
    print(f"p99 ratio (with / without): {hostile['p99'] / calm['p99']:.2f} (target ≤ 2)")
    print("hostile client got: " + "; ".join(f"{k}: {v}" for k, v in sorted(hostile["hostile"].items())))


if __name__ == "__main__":
    main()
