"""Train the moderation classifier from ``data/moderation/train/*.tsv``.

Each file is hand-written (``text<TAB>categories<TAB>kind``; categories comma-separated
or ``none``; kind plain / evasion / hard_negative). At training time every row gets the
same fixed set of evasion variants (``augment.py``), and a row's variants always fall in
the same fold and the same split as the row, so held-out figures never see a disguise of
a training comment.

Thresholds are chosen on out-of-fold predictions (5 folds over the training rows): per
category, the lowest score whose out-of-fold precision is at least ``precision_target``.
Clean rows (no category) weigh ``clean_weight`` times a harmful one, in the fit and in that
precision: a live room is mostly clean, and a model fitted to a half-harmful file would
otherwise flag ordinary chat (measured on real chat: 你/是/吧 alone read as abuse).
Held-out rows (10 % of the base rows, chosen by a hash of the text, or of the row's family:
one template's rows stay together) are scored once at the end. Everything is deterministic (fixed folds, lbfgs, no shuffling): the same data gives
the same weights, and the model card's weight hash shows it.

Comments that name a group of people get a model of their own (``group_model.py``): the
main model learns from the other rows, the live room's chat, and keeps its thresholds.
The rows are read in ``training_data.py``, the model card written by ``model_card.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from nlp_service.classify.artifacts import content_hash
from nlp_service.classify.datasets import is_held_out
from nlp_service.classify.features import passthrough
from nlp_service.classify.training import TrainResult
from nlp_service.core.config import Settings, get_settings
from nlp_service.moderation import augment
from nlp_service.moderation import classifier as clf_mod
from nlp_service.moderation.classifier import ModerationClassifier, comment_features
from nlp_service.moderation.labels import LIST_CATEGORIES
from nlp_service.moderation.lexicon import Lexicon
from nlp_service.moderation.lists import load_base_lexicon
from nlp_service.moderation.model_card import model_card
from nlp_service.moderation.patterns import find_patterns
from nlp_service.moderation.training_data import FOLDS, KINDS, TrainingRow, read_rows
from nlp_service.text.normalize import normalize

SEED = 0

__all__ = [
    "FOLDS", "KINDS", "TrainingRow", "choose_threshold",
    "expand", "featurize", "fit", "model_card", "read_rows", "train_from_rows", "train_moderation", "weights_hash",
]  # fmt: skip


def featurize(text: str, lexicon: Lexicon) -> list[str] | None:
    """The classifier's features for a raw comment (None when it normalises to nothing)."""
    try:
        norm = normalize(text)
    except ValueError:
        return None
    return comment_features(norm.text, [*lexicon.find(norm.text), *find_patterns(norm.original)])


@dataclass
class Expanded:
    features: list[list[str]]
    labels: np.ndarray  # (n, n_categories) of 0/1
    groups: list[int]  # index of the base row
    kinds: list[str]


def expand(
    rows: Sequence[TrainingRow], lexicon: Lexicon, n_variants: int, table: dict[str, tuple[str, ...]],
    categories: Sequence[str] = LIST_CATEGORIES, extra: Callable[[str], list[str]] | None = None,
) -> Expanded:  # fmt: skip
    feats, labels, groups, kinds = [], [], [], []
    for g, row in enumerate(rows):
        y = [int(c in row.categories) for c in categories]
        for text in augment.variants(row.text, n_variants, table):
            f = featurize(text, lexicon)
            if f is None:
                continue
            feats.append(f if extra is None else [*f, *extra(text)])
            labels.append(y)
            groups.append(g)
            kinds.append(row.kind)
    return Expanded(feats, np.array(labels, dtype=np.int8).reshape(-1, len(categories)), groups, kinds)


def clean_weights(labels: np.ndarray, clean_weight: float) -> np.ndarray:
    """Per-row weight: ``clean_weight`` for a row with no category, 1 otherwise."""
    return np.where(labels.any(axis=1), 1.0, clean_weight)


