"""One hostile client must not hurt the other rooms: p99, errors and memory, with and without it.

    python bench/bench_hostile.py [--seconds 16] [--phase 1] [--rooms 10] [--port 32012] [--redis-port 32011]
                                  [--attacks ts,long,regex,headers] [--parallel]

Loopback only, bounded in time: starts its own redis-server and ``nlp-service serve`` (one
worker), then runs ``--rooms`` rooms of normal traffic (one client per room, sample-room
comments, one request at a time) for ``--seconds``, with one hostile client (its own process
and key, one request at a time) switched on and off every ``--phase`` seconds. It loops over
poison ``ts`` values (10^20, a 400-digit number, a string, ``true``), batches of 10 comments of
2,000 characters in its own room (new texts each time: no cache answers them), a
nested-quantifier regex rule, and 1 MB request headers (``--parallel``: one connection per
attack, back to back, a flood rather than a client).

The phases alternate within one run so that the other jobs of a shared machine load both
sides alike (two runs one after the other measured the machine's drift as much as the
client: the p99 without the hostile client moved 20-100 ms from run to run). A normal
request counts for the phase it started in; the first ``GUARD`` seconds of each phase are
left out (the hostile request in flight when a phase ends). Prints the other rooms' p50/p99
in both kinds of phase and the ratio (target ≤ 2), the normal clients' errors (target 0),
what the hostile client got (each attack should be refused with 4xx, or answered in its own
room) and the server's RSS after the warm-up, half-way and at the end (target: flat).
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
            lat.append((start, time.perf_counter() - start))
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


def hostile_process(base: str, port: int, key: str, stop, active, results, attacks: tuple[str, ...] = ATTACKS, parallel: bool = False) -> None:
    """The hostile client in a process of its own (building its long bodies and 1 MB headers
    must not take the GIL from the normal clients' threads: that would be the bench
    measuring itself)."""
    got: Counter = Counter()
    if parallel:  # one connection per attack, each back to back: four hostile clients
        threads = [threading.Thread(target=attack, args=((name,), base, port, key, stop, active, got)) for name in attacks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:  # one client: one request at a time, the attacks in turn
        attack(attacks, base, port, key, stop, active, got)
    results.put(dict(got))


def attack(names: tuple[str, ...], base: str, port: int, key: str, stop, active, got: Counter) -> None:
    """The attacks in turn, one request at a time, while ``active`` and until ``stop``; what
    the server answered is counted in ``got``."""
    headers = {"Authorization": f"Bearer {key}"}
    long_text = ("主播骗子退款垃圾加微信" * 200)[:2000]
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        i = 0
        while not stop.is_set():
            i += 1
            for name in names:
                if active.wait(0.05):
                    _one(name, i, http, port, long_text, got)


def _one(name: str, i: int, http: httpx.Client, port: int, long_text: str, got: Counter) -> None:
    """One request of attack ``name``; the answer is counted in ``got``."""
    if name == "ts":
        for ts in (10**20, "9" * 400, "yesterday", True):
            r = http.post("/v1/reply", json={"id": f"p{i}", "room": "hostile", "user": "h", "text": "福袋几点开", "ts": ts})
            got[f"poison ts → {r.status_code}"] += 1
    elif name == "long":
        # a new text each time: a cache hit would cost the server nothing
        batch = [{"id": f"l{i}-{j}", "room": "hostile", "user": f"h{j}", "text": long_text[:1980] + f"{i}-{j}"} for j in range(LONG_BATCH)]
        got[f"{LONG_BATCH} × 2,000 chars → {http.post('/v1/reply/batch', json={'comments': batch}).status_code}"] += 1
    elif name == "regex":
        rule = {"id": f"slow{i}", "scope": "hostile", "match": {"regex": ["(?:q+m+)+z"]}, "replies": ["x"]}
        got[f"nested-quantifier rule → {http.post('/v1/rules', json=rule).status_code}"] += 1
    elif name == "headers":
        got[f"1 MB header → {huge_headers(port)}"] += 1


def rss(pid: int) -> int:
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)] if "redis" not in p.name())


GUARD = 0.2  # seconds left out at the start of each phase


def run(base: str, port: int, rooms: int, seconds: float, texts: list[str], server_pid: int, hostile_key: str | None,
        attacks: tuple[str, ...] = ATTACKS, parallel: bool = False, phase: float = 1.0) -> dict:
    """Normal traffic for ``seconds``; with ``hostile_key``, the hostile client on in every
    other phase of ``phase`` seconds. Latencies by kind of phase: "calm" and "hostile"."""
    stop = threading.Event()
    lats = [[] for _ in range(rooms)]
    errors: Counter = Counter()
    got: Counter = Counter()
    threads = [threading.Thread(target=normal_client, args=(base, f"room{r}", texts, stop, lats[r], errors)) for r in range(rooms)]
    ctx = multiprocessing.get_context("spawn")
    hostile_stop, active, results = ctx.Event(), ctx.Event(), ctx.Queue()
    hostile = ctx.Process(target=hostile_process, args=(base, port, hostile_key, hostile_stop, active, results, attacks, parallel)) if hostile_key else None
    rss_seen = [rss(server_pid)]
    if hostile is not None:
        hostile.start()
    for t in threads:
        t.start()
    phases: list[tuple[float, float, bool]] = []  # (start, end, hostile on)
    began = time.perf_counter()
    on = False
    while (now := time.perf_counter()) - began < seconds:
        on = hostile is not None and not on
        (active.set if on else active.clear)()
        phases.append((now, now + phase, on))
        time.sleep(phase)
        if len(phases) == int(seconds / phase / 2):
            rss_seen.append(rss(server_pid))
    stop.set()
    hostile_stop.set()
    active.set()
    for t in threads:
        t.join(60)
    if hostile is not None:
        got.update(results.get(timeout=60))
        hostile.join(60)
    by_kind: dict[str, list[float]] = {"calm": [], "hostile": []}
    for lat in lats:
        for started, took in lat:
            for p_start, p_end, p_on in phases:
                if p_start + GUARD <= started < p_end:
                    by_kind["hostile" if p_on else "calm"].append(took)
                    break
    rss_seen.append(rss(server_pid))
    out = {"errors": sum(errors.values()), "error_kinds": dict(errors), "got": dict(got), "rss": rss_seen}
    for kind, values in by_kind.items():
        values.sort()
        pct = lambda q, v=values: v[min(len(v) - 1, int(q * len(v)))] * 1000 if v else float("nan")  # noqa: E731
        out[kind] = {"n": len(values), "p50": pct(0.5), "p99": pct(0.99)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=16, help="length of the measured run (half of it with the hostile client on)")
    parser.add_argument("--phase", type=float, default=1.0, help="seconds between switching the hostile client on and off")
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
        r = run(base, args.port, args.rooms, args.seconds, texts, server.pid, key, tuple(args.attacks.split(",")), args.parallel, args.phase)
    finally:
        server.terminate()
        server.wait(30)
        redis_srv.terminate()
        redis_srv.wait(30)
    print(f"command: python {' '.join(sys.argv)}")
    print(f"{args.rooms} rooms of normal traffic for {args.seconds:g} s, the hostile client on in every other {args.phase:g} s phase;"
          " one `nlp-service serve` worker, own redis-server, loopback")
    for kind, name in (("calm", "without the hostile client"), ("hostile", "with the hostile client")):
        print(f"{name:28s} requests {r[kind]['n']:6d}  p50 {r[kind]['p50']:6.1f} ms  p99 {r[kind]['p99']:6.1f} ms")
    print(f"p99 ratio (with / without): {r['hostile']['p99'] / r['calm']['p99']:.2f} (target ≤ 2)")
    print(f"normal clients' errors: {r['errors']} {r['error_kinds'] or ''}")
    print("server RSS after warm-up, half-way, at the end: " + " → ".join(f"{x / 2**20:.0f}" for x in r["rss"]) + " MB")
    print("hostile client got: " + "; ".join(f"{k}: {v}" for k, v in sorted(r["got"].items())))


if __name__ == "__main__":
    main()
