"""What labelling one archive row costs in one process, stage by stage, beside ``jieba.lcut``.

    python bench/bench_label.py [--rows 10000] [--rounds 3] [--before DIR]

Rows: the demo archive's comments made distinct as ``bench_batch.py`` makes its worst case
(``text + " <row number>"``), numbered from 10,000 on, so each ends in a five-digit number as
almost every row of that bench does. CPU microseconds per row (``time.process_time`` over
all rows, best of ``--rounds``), in one process, each stage run over every row in turn with
``jieba.lcut`` on the same rows between them: the whole label (``Labeler.label``: analysis
and moderation), ``moderate()`` of the analysed rows, ``Lexicon.find`` and
``find_patterns`` alone. ``--before DIR`` runs the same measurement with the source tree in
DIR (another version, built in place) in a subprocess, alternating, and prints both.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(archive: Path, rows: int, rounds: int) -> dict[str, float]:
    """{stage: CPU µs per row} in this process (the ``nlp_service`` on ``sys.path``)."""
    import jieba

    from nlp_service.batch.labels import load_labeler
    from nlp_service.moderation.detect import moderate
    from nlp_service.moderation.patterns import find_patterns

    jieba.setLogLevel(60)
    jieba.initialize()
    labeler = load_labeler()
    with archive.open(encoding="utf-8") as fh:
        texts = [f"{r['text']} {10_000 + i}" for i, r in enumerate(csv.DictReader(fh)) if i < rows]
    analysed = [labeler.analyzer.analyze(t) for t in texts]
    lexicon, classifier = labeler.lexicon, labeler.classifier
    stages = {
        "jieba.lcut": lambda: [jieba.lcut(t) for t in texts],
        "label (analysis + moderation)": lambda: [labeler.label(t) for t in texts],
        "moderate()": lambda: [moderate(a, lexicon, classifier=classifier) for a in analysed],
        "Lexicon.find": lambda: [lexicon.find(a.normalized.text) for a in analysed],
        "find_patterns": lambda: [find_patterns(a.normalized.original) for a in analysed],
    }
    best = dict.fromkeys(stages, float("inf"))
    for _ in range(rounds):
        for name, run in stages.items():
            start = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - start)
    return {name: seconds / len(texts) * 1e6 for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, default=None, help="also measure the source tree in DIR, alternating")
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)  # the subprocess's side
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.rows, args.rounds)))
        return
    archive = Path(tempfile.mkdtemp(prefix="bench-label-")) / "archive.csv"
    subprocess.run([sys.executable, "-m", "nlp_service.cli", "demo-archive", "-o", str(archive), "--rows", str(args.rows)], check=True, cwd=ROOT, capture_output=True)

    def run(tree: Path) -> dict[str, float]:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", str(archive), "--rows", str(args.rows), "--rounds", str(args.rounds)]
        out = subprocess.run(cmd, check=True, cwd=tree, capture_output=True, text=True, env=env).stdout
        return json.loads(out.strip().splitlines()[-1])

    trees = [("after", ROOT)] + ([("before", args.before)] if args.before else [])
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in trees}
    for _ in range(2 if args.before else 1):  # alternate: after, before, after, before
        for name, tree in trees:
            results[name].append(run(tree))
    print(f"command: python {' '.join(sys.argv)}  ({args.rows:,} distinct demo-archive rows, CPU µs per row, best of {args.rounds})")
    for name, runs in results.items():
        for i, r in enumerate(runs, 1):
            lcut = r["jieba.lcut"]
            parts = ", ".join(f"{stage} {us:.1f}" for stage, us in r.items())
            print(f"  {name} run {i}: {parts}; label ÷ jieba.lcut = {r['label (analysis + moderation)'] / lcut:.2f}x")


if __name__ == "__main__":
    main()