def fit(
    features: Sequence[list[str]], labels: np.ndarray, *, C: float, min_df: int, clean_weight: float = 1.0
) -> tuple[TfidfVectorizer, list[LogisticRegression]]:
    """One binary-tf TF-IDF over all rows, one logistic regression per category."""
    vec = TfidfVectorizer(analyzer=passthrough, binary=True, norm="l2", min_df=min_df)
    X = vec.fit_transform(features)
    w = clean_weights(labels, clean_weight)
    models = [LogisticRegression(C=C, max_iter=3000, random_state=SEED).fit(X, labels[:, k], sample_weight=w) for k in range(labels.shape[1])]
    return vec, models


def _fold(text: str) -> int:
    return int.from_bytes(hashlib.md5(text.encode("utf-8")).digest()[4:8], "big") % FOLDS


def out_of_fold(data: Expanded, rows: Sequence[TrainingRow], *, C: float, min_df: int, clean_weight: float) -> np.ndarray:
    """Scores of every expanded row from a model that never saw its base row."""
    fold = np.array([_fold(rows[g].key) for g in data.groups])
    oof = np.zeros(data.labels.shape)
    for k in range(FOLDS):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        vec, models = fit([data.features[i] for i in train], data.labels[train], C=C, min_df=min_df, clean_weight=clean_weight)
        X = vec.transform([data.features[i] for i in test])
        for c, m in enumerate(models):
            oof[test, c] = m.predict_proba(X)[:, 1]
    return oof


def choose_threshold(y: np.ndarray, scores: np.ndarray, precision_target: float, weights: np.ndarray | None = None) -> float:
    """The lowest threshold (0.05 steps of 0.01 up to 0.95) whose (weighted) precision
    reaches the target; 0.95 when none does."""
    w = np.ones(len(y)) if weights is None else weights
    for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
        flagged = scores >= t
        if flagged.any() and (w[flagged] * y[flagged]).sum() / w[flagged].sum() >= precision_target:
            return float(t)
    return 0.95


