"""The moderation classifier's model card (``models/moderation.card.md``): data, sizes, how the
thresholds and the group model's threshold were chosen, out-of-fold and held-out figures."""

from __future__ import annotations

import datetime as dt
import platform

import sklearn

from nlp_service.moderation import classifier as clf_mod
from nlp_service.moderation.labels import LIST_CATEGORIES
from nlp_service.moderation.training_data import FOLDS


def model_card(report: dict) -> str:
    """Markdown: data, sizes, how thresholds were chosen, out-of-fold and held-out figures."""
    lines = [
        f"# Model card: {clf_mod.NAME}",
        "",
        f"- trained: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} by `nlp-service train`",
        f"- weights hash: `{report['weights_hash']}` (same data + code → same hash)",
        f"- categories: {', '.join(LIST_CATEGORIES)} (one-vs-rest; flood is counted in Redis, not learned)",
        f"- features: {report['features']} (character 1–3-grams of the matching form, list/pattern hits `hit:<category>:<how>`)",
        f"- estimator: TF-IDF (binary tf, l2) + one LogisticRegression (lbfgs) per category, scikit-learn {sklearn.__version__}, "
        f"Python {platform.python_version()}",
        f"- parameters: {report['params']}",
        "",
        "## Data",
        "",
        "Hand-written live-room comments in `data/moderation/train/*.tsv` (none taken from the public evaluation sets), "
        "each expanded at training time with deterministic evasion variants (`moderation/augment.py`).",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in report["sizes"].items()]
    lines += [
        "",
        "## Thresholds",
        "",
        f"Per category, the lowest score (0.05–0.95, steps of 0.01) whose out-of-fold precision ({FOLDS} folds over the "
        f"training base rows, a row's variants in its fold) is at least {report['params']['precision_target']}, "
        f"clean rows weighted {report['params']['clean_weight']}× (rooms are mostly clean). "
        "A score past its threshold sends the comment to review; the model alone never blocks (detect.py).",
        "",
        "| category | threshold | OOF precision (unweighted) | OOF recall | held-out precision | held-out recall | held-out support |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in LIST_CATEGORIES:
        o, h = report["oof_at_threshold"][c], report["heldout_at_threshold"][c]
        lines.append(f"| {c} | {report['thresholds'][c]:.2f} | {o['precision']:.3f} | {o['recall']:.3f} | {h['precision']:.3f} | {h['recall']:.3f} | {h['support']} |")
    lines += [
        "",
        f"Held-out hard negatives (with their variants) flagged: {report['heldout_hard_negatives_flagged']}.",
        "Held-out rows are 10 % of the base rows by a hash of the text (or of the row's template family). These are the model's figures alone; "
        "with the word lists, and on outside data, see `nlp-service eval`.",
        "",
        *_group_section(report.get("group_model")),
        "",
    ]
    return "\n".join(lines)


def _group_section(g: dict | None) -> list[str]:
    """The group model's part of the card (``group_model.py``)."""
    if not g:
        return []
    o, h, p = g["oof_at_threshold"]["abuse"], g["heldout_at_threshold"]["abuse"], g["params"]
    return [
        "## Attacks on a group with no listed word: the group model",
        "",
        f"Trained the same way on the {g['rows']} rows that name a group of people (`data/moderation/groups.txt`, "
        f"as `detect.group_mention` sees it; {g['abuse_rows']} of them abuse); the main model above learns from the other rows. "
        "A comment that names a group and whose group-model abuse score reaches the threshold goes to review as abuse "
        "(`detect._group_attack`), never to block. Threshold: the lowest score whose out-of-fold precision is at least "
        f"{p['precision_target']}, clean rows weighted {p['clean_weight']}×, as for the main model. Beside the n-grams and hits "
        "it sees the comment's sentiment score in tenths (`sent:0`…`sent:9`).",
        "",
        "| threshold | OOF precision | OOF recall | held-out precision | held-out recall | held-out support |",
        "|---|---|---|---|---|---|",
        f"| {g['thresholds']['abuse']:.2f} | {o['precision']:.3f} | {o['recall']:.3f} | {h['precision']:.3f} | {h['recall']:.3f} | {h['support']} |",
        "",
        f"Held-out clean rows (with their variants) flagged by the group model: {g['heldout_hard_negatives_flagged']}; "
        f"features: {g['features']}.",
    ]
