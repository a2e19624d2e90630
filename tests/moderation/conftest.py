"""Moderation fixtures: the shipped word lists compiled once, and the trained classifier."""

from __future__ import annotations

import pytest

from nlp_service.core.config import Settings
from nlp_service.moderation import classifier as clf_mod
from nlp_service.moderation.classifier import ModerationClassifier
from nlp_service.moderation.lexicon import Lexicon
from nlp_service.moderation.lists import load_base_lexicon


@pytest.fixture(scope="module")
def lexicon(settings: Settings) -> Lexicon:
    """The base word lists of ``data/moderation`` (a module may define its own ``lexicon``)."""
    return load_base_lexicon(settings.data_dir)


@pytest.fixture(scope="module")
def model(settings: Settings) -> ModerationClassifier:
    """The trained moderation classifier of ``models/``."""
    m = clf_mod.load(settings.models_dir)
    if m is None:
        pytest.fail("models/moderation.weights.npz missing: run `nlp-service train --only moderation`")
    return m
