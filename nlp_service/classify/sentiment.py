"""Sentiment of a comment: positive / neutral / negative with a score in [0, 1].

A three-class model (neutral is learned from live-room comments, not a band around a
binary score). The score is P(positive) + ½·P(neutral): the probability that the comment
is positive when a neutral one counts as a coin toss, so neutral comments sit near 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from nlp_service.classify import artifacts
from nlp_service.classify.linear import argmax
from nlp_service.core.config import Settings, get_settings

NAME = "sentiment"


class Sentiment(NamedTuple):
    label: str
    score: float

    def to_dict(self) -> dict[str, object]:
        return {"label": self.label, "score": self.score}


class SentimentModel:
    """Scores features with the fast path of the trained pipeline."""

    def __init__(self, bundle: dict) -> None:
        self.fast = bundle["fast"]
        classes = self.fast.classes
        self._pos = classes.index("positive")
        self._neu = classes.index("neutral")
        self.classes = classes

    def predict(self, features: Sequence[str]) -> Sentiment:
        return self.decide(self.fast.predict_proba(features))

    def decide(self, probs: Sequence[float]) -> Sentiment:
        """The label and score from class probabilities (in ``classes`` order)."""
        best = argmax(probs)
        return Sentiment(self.classes[best], round(float(probs[self._pos] + 0.5 * probs[self._neu]), 4))


def load_sentiment(settings: Settings | None = None) -> SentimentModel:
    settings = settings or get_settings()
    return SentimentModel(artifacts.load(settings.models_dir, NAME))
