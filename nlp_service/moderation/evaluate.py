"""Evaluate moderation: per-category precision/recall on the project's own labelled set
(``data/moderation/eval/labelled.tsv``, written independently of the word lists and never
trained on), ``abuse`` against the ``offensive`` label of a public set such as COLD, and
the share of plain chatter flagged on a set of real chat labelled neutral (danmaku), the
last two for evaluation only. ``classifier`` None measures the word lists alone."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from nlp_service.analysis import Analyzer
from nlp_service.core.errors import DataFileError, InvalidTextError
from nlp_service.moderation.classifier import ModerationClassifier
from nlp_service.moderation.detect import BLOCK, CATEGORIES, moderate
from nlp_service.moderation.lists import load_base_lexicon


def _pr(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0, "support": tp + fn}


def evaluate_own(analyzer: Analyzer, path: Path | None = None, classifier: ModerationClassifier | None = None) -> dict:
    """Per-category precision/recall (and recall on evasions) on our labelled set, with the
    share of harmful rows flagged at all (any category) and of harmless rows flagged."""
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
        "categories": per, "harmless_flagged": flagged_none, "harmless_total": total_none,
        "harmful_flagged": flagged_harmful, "harmful_total": total_harmful,
    }  # fmt: skip


def evaluate_offensive(analyzer: Analyzer, path: Path, limit: int | None = None, classifier: ModerationClassifier | None = None) -> dict:
    """``abuse`` (and any block category) against ``offensive`` on a public set like COLD;
    ``offensive_caught`` / ``safe_flagged``: rows given a harm category (abuse, sexual,
    ad_contact, illegal, personal_info); ``*_flagged_any``: rows flagged at all (complaint and
    fraud_claim included, any action)."""
    lexicon = load_base_lexicon(analyzer.settings.data_dir)
    abuse = Counter()
    any_flag = Counter()
    fine = Counter()
    flagged = Counter()
    n = correct = 0
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not {"text", "label"} <= set(reader.fieldnames or ()):
            raise DataFileError(f"{path}: needs columns text,label; found {reader.fieldnames}")
        for row in reader:
            if limit is not None and n >= limit:
                break
            text = row["text"].strip()
            if not text:
                continue
            n += 1
            offensive = row["label"].strip() == "offensive"
            cats = set(moderate(analyzer.analyze(text), lexicon, classifier=classifier).categories)
            label = "offensive" if offensive else "safe"
            flagged[(label, bool(cats - {"complaint", "fraud_claim"}))] += 1
            flagged[(label + "_any", bool(cats))] += 1
            hit = "abuse" in cats
            flag = bool(cats - {"complaint", "fraud_claim"})
            correct += hit == offensive
            abuse["tp" if hit and offensive else "fp" if hit else "fn" if offensive else "tn"] += 1
            any_flag["tp" if flag and offensive else "fp" if flag else "fn" if offensive else "tn"] += 1
            if row.get("fine_grained", "").strip() == "1":
                fine["tp" if hit else "fn"] += 1
    def share(label: str) -> float:
        total = flagged[(label, True)] + flagged[(label, False)]
        return round(flagged[(label, True)] / total, 4) if total else 0.0

    return {
        "rows": n,
        "offensive_caught": share("offensive"),
        "safe_flagged": share("safe"),
        "offensive_flagged_any": share("offensive_any"),
        "safe_flagged_any": share("safe_any"),
        "abuse_vs_offensive": {**_pr(abuse["tp"], abuse["fp"], abuse["fn"]), "accuracy": round(correct / n, 4) if n else 0.0},
        "any_block_category_vs_offensive": _pr(any_flag["tp"], any_flag["fp"], any_flag["fn"]),
        "abuse_recall_on_attacks_on_a_person (fine_grained 1)": round(fine["tp"] / (fine["tp"] + fine["fn"]), 4) if fine else None,
    }


def evaluate_chatter(analyzer: Analyzer, path: Path, limit: int | None = None, classifier: ModerationClassifier | None = None) -> dict:
    """Share of real chat labelled ``neutral`` (no opinion: the bulk of a room) that
    moderation flags and blocks, on a text,label CSV such as danmaku_dev (evaluation only).
    PRODUCT.md targets: at most 2 % flagged and 0.2 % blocked."""
    lexicon = load_base_lexicon(analyzer.settings.data_dir)
    n = flagged = blocked = 0
    by_category: Counter = Counter()
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not {"text", "label"} <= set(reader.fieldnames or ()):
            raise DataFileError(f"{path}: needs columns text,label; found {reader.fieldnames}")
        for row in reader:
            if limit is not None and n >= limit:
                break
            text = row["text"].strip()
            if row["label"].strip() != "neutral" or not text:
                continue
            try:
                analysis = analyzer.analyze(text)
            except InvalidTextError:
                continue  # text the service refuses (empty after normalising) is never flagged
            n += 1
            m = moderate(analysis, lexicon, classifier=classifier)
            flagged += m.flagged
            blocked += m.action == BLOCK
            by_category.update(m.categories)
    return {
        "neutral_rows": n,
        "flagged_share": round(flagged / n, 4) if n else 0.0,
        "blocked_share": round(blocked / n, 4) if n else 0.0,
        "flagged_by_category": dict(by_category.most_common()),
    }
