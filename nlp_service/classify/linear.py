"""The fast path: score a fitted TF-IDF + linear model straight from its learned weights.

scikit-learn's ``predict_proba`` costs about 0.9 ms per call on one comment, almost all
of it input validation and sparse-matrix set-up. A comment has a few dozen features, so
we gather their weight rows and do the same arithmetic ourselves in a few microseconds.
``tests/classify/test_linear.py`` proves the results equal the scikit-learn pipeline's.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nlp_service.classify.features import contrast_split, text_negated_positions
from nlp_service.core.speedups import StrTable, fused_probs  # compiled, or None (the Python below)
from nlp_service.core.tablecache import mapped

if TYPE_CHECKING:  # the service never imports scikit-learn: it loads plain arrays
    from sklearn.pipeline import Pipeline


def count_features(vocabulary: dict[str, int], features: Sequence[str]) -> dict[int, int]:
    """Column index → count for the features the model knows (unknown ones carry no weight)."""
    counts: dict[int, int] = {}
    for f in features:
        j = vocabulary.get(f)
        if j is not None:
            counts[j] = counts.get(j, 0) + 1
    return counts


@dataclass(frozen=True)
class FastLinear:
    """TF-IDF (l2, optional sublinear tf) followed by a linear classifier, as plain arrays."""

    vocabulary: dict[str, int]
    idf: np.ndarray  # (n_features,)
    weights: np.ndarray  # (n_features, n_scores)
    intercept: np.ndarray  # (n_scores,)
    classes: tuple[str, ...]
    sublinear_tf: bool
    binary: bool  # a two-class model with one score column (sigmoid)

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> FastLinear:
        """Derive the fast path from a fitted ``Pipeline([("tfidf", ...), ("clf", ...)])``."""
        vec = pipeline.named_steps["tfidf"]
        clf = pipeline.named_steps["clf"]
        if vec.norm != "l2" or not vec.use_idf:
            raise ValueError("fast path supports TfidfVectorizer(norm='l2', use_idf=True) only")
        coef = np.asarray(clf.coef_, dtype=np.float64)
        return cls(
            vocabulary={str(k): int(v) for k, v in vec.vocabulary_.items()},
            idf=np.asarray(vec.idf_, dtype=np.float64),
            weights=np.ascontiguousarray(coef.T),
            intercept=np.asarray(clf.intercept_, dtype=np.float64),
            classes=tuple(str(c) for c in clf.classes_),
            sublinear_tf=bool(vec.sublinear_tf),
            binary=coef.shape[0] == 1,
        )

    def predict_proba(self, features: Sequence[str]) -> np.ndarray:
        """Class probabilities for one comment's features, in ``classes`` order."""
        counts = count_features(self.vocabulary, features)
        if counts:
            idx = list(counts)
            tf = [1.0 + math.log(c) if self.sublinear_tf else float(c) for c in counts.values()]
            vals = np.multiply(tf, self.idf[idx])
            norm = math.sqrt(float(vals @ vals))
            scores = (vals @ self.weights[idx]) / norm + self.intercept
        else:
            scores = self.intercept.copy()
        if self.binary:
            p = 1.0 / (1.0 + math.exp(-float(scores[0])))
            return np.array([1.0 - p, p])
        scores = scores - scores.max()
        np.exp(scores, out=scores)
        scores /= scores.sum()
        return scores


def _mapped_fused(blobs: list[memoryview], shape: tuple[int, int]) -> tuple[object, np.ndarray]:
    """FusedLinear's (C table, matrix) read in place from the start-up cache's blocks (the
    matrix read-only, its pages shared by every process that maps the file)."""
    return StrTable.frombuffer(blobs[0]), np.frombuffer(blobs[1], dtype=np.float64).reshape(shape)


