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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nlp_service.core.config import Settings
from nlp_service.text.normalize import normalize
from nlp_service.text.segment import lcut

# The words jieba returns for "but": the clause after one of these carries the verdict.
CONTRAST_WORDS = frozenset({"但是", "但", "不过", "可惜", "只是", "就是", "可是", "然而", "却", "而是"})


def contrast_split(tokens: Sequence[str]) -> int:
    """Index of the last contrast word that follows some text, or -1 (no hedge)."""
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
