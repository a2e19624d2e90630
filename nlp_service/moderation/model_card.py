"""The moderation classifier's model card (``models/moderation.card.md``): data, sizes, how the
thresholds and the group-attack cutoff were chosen, out-of-fold and held-out figures."""

from __future__ import annotations

import datetime as dt
import platform

import sklearn

from nlp_service.moderation import classifier as clf_mod
from nlp_service.moderation.group_cutoff import GROUP_CUTOFFS, GROUP_PRECISION
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
        "Held-out rows are 10 % of the base rows by a hash of the text. These are the model's figures alone; "
        "with the word lists, and on outside data, see `nlp-service eval`.",
        "",
        "## Attacks on a group with no listed word",
        "",
        "A comment that names a group of people (`data/moderation/groups.txt`) and whose sentiment score is under "
        f"the cutoff goes to review as abuse (`detect._group_attack`). Cutoff: **{report.get('group_attack_cutoff')}**, "
        f"the largest of {GROUP_CUTOFFS} whose precision on the training rows that name a group (abuse against clean) "
        f"is at least {GROUP_PRECISION}; {report.get('group_attack', {}).get('rows_naming_a_group', 0)} such rows, "
        f"{report.get('group_attack', {}).get('abuse_among_them', 0)} of them abuse.",
        "",
        "| cutoff | flagged | precision | recall |",
        "|---|---|---|---|",
        *(f"| {c} | {v['flagged']} | {v['precision']:.3f} | {v['recall']:.3f} |" for c, v in report.get("group_attack", {}).get("by_cutoff", {}).items()),
        "",
    ]
    return "\n".join(lines)
