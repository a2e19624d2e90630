"""Intent of a comment: one of the 15 PRODUCT.md intents with a confidence.

When the best class is less probable than the model's threshold the answer is
``other``: an auto-reply to a comment we only half understood is worse than none.
The threshold is chosen at training time by cross-validation on the training split
(the value that maximises macro-F1) and stored in the artifact and its model card.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from nlp_service.classify import artifacts
from nlp_service.classify.linear import argmax
from nlp_service.core.config import Settings, get_settings
from nlp_service.core.slots import tuple_builder

NAME = "intent"
FALLBACK = "other"


class Intent(NamedTuple):
    label: str
    confidence: float

    def to_dict(self) -> dict[str, object]:
        return {"label": self.label, "confidence": self.confidence}


_new_intent = tuple_builder(Intent)  # Intent(label, confidence) without its Python-level __new__ (core/slots.py)


def apply_threshold(classes: Sequence[str], probs: Sequence[float], threshold: float) -> Intent:
    """The best class, or ``other`` when its probability is under ``threshold``."""
    best = argmax(probs)
    p = float(probs[best])
    if p < threshold and classes[best] != FALLBACK:
        return _new_intent((FALLBACK, round(1.0 - p, 4)))
    return _new_intent((classes[best], round(p, 4)))


class IntentModel:
    def __init__(self, bundle: dict) -> None:
        self.fast = bundle["fast"]
        self.threshold = float(bundle["meta"]["threshold"])
        self.classes = self.fast.classes

    def predict(self, features: Sequence[str]) -> Intent:
        return self.decide(self.fast.predict_proba(features))

    @property
    def decide_layout(self) -> tuple:
        """What ``_speedups.decide`` needs to make :meth:`decide`'s answer (the second half of its layout)."""
        return (Intent, tuple(self.classes), self.threshold, FALLBACK)

    def decide(self, probs: Sequence[float]) -> Intent:
        """The intent from class probabilities (in ``classes`` order), with the threshold."""
        return apply_threshold(self.classes, probs, self.threshold)


def load_intent(settings: Settings | None = None) -> IntentModel:
    settings = settings or get_settings()
    return IntentModel(artifacts.load(settings.models_dir, NAME))
