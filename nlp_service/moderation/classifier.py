"""A learned moderation score per category, for what the word lists cannot list.

Rooms evade lists with redirects (某宝搜店名, 看我主页), slang (飞行员, 菠菜, 溜冰) and
insults made of ordinary words (脑子进水了吧). A linear model over the character 1–3-grams
of the matching form, plus the list and pattern hits as features (``hit:abuse:exact``),
scores each category (one-vs-rest logistic regressions, trained by
``moderation/training.py``).

It runs on every live comment, so scoring is a sparse dot written out here instead of
scikit-learn's ``predict_proba`` (about 1 ms of input checks per call): each feature's row
holds ``idf²`` and ``idf·w`` for every category, one gather and one sum give every score.
With binary tf (a feature counts once) the l2 norm is √Σidf², so nothing needs correcting
for repeats. ``tests/moderation/test_classifier.py`` proves it equal to scikit-learn.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import InitVar, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nlp_service.classify import artifacts
from nlp_service.core.speedups import (  # compiled, or None (the Python below)
    StrTable,
    flagged_logits,
    row_sums,
)
from nlp_service.moderation.lexicon import Hit

if TYPE_CHECKING:  # the service never imports scikit-learn: it loads plain arrays
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

NAME = "moderation"
MAX_NGRAM = 3


def comment_features(text: str, hits: Iterable[Hit]) -> list[str]:
    """Character 1–3-grams of the matching form (spaces dropped: 看 我 主 页 reads as
    看我主页) and one ``hit:<category>:<how>`` per kind of list or pattern hit."""
    s = text.replace(" ", "")
    out: dict[str, None] = {}
    n = len(s)
    for i in range(n):
        out[s[i]] = None
        if i + 1 < n:
            out[s[i : i + 2]] = None
            if i + 2 < n:
                out[s[i : i + 3]] = None
    for h in hits:
        out[f"hit:{h.category}:{h.how}"] = None
    return list(out)


def sentiment_feature(score: float) -> str:
    """The group model's extra feature: the comment's sentiment score in tenths (``sent:0``
    is the most negative). An attack on a group reads no insult, but it reads negative."""
    return f"sent:{min(9, max(0, int(score * 10)))}"


@dataclass(frozen=True)
class ModerationClassifier:
    """Fitted one-vs-rest weights as plain arrays, with a review threshold per category."""

    vocabulary: dict[str, int]
    matrix: np.ndarray  # (n_features, 1 + n_categories): idf², then idf·w per category
    intercept: np.ndarray  # (n_categories,)
    categories: tuple[str, ...]
    thresholds: dict[str, float]
    meta: dict
    # The model for comments that name a group of people (``group_model.py``); its abuse
    # score and threshold drive ``detect._group_attack``. None: the rule is off.
    group: ModerationClassifier | None = None
    # the vocabulary's C table when it is already built (``model_cache.py`` maps it from the
    # start-up cache); None: built here from ``vocabulary``
    table: InitVar[StrTable | None] = None

    @classmethod
    def from_fitted(
        cls, vectorizer: TfidfVectorizer, models: Sequence[LogisticRegression], categories: Sequence[str],
        thresholds: dict[str, float], meta: dict | None = None,
    ) -> ModerationClassifier:  # fmt: skip
        """The fast path from a fitted ``TfidfVectorizer(binary=True, norm='l2')`` and one
        binary ``LogisticRegression`` per category."""
        if vectorizer.norm != "l2" or not vectorizer.use_idf or not vectorizer.binary:
            raise ValueError("fast path supports TfidfVectorizer(binary=True, norm='l2', use_idf=True) only")
        idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        coef = np.stack([np.asarray(m.coef_[0], dtype=np.float64) for m in models], axis=1)
        matrix = np.hstack([(idf**2)[:, None], idf[:, None] * coef])
        return cls(
            vocabulary={str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
            matrix=np.ascontiguousarray(matrix),
            intercept=np.array([float(m.intercept_[0]) for m in models]),
            categories=tuple(categories),
            thresholds=dict(thresholds),
            meta=dict(meta or {}),
        )

    def __post_init__(self, table: StrTable | None = None) -> None:
        # flags() compares raw scores with logit(threshold): no exp on the usual clean comment
        th = [min(max(self.thresholds.get(c, 1.0), 1e-9), 1 - 1e-9) for c in self.categories]
        object.__setattr__(self, "_logit", [math.log(t / (1 - t)) for t in th])
        object.__setattr__(self, "_bias", self.intercept.tolist())
        object.__setattr__(self, "_bias_t", tuple(self._bias))
        object.__setattr__(self, "_logit_t", tuple(self._logit))
        # the vocabulary as a C table: one call finds every n-gram's row (no substrings built)
        # (the table reads the int rows as floats itself, exact below 2**53: no float dict to build)
        if table is None and StrTable is not None:
            table = StrTable(self.vocabulary)
        object.__setattr__(self, "_table", table)

    @property
    def vocabulary_table(self) -> StrTable | None:
        """The vocabulary as a C table (None without the build)."""
        return self._table  # type: ignore[attr-defined]

    @property
    def biases(self) -> tuple[float, ...]:
        return self._bias_t  # type: ignore[attr-defined]

    @property
    def logit_thresholds(self) -> tuple[float, ...]:
        """Each category's review threshold as a raw score (what :meth:`flags` compares)."""
        return self._logit_t  # type: ignore[attr-defined]

    def rows_of(self, text: str, hits: Iterable[Hit] = ()) -> list[int]:
        """The known feature rows of a comment: ``comment_features`` looked up in one pass
        without building the n-gram list first (the hot path; tested equal)."""
        if self._table is not None:
            rows = self._table.gram_rows(text, MAX_NGRAM)
            get = self._table.get  # the table, not the dict: a mapped model never builds the dict (model_cache.py)
            for h in hits:
                j = get(f"hit:{h.category}:{h.how}")
                if j is not None and int(j) not in rows:  # the table keeps the rows as floats (exact)
                    rows.append(int(j))
            return rows
        return self.rows_of_py(text, hits)

    def rows_of_py(self, text: str, hits: Iterable[Hit] = ()) -> list[int]:
        """:meth:`rows_of` in Python (the fallback, and the reference for the C walk)."""
        vocab = self.vocabulary
        get = vocab.get
        s = text.replace(" ", "")
        seen: set[int] = set()
        n = len(s)
        for i in range(n):
            for j in (get(s[i]), get(s[i : i + 2]) if i + 1 < n else None, get(s[i : i + 3]) if i + 2 < n else None):
                if j is not None:
                    seen.add(j)
        for h in hits:
            j = get(f"hit:{h.category}:{h.how}")
            if j is not None:
                seen.add(j)
        return list(seen)

    def _raw(self, idx: list[int]) -> list[float]:
        """Raw scores (logits). Past the one gather and sum, seven floats are cheaper in
        plain Python than as numpy operations (each costs ~1 µs of call overhead)."""
        if not idx:
            return list(self._bias)
        row = row_sums(self.matrix, idx) if row_sums is not None else np.add.reduce(self.matrix.take(idx, axis=0), 0).tolist()
        inv = 1.0 / math.sqrt(row[0])
        return [v * inv + b for v, b in zip(row[1:], self._bias, strict=True)]

    def scores(self, text: str, hits: Iterable[Hit] = ()) -> dict[str, float]:
        """P(category) for one comment's matching form and its list/pattern hits."""
        z = self._raw(self.rows_of(text, hits))
        return {c: 1.0 / (1.0 + math.exp(-v)) for c, v in zip(self.categories, z, strict=True)}

    def scores_of(self, features: Iterable[str]) -> dict[str, float]:
        """P(category) from precomputed features (each counted once)."""
        if self._table is not None:  # as in rows_of: the same rows in the same order, so the same set
            get = self._table.get
            idx = list({int(j) for j in map(get, features) if j is not None})
        else:
            vocab = self.vocabulary
            idx = list({j for j in (vocab.get(f) for f in features) if j is not None})
        z = self._raw(idx)
        return {c: 1.0 / (1.0 + math.exp(-v)) for c, v in zip(self.categories, z, strict=True)}

    def flags(self, text: str, hits: Iterable[Hit] = ()) -> dict[str, float]:
        """The categories whose score reaches its threshold: {category: score}."""
        if flagged_logits is not None:  # one C call; a clean comment makes no float at all
            found = flagged_logits(self.matrix, self.rows_of(text, hits), self._bias_t, self._logit_t)
            if not found:  # the usual comment
                return {}
            return _flagged(self.categories, found)
        return self.flags_py(text, hits)

    def flags_py(self, text: str, hits: Iterable[Hit] = ()) -> dict[str, float]:
        """:meth:`flags` in Python (the fallback, and the reference for the C call)."""
        z = self._raw(self.rows_of(text, hits))
        return {c: 1.0 / (1.0 + math.exp(-v)) for c, v, t in zip(self.categories, z, self._logit, strict=True) if v >= t}


