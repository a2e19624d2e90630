"""Archive scoring end to end (CSV → Parquet, all cores) beside SnowNLP + jieba on the same rows.

    python bench/bench_batch.py [--rows 200000] [--baseline-rows 30000] [--repeat 3] [--before DIR]

Writes the demo archive as CSV, times ``nlp-service score`` on it (every core, start-up
included), and times a plain script doing what people otherwise do — ``jieba.lcut`` +
``SnowNLP(text).sentiments`` per comment, one process — on the first ``--baseline-rows`` of the
same rows (SnowNLP needs about a millisecond a comment). Prints both rates and the ratio,
and our rate on the same rows with every text made distinct (the worst case for the
scorer, which labels each distinct text once) beside ``jieba.lcut`` alone in one process
over those distinct rows. ``--repeat N`` times the worst case and ``jieba.lcut`` alone N times,
alternating, so that on a shared machine each ratio compares two runs made moments apart;
besides wall-clock rates it prints CPU seconds (the scorer's processes, summed, against
``jieba.lcut``'s one process), which the other jobs on the machine disturb much less.
Each round also scores the demo archive as is and times ``jieba.lcut`` alone over those rows
(issue 15's first archive figure). ``--before DIR`` also scores with the source tree in DIR
(another version of this project, built in place), in the same alternation: before and
after side by side.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--baseline-rows", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=1, help="alternate the worst case and jieba.lcut alone this many times")
    parser.add_argument("--before", type=Path, default=None, help="also score with this source tree (another version), alternating")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    archive = folder / "archive.csv"
    subprocess.run([sys.executable, "-m", "nlp_service.cli", "demo-archive", "-o", str(archive), "--rows", str(args.rows)], check=True, cwd=ROOT, capture_output=True)
    with archive.open(encoding="utf-8") as fh:
        texts = [r["text"] for r in csv.DictReader(fh)]

    def score(src: Path, tree: Path = ROOT) -> tuple[float, float]:
        """(comments/s, CPU seconds of the scorer's processes) of `nlp-service score`, as a
        user runs it: every core, start-up included."""
        env = {**os.environ, "PYTHONPATH": str(tree)} if tree != ROOT else None
        before, start = os.times(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "nlp_service.cli", "score", str(src), "-o", str(folder / "scored.parquet"), "--quiet"], check=True, cwd=tree, capture_output=True, env=env)
        after = os.times()
        return len(texts) / (time.perf_counter() - start), (after.children_user - before.children_user) + (after.children_system - before.children_system)

    ours, _ = score(archive)
    # worst case: the same rows with every text made distinct, so no text is labelled twice
    distinct = folder / "distinct.csv"
    with archive.open(encoding="utf-8", newline="") as src, distinct.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for i, row in enumerate(reader):
            writer.writerow({**row, "text": f"{row['text']} {i}"})

    import jieba
    from snownlp import SnowNLP

    jieba.setLogLevel(60)
    jieba.initialize()
    # jieba.lcut alone, one process, over every row of the distinct archive (what the
    # worst case above had to segment; issue 15's target: ours ≥ 1.5× this rate)
    with distinct.open(encoding="utf-8") as fh:
        distinct_texts = [r["text"] for r in csv.DictReader(fh)]

    def lcut_pass() -> tuple[float, float]:
        cpu, start = time.process_time(), time.perf_counter()
        for t in distinct_texts:
            jieba.lcut(t)
        return len(distinct_texts) / (time.perf_counter() - start), time.process_time() - cpu

    def lcut_as_is() -> float:
        """jieba.lcut alone over the demo archive as is (the rows the first figure scored)."""
        start = time.perf_counter()
        for t in texts:
            jieba.lcut(t)
        return len(texts) / (time.perf_counter() - start)

    pairs = []  # (ours, ours CPU s, lcut, lcut CPU s, before, before CPU s)
    as_is = []  # (ours, lcut, before) on the demo archive as is
    for _ in range(max(1, args.repeat)):
        mine = score(distinct)
        base = score(distinct, args.before) if args.before else (0.0, 0.0)
        pairs.append((*mine, *lcut_pass(), *base))
        as_is.append((score(archive)[0], lcut_as_is(), score(archive, args.before)[0] if args.before else 0.0))
    sample = texts[: args.baseline_rows]
    start = time.perf_counter()
    jieba.initialize()
    for t in sample:
        jieba.lcut(t)
        _ = SnowNLP(t).sentiments
    theirs = len(sample) / (time.perf_counter() - start)

    print(f"command: python {' '.join(sys.argv)}  ({os.cpu_count()} cores, {len(texts):,} comments of the demo archive)")
    print(f"nlp-service score CSV → Parquet (sentiment, intent, keywords, moderation; all cores, start-up included): {ours:,.0f} comments/s")
    ours_distinct, lcut_rate = statistics.median(p[0] for p in pairs), statistics.median(p[2] for p in pairs)
    print(f"the same with every text made distinct (worst case, nothing reused):                   {ours_distinct:,.0f} comments/s (median of {len(pairs)})")
    print(f"jieba.lcut + SnowNLP sentiment, one process, first {len(sample):,} of the same rows:                 {theirs:,.0f} comments/s")
    print(f"ratio: {ours / theirs:.1f}x (target for ours: ≥ 30,000 comments/s)")
    print(f"jieba.lcut alone, one process, every row of the distinct archive:                      {lcut_rate:,.0f} comments/s (median of {len(pairs)})")
    print("worst case ÷ jieba.lcut alone, each pair run back to back (ours: `score` as a user runs it, every core, start-up included):")
    for i, (o, o_cpu, lc, lc_cpu, b, b_cpu) in enumerate(pairs, 1):
        line = f"  run {i}: {o:,.0f} ÷ {lc:,.0f}/s = {o / lc:.2f}x wall; CPU {o_cpu:.2f} s ÷ {lc_cpu:.2f} s = {o_cpu / lc_cpu:.2f}x the CPU of lcut"
        if args.before:
            line += f"; before ({args.before}): {b:,.0f}/s = {b / lc:.2f}x wall, CPU {b_cpu:.2f} s"
        print(line)
    print(f"ratio worst case / jieba.lcut alone: {statistics.median(p[0] / p[2] for p in pairs):.2f}x (median; target ≥ 1.5x, issue 15)")
    print("the demo archive as is ÷ jieba.lcut alone over the same rows, each run back to back:")
    for i, (o, lc, b) in enumerate(as_is, 1):
        line = f"  run {i}: {o:,.0f} ÷ {lc:,.0f}/s = {o / lc:.2f}x wall"
        if args.before:
            line += f"; before: {b:,.0f}/s = {b / lc:.2f}x"
        print(line)
    print(f"ratio demo archive as is / jieba.lcut alone: {statistics.median(o / lc for o, lc, _ in as_is):.2f}x (median; target ≥ 1.5x, issue 15)")


if __name__ == "__main__":
    main()
