"""The moderation classifier from the start-up cache equals the one read from its file, and a
retrained model (the weights file rewritten) is read again, never the cached one."""

import dataclasses
import os

import numpy as np
import pytest

from nlp_service.classify import artifacts
from nlp_service.moderation import classifier as classifier_mod
from nlp_service.moderation import model_cache
from nlp_service.moderation.classifier import (
    ModerationClassifier,
    comment_features,
    sentiment_feature,
)
from nlp_service.moderation.lists import load_base_lexicon
from nlp_service.text.normalize import normalize


def _same(a: ModerationClassifier, b: ModerationClassifier) -> None:
    assert a.vocabulary == b.vocabulary
    np.testing.assert_array_equal(a.matrix, b.matrix)
    np.testing.assert_array_equal(a.intercept, b.intercept)
    assert (a.categories, a.thresholds, a.meta) == (b.categories, b.thresholds, b.meta)
    assert a.biases == b.biases and a.logit_thresholds == b.logit_thresholds
    if a.vocabulary_table is not None:
        assert a.vocabulary_table.dump() == b.vocabulary_table.dump()
    assert (a.group is None) == (b.group is None)
    if a.group is not None:
        _same(a.group, b.group)


def _fresh(models_dir, cache_dir) -> ModerationClassifier | None:
    artifacts.forget(classifier_mod.weights_path(models_dir))  # past the per-process memo: the cache file itself
    return model_cache.load(models_dir, cache_dir)


@pytest.fixture
def models(tmp_path, settings):
    folder = tmp_path / "models"
    model = classifier_mod.load(settings.models_dir)
    if model is None:
        pytest.skip("no trained moderation model")
    classifier_mod.save(folder, model)
    return folder, model


def test_the_cached_classifier_equals_the_file_and_scores_the_same(models, tmp_path, settings) -> None:
    folder, model = models
    built = _fresh(folder, tmp_path / "cache")  # builds the cache file
    assert list((tmp_path / "cache").glob("moderation-model-*.moderation"))
    mapped = _fresh(folder, tmp_path / "cache")  # read from it
    lexicon = load_base_lexicon(settings.data_dir)
    for text in ("加薇信领福利", "你这个蠢货", "主播晚上好 几号链接", "看我主页 某宝搜店名", "东北人都是骗子", "加威信 vx123456 傻逼"):
        norm = normalize(text).text
        hits = lexicon.find(norm)
        assert mapped.rows_of(norm, hits) == model.rows_of(norm, hits)
        assert mapped.scores(norm, hits) == model.scores(norm, hits)
        assert mapped.flags(norm, hits) == model.flags(norm, hits)
        if model.group is not None:
            features = [*comment_features(norm, hits), sentiment_feature(0.2)]
            assert mapped.group.scores_of(features) == model.group.scores_of(features)
    # scoring looked features up in the C tables: the dict of terms was never made
    assert "vocabulary" not in vars(mapped) and (mapped.group is None or "vocabulary" not in vars(mapped.group))
    for loaded in (built, mapped):
        _same(loaded, model)
    changed = {"thresholds": {c: 0.3 for c in model.categories}}
    _same(dataclasses.replace(mapped, **changed), dataclasses.replace(model, **changed))


def test_a_retrained_model_invalidates_the_cache(models, tmp_path) -> None:
    folder, model = models
    cache = tmp_path / "cache"
    _same(_fresh(folder, cache), model)
    retrained = dataclasses.replace(model, intercept=model.intercept + 0.5, thresholds={c: 0.25 for c in model.categories})
    classifier_mod.save(folder, retrained)
    path = classifier_mod.weights_path(folder)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a later write, even on a coarse clock
    _same(_fresh(folder, cache), retrained)
    assert _fresh(folder, cache).thresholds == {c: 0.25 for c in model.categories}


def test_no_trained_model_is_none(tmp_path) -> None:
    assert _fresh(tmp_path / "models", tmp_path / "cache") is None
