"""Evaluate moderation: per-category precision/recall on the project's own labelled set
(``data/moderation/eval/labelled.tsv``, written independently of the word lists), and
``abuse`` against the ``offensive`` label of a public set such as COLD (evaluation only)."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nlp_service.analysis import Analysis, Analyzer
from nlp_service.core.errors import DataFileError, InvalidTextError
from nlp_service.moderation.classifier import ModerationClassifier
from nlp_service.moderation.detect import moderate
from nlp_service.moderation.labels import CATEGORIES
from nlp_service.moderation.lists import load_base_lexicon
from nlp_service.moderation.queue_model import QueueGroups
from nlp_service.text.fold import group_form


def _pr(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0, "support": tp + fn}


def evaluate_own(analyzer: Analyzer, path: Path | None = None, classifier: ModerationClassifier | None = None) -> dict:
    """Per-category precision/recall (and recall on evasions) on our labelled set."""
    path = path or analyzer.settings.data_dir / "moderation" / "eval" / "labelled.tsv"
    if not path.is_file():
        raise DataFileError(f"moderation evaluation set not found: {path}")
    lexicon = load_base_lexicon(analyzer.settings.data_dir)
    counts = {c: Counter() for c in CATEGORIES if c != "flood"}
    flagged_none = total_none = flagged_harmful = total_harmful = 0
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            truth = {c.strip() for c in row["categories"].split(",") if c.strip() and c.strip() != "none"}
            predicted = set(moderate(analyzer.analyze(row["text"]), lexicon, classifier=classifier).categories)
            evasion = row.get("evasion", "no").strip() == "yes"
            if not truth:
                total_none += 1
                flagged_none += bool(predicted)
            else:
                total_harmful += 1
                flagged_harmful += bool(predicted)
            for c, k in counts.items():
                if c in truth and c in predicted:
                    k["tp"] += 1
                    k["evasion_tp"] += evasion
                elif c in predicted:
                    k["fp"] += 1
                elif c in truth:
                    k["fn"] += 1
                    k["evasion_fn"] += evasion
    per = {}
    for c, k in counts.items():
        per[c] = _pr(k["tp"], k["fp"], k["fn"])
        ev = k["evasion_tp"] + k["evasion_fn"]
        per[c]["evasion_recall"] = round(k["evasion_tp"] / ev, 4) if ev else None
        per[c]["evasion_support"] = ev
    return {
        "categories": per,
        "harmless_flagged": flagged_none,
        "harmless_total": total_none,
        # a harmful comment counts as caught when it is flagged at all (a human sees it)
        "flag_recall": round(flagged_harmful / total_harmful, 4) if total_harmful else 0.0,
        "clean_flagged_share": round(flagged_none / total_none, 4) if total_none else 0.0,
    }


def _analysed_rows(analyzer: Analyzer, path: Path, limit: int | None, keep: Callable[[dict], bool] = lambda _row: True) -> Iterator[tuple[str, Analysis, dict]]:
    """(text, analysis, row) of a public ``text,label`` CSV: rows ``keep`` accepts, with a
    text that is not empty once normalised (control characters only are skipped), at most
    ``limit`` of them."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not {"text", "label"} <= set(reader.fieldnames or ()):
            raise DataFileError(f"{path}: needs columns text,label; found {reader.fieldnames}")
        taken = 0
        for row in reader:
            if limit is not None and taken >= limit:
                return
            text = (row["text"] or "").strip()
            if not text or not keep(row):
                continue
            try:
                analysis = analyzer.analyze(text)
            except InvalidTextError:
                continue
            taken += 1
            yield text, analysis, row


def evaluate_chatter(analyzer: Analyzer, path: Path, limit: int | None = None, classifier: ModerationClassifier | None = None) -> dict:
    """Share of chatter (rows labelled ``neutral`` in a text,label set such as danmaku_dev)
    that moderation flags and blocks; the flagged rows are listed for reading."""
    lexicon = load_base_lexicon(analyzer.settings.data_dir)
    n = flagged = blocked = 0
    examples: list[dict] = []
    for text, analysis, _row in _analysed_rows(analyzer, path, limit, keep=lambda r: r["label"].strip() == "neutral"):
        n += 1
        m = moderate(analysis, lexicon, classifier=classifier)
        if m.flagged:
            flagged += 1
            blocked += m.action == "block"
            examples.append({"text": text, "action": m.action, "categories": list(m.categories)})
    return {
        "chatter_rows": n,
        "flagged_share": round(flagged / n, 4) if n else 0.0,
        "blocked_share": round(blocked / n, 4) if n else 0.0,
        "flagged": examples,
    }


