"""Features shared by the sentiment and intent models.

A comment becomes a list of string features: the words jieba found (``w:``), character
bigrams of the matching form (``b:``, robust to segmentation errors and typos), single
CJK characters (``c:``, for the very short 弹幕 that dominate rooms) and emoji (``e:``,
kept as signals by normalisation).

A hedged review puts its verdict after the contrast word: 位置不错，但是房间太小 is a
complaint, 还行吧就是有点贵 too. So when a comment has a contrast word after some text,
the words of the clause after the last one are repeated as ``a:`` features and the words
before it as ``p:`` features: the model learns how much more the later clause weighs (and
that 不错 before 但是 says less than 不错 alone).

A negator turns the words after it around: 不是很好吃 and 一点也不新鲜 are complaints made of
praise words, 一点都不油 is praise made of a complaint. So the words in a negator's scope (the
three tokens after it, within its clause) are repeated as ``n:`` features: 好吃 stays praise,
``n:好吃`` learns to be a complaint. On outside reviews this fixed the negated-praise rows
(不是很好吃 scored positive before) and raised real-chat macro-F1 by 0.6 points.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from nlp_service.core.config import Settings
from nlp_service.text.normalize import normalize
from nlp_service.text.segment import lcut

# The words jieba returns for "but": the clause after one of these carries the verdict.
CONTRAST_WORDS = frozenset({"但是", "但", "不过", "可惜", "只是", "就是", "可是", "然而", "却", "而是"})


# The words jieba returns for "not": the next NEGATION_SCOPE tokens of the clause are negated.
NEGATORS = frozenset(
    {"不", "没", "没有", "别", "不是", "不太", "不怎么", "不够", "不算", "并不", "无", "未", "不会", "不要"}
    | {"一点也不", "一点都不", "不大", "不是太", "没那么", "不那么", "也不", "都不", "不很"}
)
NEGATION_SCOPE = 3
# Every negator holds one of these characters (tested): a text without them has no scope.
NEGATOR_CHARS = "不没别无未"
_has_negator_char = re.compile(f"[{NEGATOR_CHARS}]").search
# A token starting with one of these ends a clause (and a negator's scope). Spaces are
# skipped, neither a break nor a word: the service drops them from the tokens, training keeps
# them, and both must see the same scopes.
CLAUSE_BREAKS = frozenset("，。！？；,.!?;~～、…")


def negated_positions(tokens: Sequence[str]) -> tuple[int, ...]:
    """Indices of the tokens in a negator's scope: the ``NEGATION_SCOPE`` tokens after a
    negator, stopping at the end of its clause (a negator in scope is negated and starts a
    scope of its own)."""
    out: list[int] = []
    scope = 0
    for i, t in enumerate(tokens):
        if t.isspace():
            continue
        if t[0] in CLAUSE_BREAKS:
            scope = 0
            continue
        if scope:
            out.append(i)
            scope -= 1
        if t in NEGATORS:
            scope = NEGATION_SCOPE
    return tuple(out)


def text_negated_positions(text: str, tokens: Sequence[str]) -> tuple[int, ...]:
    """:func:`negated_positions` of ``tokens`` (the words of ``text``), with the walk skipped
    when ``text`` holds no negator character: most live comments, and on the hot path the
    check (a regex search, ~0.1 µs) costs a twentieth of the walk."""
    return negated_positions(tokens) if _has_negator_char(text) else ()


def without_negation(features: Sequence[str]) -> list[str]:
    """``features`` less the ``n:`` ones: what the intent model is trained on (with them its
    held-out macro-F1 fell from 0.851 to 0.846; the fused scorer still computes them once
    for sentiment, and a model that never saw a feature gives it no weight)."""
    return [f for f in features if not f.startswith("n:")]


def contrast_split(tokens: Sequence[str]) -> int:
    """Index of the last contrast word that follows some text, or -1 (no hedge)."""
    if CONTRAST_WORDS.isdisjoint(tokens[1:]):  # most comments: one set test in C, no walk
        return -1
    for i in range(len(tokens) - 1, 0, -1):
        if tokens[i] in CONTRAST_WORDS:
            return i
    return -1


def comment_features(text: str, tokens: Sequence[str], emojis: Iterable[str] = ()) -> list[str]:
    """Feature strings of one normalised comment."""
    feats = ["w:" + t for t in tokens if t != " "]
    prev = ""
    for ch in text:
        if ch == " ":
            prev = ""
            continue
        if "\u4e00" <= ch <= "\u9fff":
            feats.append("c:" + ch)
        if prev:
            feats.append("b:" + prev + ch)
        prev = ch
    feats.extend("e:" + e for e in emojis)
    cut = contrast_split(tokens)
    if cut > 0:
        feats.extend("p:" + t for t in tokens[:cut] if t != " ")
        feats.extend("a:" + t for t in tokens[cut + 1 :] if t != " ")
    feats.extend("n:" + tokens[i] for i in negated_positions(tokens))
    return feats


def featurize(text: str, settings: Settings | None = None) -> list[str]:
    """The model features of ``text`` exactly as :meth:`Analyzer.analyze` computes them
    (training uses this, so train and serve can never drift apart)."""
    norm = normalize(text)
    return comment_features(norm.text, lcut(norm.text, settings), norm.emojis)


def passthrough(features: list[str]) -> list[str]:
    """Analyzer for scikit-learn vectorizers fed with precomputed feature lists.

    A named module-level function (not a lambda) so fitted pipelines pickle.
    """
    return features