def _pr(y: np.ndarray, flagged: np.ndarray) -> dict:
    tp = int((flagged & (y == 1)).sum())
    fp, fn = int((flagged & (y == 0)).sum()), int((~flagged & (y == 1)).sum())
    return {"precision": round(tp / (tp + fp), 4) if tp + fp else 0.0, "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0, "support": tp + fn}


def train_from_rows(
    rows: Sequence[TrainingRow], lexicon: Lexicon, *, C: float = 2.0, min_df: int = 2, n_variants: int = 6,
    precision_target: float = 0.9, clean_weight: float = 6.0, log: Callable[[str], None] = print,
    categories: Sequence[str] = LIST_CATEGORIES, extra: Callable[[str], list[str]] | None = None,
) -> tuple[ModerationClassifier, dict]:  # fmt: skip
    """Fit on ``rows`` (thresholds from out-of-fold scores); returns the model and a report.
    ``categories``: the ones to learn (the group model learns abuse alone); ``extra``: more
    features of a raw comment beside the n-grams and hits (the group model's sentiment)."""
    # One BLAS thread, as for intent: lbfgs steps are tiny, threads only spin on a busy
    # machine, and the weights then do not depend on the core count.
    with threadpool_limits(limits=1, user_api="blas"):
        return _train_from_rows(
            rows, lexicon, C=C, min_df=min_df, n_variants=n_variants, precision_target=precision_target,
            clean_weight=clean_weight, log=log, categories=tuple(categories), extra=extra,
        )  # fmt: skip


def _train_from_rows(
    rows: Sequence[TrainingRow], lexicon: Lexicon, *, C: float, min_df: int, n_variants: int,
    precision_target: float, clean_weight: float, log: Callable[[str], None], categories: tuple[str, ...],
    extra: Callable[[str], list[str]] | None,
) -> tuple[ModerationClassifier, dict]:  # fmt: skip
    train_rows = [r for r in rows if not is_held_out(r.key)]
    test_rows = [r for r in rows if is_held_out(r.key)]
    table = augment.homophone_table(r.text for r in train_rows)
    train = expand(train_rows, lexicon, n_variants, table, categories, extra)
    log(f"moderation: {len(train_rows)} base rows → {len(train.features)} with variants; {FOLDS}-fold thresholds")
    oof = out_of_fold(train, train_rows, C=C, min_df=min_df, clean_weight=clean_weight)
    weights = clean_weights(train.labels, clean_weight)
    thresholds, oof_metrics = {}, {}
    for c, cat in enumerate(categories):
        thresholds[cat] = choose_threshold(train.labels[:, c], oof[:, c], precision_target, weights)
        oof_metrics[cat] = _pr(train.labels[:, c], oof[:, c] >= thresholds[cat])
    vec, models = fit(train.features, train.labels, C=C, min_df=min_df, clean_weight=clean_weight)
    params = {"C": C, "min_df": min_df, "n_variants": n_variants, "precision_target": precision_target, "clean_weight": clean_weight, "ngrams": "1-3 chars"}
    model = ModerationClassifier.from_fitted(vec, models, categories, thresholds, meta={"params": params})
    test = expand(test_rows, lexicon, n_variants, table, categories, extra)
    flagged = np.array([[p >= thresholds[c] for c, p in model.scores_of(f).items()] for f in test.features]).reshape(-1, len(categories))
    held = {cat: _pr(test.labels[:, c], flagged[:, c]) for c, cat in enumerate(categories)}
    hard = [i for i, k in enumerate(test.kinds) if k == "hard_negative"]
    report = {
        "sizes": {
            "base_rows": len(rows), "train_base_rows": len(train_rows), "heldout_base_rows": len(test_rows),
            "train_rows_with_variants": len(train.features), "heldout_rows_with_variants": len(test.features),
            **{f"kind_{k}": sum(r.kind == k for r in rows) for k in KINDS},
            **{f"category_{c}": sum(c in r.categories for r in rows) for c in categories},
        },
        "params": params,
        "thresholds": thresholds,
        "oof_at_threshold": oof_metrics,
        "heldout_at_threshold": held,
        "heldout_hard_negatives_flagged": f"{int(flagged[hard].any(axis=1).sum())} of {len(hard)}" if hard else "0 of 0",
        "features": len(model.vocabulary),
        "weights_hash": weights_hash(model),
    }  # fmt: skip
    return model, report


def weights_hash(model: ModerationClassifier) -> str:
    """A content hash of the learned weights (the group model's too): equal hashes mean equal models."""
    tail = repr(sorted(model.thresholds.items())).encode()
    if model.group is not None:
        tail += weights_hash(model.group).encode()
    return content_hash(model.vocabulary, (model.matrix, model.intercept), tail)


def train_moderation(settings: Settings | None = None, *, log: Callable[[str], None] = print, **params: object) -> TrainResult:
    """Train on ``data/moderation/train/`` and save ``models/moderation.weights.npz`` + card."""
    # imported here: group_model builds on this module's train_from_rows
    from nlp_service.moderation.group_model import train_with_group_model

    settings = settings or get_settings()
    rows = read_rows(settings.data_dir / "moderation" / "train")
    lexicon = load_base_lexicon(settings.data_dir)
    model, report = train_with_group_model(settings, rows, lexicon, log=log, **params)
    clf_mod.save(settings.models_dir, model)
    clf_mod.card_path(settings.models_dir).write_text(model_card(report), encoding="utf-8")
    metrics = {f"heldout {c}": m for c, m in report["heldout_at_threshold"].items()}
    return TrainResult(name=clf_mod.NAME, sizes=report["sizes"], metrics=metrics, params=report["params"], weights_hash=report["weights_hash"], extra=report)
