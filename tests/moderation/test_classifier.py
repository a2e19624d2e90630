"""The learned moderation classifier: what it adds to the lists, what it must never do,
its fast path against scikit-learn, and training determinism."""

from pathlib import Path

import numpy as np
import pytest

from nlp_service.moderation import classifier as clf_mod
from nlp_service.moderation import training
from nlp_service.moderation.classifier import ModerationClassifier, comment_features
from nlp_service.moderation.detect import moderate
from nlp_service.moderation.labels import BLOCK, LIST_CATEGORIES, REVIEW
from nlp_service.moderation.lists import load_base_lexicon
from nlp_service.moderation.patterns import find_patterns
from nlp_service.text.normalize import normalize

TRAIN_DIR = Path(__file__).resolve().parents[2] / "data" / "moderation" / "train"


@pytest.fixture(scope="module")
def small_rows():
    rows = training.read_rows(TRAIN_DIR)
    return rows[::12]  # every category is still present in every fold


def _train_small(rows):
    return training.train_from_rows(rows, load_base_lexicon(TRAIN_DIR.parents[1]), n_variants=1, log=lambda _: None)


@pytest.fixture(scope="module")
def small_model(small_rows):
    return _train_small(small_rows)


# Phrasings written for this test (not in the training files): evasions no word list names.
@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("抖音搜同款 便宜一半", "ad_contact"),  # redirect to another platform
        ("飞行员带你上岸 稳赚", "illegal"),  # gambling slang
        ("菠菜群 天天带单", "illegal"),
        ("带你上岸 回本快", "illegal"),
        ("来点叶子 同城", "illegal"),  # drug slang
        ("你是猪吧 听不懂人话", "abuse"),  # insults without a listed word
        ("就你这样也配带货", "abuse"),
    ],
)
def test_evasions_the_lists_miss_go_to_review(analyzer, lexicon, model, text, category):
    analysis = analyzer.analyze(text)
    assert category not in moderate(analysis, lexicon).categories  # the lists alone miss it
    result = moderate(analysis, lexicon, classifier=model)
    assert category in result.categories
    assert result.action == REVIEW  # found by the model alone: a human decides


@pytest.mark.parametrize(
    "text",
    [
        "困死我了", "考研上岸了", "三八妇女节", "菠菜怎么做好吃", "你是哪个城市的", "你好可爱",
        "我在上班", "老婆好美", "奶茶好喝", "他是谁", "这个游戏好难", "溜冰鞋有儿童款吗",
        "主播好漂亮", "淘宝能买到吗", "私聊客服问尺码",
        # kinds the innuendo and personal-detail rows once flagged: requests to the host,
        # acknowledgements, measurements for sizing, bare numbers, story talk about her
        "主播再来一单福袋", "主播回复我一下嘛", "收到收到", "168 115斤穿啥码", "1388", "2019年的老视频了", "她后来嫁人了吗",
    ],
)  # fmt: skip
def test_hard_negatives_gain_nothing_from_the_model(analyzer, lexicon, model, text):
    analysis = analyzer.analyze(text)
    assert moderate(analysis, lexicon, classifier=model).categories == moderate(analysis, lexicon).categories


def _always(model: ModerationClassifier) -> ModerationClassifier:
    """The same weights with every threshold at 0: the model flags every category."""
    return ModerationClassifier(model.vocabulary, model.matrix, model.intercept, model.categories, dict.fromkeys(model.categories, 0.0), {})


@pytest.mark.parametrize("text", ["主播晚上好", "这件衣服好看", "哈哈哈", "几号链接"])
def test_the_model_alone_never_blocks(analyzer, lexicon, model, text):
    analysis = analyzer.analyze(text)
    assert not moderate(analysis, lexicon).categories
    result = moderate(analysis, lexicon, classifier=_always(model))
    assert set(result.categories) == set(LIST_CATEGORIES)
    assert result.action == REVIEW
    assert {t["how"] for t in result.terms} == {"model"}


def test_a_weak_list_hit_confirmed_by_the_model_takes_the_default_action(analyzer, lexicon, model):
    analysis = analyzer.analyze("辣鸡主播")  # 辣鸡 sounds like 垃圾: alone, a review
    assert moderate(analysis, lexicon).action == REVIEW
    assert moderate(analysis, lexicon, classifier=_always(model)).action == BLOCK


def test_fast_path_equals_scikit_learn(lexicon, small_rows):
    data = training.expand(small_rows, lexicon, 1, {})
    vec, models = training.fit(data.features, data.labels, C=2.0, min_df=1, clean_weight=4.0)
    fast = ModerationClassifier.from_fitted(vec, models, LIST_CATEGORIES, dict.fromkeys(LIST_CATEGORIES, 0.5))
    probe = [*data.features[:40], comment_features("没见过的字符串", []), []]
    X = vec.transform(probe)
    expected = np.stack([m.predict_proba(X)[:, 1] for m in models], axis=1)
    got = np.array([[fast.scores_of(f)[c] for c in LIST_CATEGORIES] for f in probe])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_training_is_deterministic(small_rows, small_model):
    model, report = _train_small(small_rows)
    first_model, first_report = small_model
    assert report["weights_hash"] == first_report["weights_hash"]
    assert model.thresholds == first_model.thresholds
    assert training.weights_hash(model) == report["weights_hash"]


def test_saved_model_loads_back_equal(tmp_path, small_model):
    model, _ = small_model
    clf_mod.save(tmp_path, model)
    loaded = clf_mod.load(tmp_path)
    assert loaded is not None and training.weights_hash(loaded) == training.weights_hash(model)
    assert clf_mod.load(tmp_path / "missing") is None  # untrained: the lists work alone


def test_training_files_are_well_formed_and_disjoint_from_the_eval_set(settings):
    rows = training.read_rows(TRAIN_DIR)
    assert len(rows) >= 1500
    kinds = {k: sum(r.kind == k for r in rows) for k in training.KINDS}
    assert kinds["evasion"] + kinds["hard_negative"] >= 0.4 * len(rows)
    eval_path = settings.data_dir / "moderation" / "eval" / "labelled.tsv"
    eval_texts = {line.split("\t")[0].strip() for line in eval_path.read_text(encoding="utf-8").splitlines()[1:]}
    assert not {r.text for r in rows} & eval_texts


def test_a_malformed_training_file_names_the_line(tmp_path):
    (tmp_path / "bad.tsv").write_text("text\tcategories\tkind\n好看\tnot_a_category\tplain\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv:2"):
        training.read_rows(tmp_path)


def test_hot_path_walk_equals_the_training_features(lexicon, model, small_rows):
    for row in small_rows:
        norm = normalize(row.text)
        hits = [*lexicon.find(norm.text), *find_patterns(norm.original)]
        features = comment_features(norm.text, hits)
        assert features == training.featurize(row.text, lexicon)
        assert sorted(model.rows_of(norm.text, hits)) == sorted({model.vocabulary[f] for f in features if f in model.vocabulary})
        scores = model.scores_of(features)
        assert model.flags(norm.text, hits) == pytest.approx({c: p for c, p in scores.items() if p >= model.thresholds[c]})