class FusedLinear:
    """Several :class:`FastLinear` models over one feature lookup and one row gather.

    Each model contributes columns ``idf²`` and ``idf·W`` to one matrix indexed by the union
    of the vocabularies (a feature a model never saw has zeros there), so scoring sentiment
    and intent together costs one dict pass, one gather and one matrix product.
    """

    def __init__(self, models: dict[str, FastLinear], cache_dir: Path | None = None, sources: Sequence[Path] = ()) -> None:
        """``cache_dir``: keep the union's C table and the matrix in the start-up cache, keyed
        on ``sources`` (the models' files), and map them from there on the next start."""
        self.names = tuple(models)
        self._models = models
        # (name, idf² column, first idf·W column, width, intercept, binary)
        self._layout: list[tuple[str, int, int, int, list[float], bool]] = []
        col = 0
        for name, m in models.items():
            width = len(m.intercept)  # the weights' columns, without reading the weights (artifacts._LazyFastLinear)
            self._layout.append((name, col, col + 1, width, m.intercept.tolist(), m.binary))
            col += 1 + width
        sublinear = {m.sublinear_tf for m in models.values()}
        if len(sublinear) != 1:
            raise ValueError("fused models must agree on sublinear_tf")
        self._sublinear_tf = sublinear.pop()
        # Compiled (core/_speedups.c): the whole vocabulary as one C table, looked up as
        # prefix + text without building the keys, and the scoring in one call (the table
        # reads the int column numbers as floats: exact below 2**53).
        if cache_dir is not None and StrTable is not None:
            # mapped: the union, the table and the matrix cost ~0.1 s of CPU to build, every
            # start of every process (an archive run pays it before the workers fork)
            self._table, self.matrix = mapped(cache_dir, "fused-model", sources, "fused", _mapped_fused, self._build_for_cache)
        else:
            self.matrix = self._fill_matrix()
            self._table = StrTable(self.vocabulary) if StrTable is not None else None
        self._c_layout = tuple((sq, first, width, tuple(b), binary) for _n, sq, first, width, b, binary in self._layout)

    @cached_property
    def vocabulary(self) -> dict[str, int]:
        """The union of the models' vocabularies, each feature numbered in order of first
        appearance: the matrix's rows (dict.fromkeys keeps that order; one C call instead of
        a setdefault per feature). Built on first use when the table came from the cache."""
        union = dict.fromkeys(itertools.chain.from_iterable(m.vocabulary for m in self._models.values()))
        return dict(zip(union, range(len(union)), strict=True))

    def _fill_matrix(self) -> np.ndarray:
        """Each model's ``idf²`` column and ``idf·W`` columns at its features' rows, zeros
        elsewhere: one matrix filled in place (blocks joined by hstack cost a second 13 MB of
        fresh pages at start-up)."""
        vocab = self.vocabulary
        matrix = np.zeros((len(vocab), sum(1 + m.weights.shape[1] for m in self._models.values())))
        for (_name, col, _first, width, _b, _binary), m in zip(self._layout, self._models.values(), strict=True):
            rows = np.fromiter(map(vocab.__getitem__, m.vocabulary), dtype=np.int64, count=len(m.vocabulary))
            cols = np.fromiter(m.vocabulary.values(), dtype=np.int64, count=len(m.vocabulary))
            matrix[rows, col] = m.idf[cols] ** 2
            matrix[rows, col + 1 : col + 1 + width] = m.idf[cols, None] * m.weights[cols]
        return matrix

    def _build_for_cache(self) -> tuple[tuple[object, np.ndarray], list[bytes], tuple[int, int]]:
        """(table, matrix) built, with the blocks and the shape :func:`_mapped_fused` reads."""
        matrix = self._fill_matrix()
        table = StrTable(self.vocabulary)
        return (table, matrix), [table.dump(), matrix.tobytes()], matrix.shape

    @cached_property
    def _by_kind(self) -> dict[str, dict[str, int]]:
        """The vocabulary split by feature kind and keyed by the bare text, so the Python walk
        looks a token or character up directly instead of building "w:…" strings first
        (built on first use: with the compiled table only the fallback and the tests need it)."""
        by_kind: dict[str, dict[str, int]] = {"w:": {}, "c:": {}, "b:": {}, "e:": {}, "p:": {}, "a:": {}, "n:": {}}
        for f, j in self.vocabulary.items():
            kind = by_kind.get(f[:2])
            if kind is not None:
                kind[f[2:]] = j
        return by_kind

    def count_comment(self, text: str, tokens: Sequence[str], emojis: Iterable[str] = ()) -> dict[int, int]:
        """``count_features(self.vocabulary, comment_features(text, tokens, emojis))`` in one
        pass without building the feature strings (tested equal on the held-out comments);
        in C when the extension is built (the same walk, the same order)."""
        if self._table is not None:
            return self._table.count_features(text, tokens, tuple(emojis), contrast_split(tokens), text_negated_positions(text, tokens))
        return self.count_comment_py(text, tokens, emojis)

    def comment_probs(self, text: str, tokens: Sequence[str], emojis: Iterable[str] = ()) -> dict[str, list[float]]:
        """``predict_counts(count_comment(text, tokens, emojis))``; in one C call when the
        extension is built (the counts never become a dict; tested equal)."""
        return dict(zip(self.names, self.comment_prob_lists(text, tokens, emojis), strict=True))

    def comment_prob_lists(self, text: str, tokens: Sequence[str], emojis: Iterable[str] = ()) -> list[list[float]]:
        """:meth:`comment_probs`' lists in the order of ``names``, without the dict (the
        analyser reads them by position: ~2 k instructions a comment less)."""
        if self._table is not None and fused_probs is not None:
            return self._table.comment_probs(
                text, tokens, emojis if type(emojis) is tuple else tuple(emojis), contrast_split(tokens), self.matrix, self._sublinear_tf, self._c_layout,
                text_negated_positions(text, tokens),
            )  # fmt: skip
        probs = self.predict_counts(self.count_comment(text, tokens, emojis))
        return [probs[name] for name in self.names]

    def count_comment_py(self, text: str, tokens: Sequence[str], emojis: Iterable[str] = ()) -> dict[int, int]:
        """:meth:`count_comment` in Python (the fallback, and the reference for the C walk).

        The same walk as ``features.comment_features``, written twice on purpose: one shared
        walk returning unprefixed parts costs ~25 % more on this hot path, and the order of
        ``comment_features`` feeds training (another order changes the trained weights)."""
        counts: dict[int, int] = {}
        get = counts.get
        by_kind = self._by_kind
        words, chars, bigrams, emoji = by_kind["w:"], by_kind["c:"], by_kind["b:"], by_kind["e:"]
        for t in tokens:
            j = words.get(t)
            if j is not None and t != " ":
                counts[j] = get(j, 0) + 1
        prev = ""
        for ch in text:
            if ch == " ":
                prev = ""
                continue
            if "\u4e00" <= ch <= "\u9fff":
                j = chars.get(ch)
                if j is not None:
                    counts[j] = get(j, 0) + 1
            if prev:
                j = bigrams.get(prev + ch)
                if j is not None:
                    counts[j] = get(j, 0) + 1
            prev = ch
        for e in emojis:
            j = emoji.get(e)
            if j is not None:
                counts[j] = get(j, 0) + 1
        cut = contrast_split(tokens)
        if cut > 0:  # rare in chat: most comments pay one reverse scan of their tokens
            for part, kind in ((tokens[:cut], by_kind["p:"]), (tokens[cut + 1 :], by_kind["a:"])):
                for t in part:
                    j = kind.get(t)
                    if j is not None and t != " ":
                        counts[j] = get(j, 0) + 1
        negated = by_kind["n:"]
        for i in text_negated_positions(text, tokens):
            j = negated.get(tokens[i])
            if j is not None:
                counts[j] = get(j, 0) + 1
        return counts

    def predict_proba(self, features: Sequence[str]) -> dict[str, list[float]]:
        """Probabilities of every fused model for one comment: {name: [p per class]}."""
        return self.predict_counts(count_features(self.vocabulary, features))

    def predict_counts(self, counts: dict[int, int]) -> dict[str, list[float]]:
        """:meth:`predict_proba` from column counts (:meth:`count_comment`)."""
        if fused_probs is not None:  # all of the below in one C call
            return dict(zip(self.names, fused_probs(self.matrix, counts, self._sublinear_tf, self._c_layout), strict=True))
        return self.predict_counts_py(counts)

    def predict_counts_py(self, counts: dict[int, int]) -> dict[str, list[float]]:
        """:meth:`predict_counts` in Python and numpy (the fallback, and the reference)."""
        out: dict[str, list[float]] = {}
        if not counts:
            for name, _sq, _first, _width, b, binary in self._layout:
                out[name] = _probabilities(list(b), binary)
            return out
        lin, sq = self._sums_numpy(counts)
        return self._finish(lin, sq)

    def _sums_numpy(self, counts: dict[int, int]) -> tuple[list[float], list[float]]:
        """The fallback (and the reference the C sums are tested against): Σ rows with every
        tf = 1 in one numpy call, then the few repeated features corrected: the idf·W columns
        by (tf − 1)·row, the idf² columns by (tf² − 1)·row."""
        lin = np.add.reduce(self.matrix.take(list(counts), axis=0), 0).tolist()
        sq = lin[:]
        for j, c in counts.items():
            if c > 1:
                tf = 1.0 + math.log(c) if self._sublinear_tf else float(c)
                row = self.matrix[j].tolist()
                d1, d2 = tf - 1.0, tf * tf - 1.0
                for k, v in enumerate(row):
                    lin[k] += d1 * v
                    sq[k] += d2 * v
        return lin, sq

    def _finish(self, lin: list[float], sq: list[float]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for name, sq_col, first, width, b, binary in self._layout:
            norm2 = sq[sq_col]
            if norm2 <= 0.0:
                z = list(b)
            else:
                inv = 1.0 / math.sqrt(norm2)
                z = [v * inv + bb for v, bb in zip(lin[first : first + width], b, strict=True)]
            out[name] = _probabilities(z, binary)
        return out


def argmax(values: Sequence[float]) -> int:
    """Index of the largest value (the first on ties), for lists and arrays alike."""
    if len(values) == 0:
        return 0
    if type(values) is list:  # the scorer's lists: the same comparisons, in C (a third of the time)
        return values.index(max(values))
    return max(range(len(values)), key=values.__getitem__)  # max keeps the first of equals


def _probabilities(z: list[float], binary: bool) -> list[float]:
    if binary:
        p = 1.0 / (1.0 + math.exp(-z[0]))
        return [1.0 - p, p]
    top = max(z)
    e = [math.exp(v - top) for v in z]
    total = sum(e)
    return [v / total for v in e]
