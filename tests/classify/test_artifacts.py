"""Loading model artifacts: the lazily read model equals the one read whole, and stays the
file it was loaded from when the file is rewritten."""

import shutil

import numpy as np
import pytest

from nlp_service.classify import artifacts
from nlp_service.classify.intent import NAME as INTENT
from nlp_service.classify.linear import FastLinear
from nlp_service.classify.sentiment import POLARITY, SUBJECTIVITY

NAMES = (SUBJECTIVITY, POLARITY, INTENT)


def _read_whole(path) -> FastLinear:
    with np.load(path, allow_pickle=False) as z:
        return artifacts._bundle(z)["fast"]


def _same(a: FastLinear, b: FastLinear) -> None:
    assert a.vocabulary == b.vocabulary
    assert a.classes == b.classes and a.sublinear_tf == b.sublinear_tf and a.binary == b.binary
    for x, y in ((a.idf, b.idf), (a.weights, b.weights), (a.intercept, b.intercept)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", NAMES)
def test_a_lazily_read_model_equals_the_model_read_whole(settings, name) -> None:
    path = artifacts.weights_path(settings.models_dir, name)
    whole = _read_whole(path)
    artifacts.forget(path)
    lazy = artifacts.load(settings.models_dir, name)["fast"]
    assert isinstance(lazy, FastLinear)
    assert "_full" not in vars(lazy)  # the head alone so far: no vocabulary built
    assert lazy.classes == whole.classes and len(lazy.intercept) == whole.weights.shape[1]
    _same(lazy, whole)
    features = ["w:链接", "c:链", "w:好看", "w:不存在的词"]
    np.testing.assert_array_equal(lazy.predict_proba(features), whole.predict_proba(features))


def test_a_rewritten_file_gives_the_new_model_and_a_loaded_one_keeps_its_own(settings, tmp_path) -> None:
    """The head and the arrays of one lazily read model always come from one version of the
    file: a model retrained after the load (the file replaced, as ``save`` does) neither
    mixes into it nor is hidden from the next load."""
    models = tmp_path / "models"
    models.mkdir()
    path = artifacts.weights_path(models, INTENT)
    shutil.copy(artifacts.weights_path(settings.models_dir, INTENT), path)
    old = artifacts.load(models, INTENT)["fast"]
    other = artifacts.weights_path(settings.models_dir, POLARITY)
    tmp = path.with_suffix(".tmp")
    shutil.copy(other, tmp)
    tmp.replace(path)  # a different model under the same name, as save() writes it
    artifacts.forget(path)
    new = artifacts.load(models, INTENT)["fast"]
    _same(new, _read_whole(other))
    _same(old, _read_whole(artifacts.weights_path(settings.models_dir, INTENT)))