def _flagged(categories: tuple[str, ...], found: list[tuple[int, float]]) -> dict[str, float]:
    """{category: P} of flagged_logits' (k, z): apart from ``flags`` because a comprehension
    there made ``self`` a cell at every call, the clean comment's too."""
    return {categories[k]: 1.0 / (1.0 + math.exp(-v)) for k, v in found}


def weights_path(models_dir: Path) -> Path:
    return models_dir / f"{NAME}.weights.npz"


def card_path(models_dir: Path) -> Path:
    return models_dir / f"{NAME}.card.md"


def save(models_dir: Path, model: ModerationClassifier) -> None:
    """Arrays and metadata only (``allow_pickle=False`` on load), written atomically."""
    models_dir.mkdir(parents=True, exist_ok=True)
    arrays = _arrays(model, "")
    if model.group is not None:
        arrays.update(_arrays(model.group, GROUP_PREFIX))
    path = weights_path(models_dir)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        np.savez_compressed(fh, **arrays)
    tmp.replace(path)
    artifacts.forget(path)


def load(models_dir: Path) -> ModerationClassifier | None:
    """The trained classifier, or None when ``nlp-service train`` has not made one (the
    word lists then work alone). Cached; reloaded when the file changes."""
    try:
        return artifacts.load_npz(weights_path(models_dir), from_arrays)
    except FileNotFoundError:
        return None


