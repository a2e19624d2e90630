"""Attacks on a group of people that use no listed word (东北人就会吹牛 讨厌死了): a named
group plus a strongly negative comment goes to review as abuse; a neutral or friendly
mention of a group, and a group name inside another word, do not."""

import dataclasses

import pytest

from nlp_service.moderation import training
from nlp_service.moderation.detect import group_mention, moderate
from nlp_service.moderation.labels import REVIEW
from nlp_service.moderation.training import TrainingRow


def _with_cutoff(model, cutoff):
    return dataclasses.replace(model, meta={**model.meta, "group_attack_cutoff": cutoff})


# Written for this test, not in the training files.
@pytest.mark.parametrize("text", ["东北人就会吹牛 讨厌死了", "上海人小气得要命 烦死了", "外地人素质太差了", "老外真讨厌 烦死了"])
def test_a_hostile_comment_about_a_group_goes_to_review(analyzer, lexicon, model, text):
    analysis = analyzer.analyze(text)
    assert "abuse" not in moderate(analysis, lexicon, classifier=_with_cutoff(model, None)).categories  # lists + model miss it
    result = moderate(analysis, lexicon, classifier=model)
    assert "abuse" in result.categories
    assert result.action == REVIEW  # the rule reads no insult: a human decides
    group = [t for t in result.terms if t["how"] == "group"]
    assert group and text[group[0]["start"] : group[0]["end"]] == group[0]["text"]


@pytest.mark.parametrize("text", ["河南人来报到", "女人也能撑起半边天", "这件男人穿好看吗", "黑人音乐 节奏感太强了"])
def test_a_mention_of_a_group_without_hostility_passes(analyzer, lexicon, model, text):
    assert moderate(analyzer.analyze(text), lexicon, classifier=model).action == "pass"


def test_a_group_name_inside_another_word_is_no_mention(analyzer, lexicon):
    assert group_mention(analyzer.analyze("玉米棒子多少钱"), lexicon) is None  # 棒子 inside 玉米棒子
    assert group_mention(analyzer.analyze("南方人参"), lexicon) is None  # 南方 + 人参, not 南方人
    assert group_mention(analyzer.analyze("河南人来报到"), lexicon) is not None
    assert group_mention(analyzer.analyze("东北佬"), lexicon) is not None  # a place with 佬
    assert group_mention(analyzer.analyze("东北大米好吃"), lexicon) is None  # a place alone names no people


def test_without_a_trained_cutoff_the_rule_is_off(analyzer, lexicon, model):
    analysis = analyzer.analyze("东北人就会吹牛 讨厌死了")
    assert "abuse" not in moderate(analysis, lexicon).categories  # no classifier
    assert "abuse" in moderate(analysis, lexicon, classifier=_with_cutoff(model, 1.0)).categories
    assert "abuse" not in moderate(analysis, lexicon, classifier=_with_cutoff(model, 0.0)).categories


def _rows(pairs):
    return [TrainingRow(f"row{i}", frozenset({"abuse"}) if harmful else frozenset(), "plain") for i, (harmful, _) in enumerate(pairs)]


def test_the_cutoff_is_the_largest_that_keeps_precision():
    pairs = [(True, 0.02), (True, 0.04), (True, 0.08), (False, 0.12), (True, 0.18), (False, 0.22), (False, 0.3)]
    scores = {f"row{i}": s for i, (_, s) in enumerate(pairs)}
    cutoff, report = training.choose_group_cutoff(_rows(pairs), lambda t: (True, scores[t]))
    assert cutoff == 0.1  # under 0.1: 3 of 3; under 0.15: 3 of 4, under the 0.95 precision
    assert report["by_cutoff"][0.1] == {"flagged": 3, "precision": 1.0, "recall": 0.75}
    none, _ = training.choose_group_cutoff(_rows([(False, 0.01)]), lambda t: (True, 0.01))
    assert none is None  # no cutoff reaches the precision: the rule stays off
    assert training.choose_group_cutoff(_rows(pairs), lambda t: (False, 0.0))[0] is None  # no row names a group