def evaluate_offensive(analyzer: Analyzer, path: Path, limit: int | None = None, classifier: ModerationClassifier | None = None) -> dict:
    """``abuse`` (and any block category) against ``offensive`` on a public set like COLD."""
    lexicon = load_base_lexicon(analyzer.settings.data_dir)
    abuse = Counter()
    any_flag = Counter()
    fine = Counter()
    n = correct = 0
    for _text, analysis, row in _analysed_rows(analyzer, path, limit):
        n += 1
        offensive = row["label"].strip() == "offensive"
        cats = set(moderate(analysis, lexicon, classifier=classifier).categories)
        hit = "abuse" in cats
        flag = bool(cats)
        correct += hit == offensive
        abuse["tp" if hit and offensive else "fp" if hit else "fn" if offensive else "tn"] += 1
        any_flag["tp" if flag and offensive else "fp" if flag else "fn" if offensive else "tn"] += 1
        if (row.get("fine_grained") or "").strip() == "1":
            fine["tp" if hit else "fn"] += 1
    return {
        "rows": n,
        # the target: at least 60 % of offensive comments flagged, at most 5 % of safe ones
        "offensive_flagged_share": round(any_flag["tp"] / (any_flag["tp"] + any_flag["fn"]), 4) if any_flag["tp"] + any_flag["fn"] else 0.0,
        "safe_flagged_share": round(any_flag["fp"] / (any_flag["fp"] + any_flag["tn"]), 4) if any_flag["fp"] + any_flag["tn"] else 0.0,
        "abuse_vs_offensive": {**_pr(abuse["tp"], abuse["fp"], abuse["fn"]), "accuracy": round(correct / n, 4) if n else 0.0},
        "any_flag_vs_offensive": _pr(any_flag["tp"], any_flag["fp"], any_flag["fn"]),
        "abuse_recall_on_attacks_on_a_person (fine_grained 1)": round(fine["tp"] / (fine["tp"] + fine["fn"]), 4) if fine else None,
    }


@dataclass(frozen=True, slots=True)
class StreamComment:
    """One comment of a recorded stream, as the queue's eval reads it."""

    text: str
    ts: int | None = None  # epoch ms; None: said at the same time as the others without one
    room: str = ""
    user: str = ""


def evaluate_queue(
    analyzer: Analyzer, comments: Iterable[str | StreamComment], classifier: ModerationClassifier | None = None, group_seconds: int = 0, group_max: int = 50
) -> dict:
    """The moderators' load on a stream: the comments moderation flags (review or block: each
    goes to the human queue), the first category of each, and the queue items a moderator
    sees once a storm of one text is one item (``QueueGroups``: the observe script's rule,
    with ``group_seconds`` over the comments' ``ts``; 0 = one item per comment)."""
    lexicon = load_base_lexicon(analyzer.settings.data_dir)
    n = queued = 0
    first: Counter = Counter()
    groups = QueueGroups(group_seconds * 1000, group_max)
    for c in comments:
        c = StreamComment(c) if isinstance(c, str) else c
        try:
            analysis = analyzer.analyze(c.text)
        except InvalidTextError:
            continue
        n += 1
        m = moderate(analysis, lexicon, classifier=classifier)
        if m.flagged:
            queued += 1
            first[m.categories[0]] += 1
            groups.add(c.room, group_form(c.text, analysis.normalized.text), m.action, c.ts or 0, c.user, c.text)
    return {
        "comments": n, "queued": queued, "queued_share": round(queued / n, 4) if n else 0.0, "by_category": dict(first.most_common()),
        "items": len(groups.items), "items_share": round(len(groups.items) / n, 4) if n else 0.0, "group_seconds": group_seconds,
        "largest_items": [{"text": i.text, "repeats": i.repeats, "users": len(i.users)} for i in groups.largest(5)],
    }  # fmt: skip