GROUP_PREFIX = "group_"  # the group model's arrays sit beside the main model's in one file


def _arrays(model: ModerationClassifier, prefix: str) -> dict[str, np.ndarray]:
    vocab = sorted(model.vocabulary, key=model.vocabulary.__getitem__)  # row order
    meta = {**model.meta, "thresholds": model.thresholds}
    return {
        f"{prefix}vocabulary": np.array(vocab, dtype=str),
        f"{prefix}matrix": model.matrix,
        f"{prefix}intercept": model.intercept,
        f"{prefix}categories": np.array(model.categories, dtype=str),
        f"{prefix}meta": np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True)),
    }


def from_arrays(z, prefix: str = "") -> ModerationClassifier:
    vocab = z[f"{prefix}vocabulary"].tolist()
    meta = json.loads(str(z[f"{prefix}meta"]))
    group = from_arrays(z, GROUP_PREFIX) if not prefix and f"{GROUP_PREFIX}vocabulary" in z.files else None
    return ModerationClassifier(
        vocabulary=dict(zip(vocab, range(len(vocab)), strict=True)),
        matrix=np.ascontiguousarray(z[f"{prefix}matrix"]),
        intercept=z[f"{prefix}intercept"],
        categories=tuple(z[f"{prefix}categories"].tolist()),
        thresholds={str(k): float(v) for k, v in meta.pop("thresholds").items()},
        meta=meta,
        group=group,
    )
