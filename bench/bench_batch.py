"""Archive scoring end to end (CSV → Parquet, all cores) beside SnowNLP + jieba on the same rows.

    python bench/bench_batch.py [--rows 200000] [--baseline-rows 30000]

Writes the demo archive as CSV, times ``nlp-service score`` on it (every core, start-up
included), and times a plain script doing what people otherwise do — ``jieba.lcut`` +
``SnowNLP(text).sentiments`` per comment, one process — on the first ``--baseline-rows`` of the
same rows (SnowNLP needs about a millisecond a comment). Prints both rates and the ratio,
and our rate on the same rows with every text made distinct (the worst case for the
scorer, which labels each distinct text once) beside ``jieba.lcut`` alone in one process
over those distinct rows.
"""

from __future__ import annotations

import argparse
import csv
import os
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
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    archive = folder / "archive.csv"
    subprocess.run([sys.executable, "-m", "nlp_service.cli", "demo-archive", "-o", str(archive), "--rows", str(args.rows)], check=True, cwd=ROOT, capture_output=True)
    with archive.open(encoding="utf-8") as fh:
        texts = [r["text"] for r in csv.DictReader(fh)]

    def score(src: Path) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nlp_service.cli", "score", str(src), "-o", str(folder / "scored.parquet"), "--quiet"], check=True, cwd=ROOT, capture_output=True)
        return len(texts) / (time.perf_counter() - start)

    ours = score(archive)
    # worst case: the same rows with every text made distinct, so no text is labelled twice
    distinct = folder / "distinct.csv"
    with archive.open(encoding="utf-8", newline="") as src, distinct.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for i, row in enumerate(reader):
            writer.writerow({**row, "text": f"{row['text']} {i}"})
    ours_distinct = score(distinct)

    import jieba
    from snownlp import SnowNLP

    jieba.setLogLevel(60)
    jieba.initialize()
    # jieba.lcut alone, one process, over every row of the distinct archive (what the
    # worst case above had to segment; issue 15's target: ours ≥ 1.5× this rate)
    with distinct.open(encoding="utf-8") as fh:
        distinct_texts = [r["text"] for r in csv.DictReader(fh)]
    start = time.perf_counter()
    for t in distinct_texts:
        jieba.lcut(t)
    lcut_rate = len(distinct_texts) / (time.perf_counter() - start)
    sample = texts[: args.baseline_rows]
    start = time.perf_counter()
    jieba.initialize()
    for t in sample:
        jieba.lcut(t)
        _ = SnowNLP(t).sentiments
    theirs = len(sample) / (time.perf_counter() - start)

    print(f"command: python {' '.join(sys.argv)}  ({os.cpu_count()} cores, {len(texts):,} comments of the demo archive)")
    print(f"nlp-service score CSV → Parquet (sentiment, intent, keywords, moderation; all cores, start-up included): {ours:,.0f} comments/s")
    print(f"the same with every text made distinct (worst case, nothing reused):                   {ours_distinct:,.0f} comments/s")
    print(f"jieba.lcut + SnowNLP sentiment, one process, first {len(sample):,} of the same rows:                 {theirs:,.0f} comments/s")
    print(f"ratio: {ours / theirs:.1f}x (target for ours: ≥ 30,000 comments/s)")
    print(f"jieba.lcut alone, one process, every row of the distinct archive:                      {lcut_rate:,.0f} comments/s")
    print(f"ratio worst case / jieba.lcut alone: {ours_distinct / lcut_rate:.2f}x (target ≥ 1.5x, issue 15)")


if __name__ == "__main__":
    main()
