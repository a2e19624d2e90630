"""Features shared by the sentiment and intent models (pure functions).

A comment becomes a list of string features: the words jieba found (``w:``), character
bigrams of the matching form (``b:``, robust to segmentation errors and typos), single
CJK characters (``c:``, for the very short 弹幕 that dominate rooms) and emoji (``e:``,
kept as signals by normalisation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


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
    return feats


def passthrough(features: list[str]) -> list[str]:
    """Analyzer for scikit-learn vectorizers fed with precomputed feature lists.

    A named module-level function (not a lambda) so fitted pipelines pickle.
    """
    return features
