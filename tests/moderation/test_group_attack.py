"""Attacks on a group of people that use no listed word (东北人就会吹牛 讨厌死了): a comment
that names a group and that the group model scores past its threshold goes to review as
abuse; a neutral, friendly or anti-bias mention of a group, and a group name inside another
word, do not. The group model's rows stay together by template (``TrainingRow.key``)."""

import dataclasses

import pytest

from nlp_service.moderation import classifier as clf_mod
from nlp_service.moderation import training
from nlp_service.moderation.detect import group_mention, moderate
from nlp_service.moderation.labels import REVIEW
from nlp_service.moderation.training_data import read_rows


def _with_threshold(model, threshold):
    """The model with its group model's threshold replaced (None: no group model)."""
    if threshold is None:
        return dataclasses.replace(model, group=None)
    return dataclasses.replace(model, group=dataclasses.replace(model.group, thresholds={"abuse": threshold}))


# Written for this test, not in the training files.
@pytest.mark.parametrize("text", ["东北人就会吹牛 讨厌死了", "上海人小气得要命 烦死了", "外地人素质太差了", "印度人脏死了 离远点"])
def test_a_hostile_comment_about_a_group_goes_to_review(analyzer, lexicon, model, text):
    analysis = analyzer.analyze(text)
    assert "abuse" not in moderate(analysis, lexicon, classifier=_with_threshold(model, None)).categories  # lists + main model miss it
    result = moderate(analysis, lexicon, classifier=model)
    assert "abuse" in result.categories
    assert result.action == REVIEW  # the rule reads no insult: a human decides
    group = [t for t in result.terms if t["how"] == "group"]
    assert group and text[group[0]["start"] : group[0]["end"]] == group[0]["text"]


@pytest.mark.parametrize(
    "text", ["河南人来报到", "女人也能撑起半边天", "这件男人穿好看吗", "黑人音乐 节奏感太强了", "东北人真热情 下次还去", "别再骂河南人了 都是普通人"]
)
def test_a_mention_of_a_group_without_hostility_passes(analyzer, lexicon, model, text):
    assert moderate(analyzer.analyze(text), lexicon, classifier=model).action == "pass"


def test_a_group_name_inside_another_word_is_no_mention(analyzer, lexicon):
    assert group_mention(analyzer.analyze("玉米棒子多少钱"), lexicon) is None  # 棒子 inside 玉米棒子
    assert group_mention(analyzer.analyze("南方人参"), lexicon) is None  # 南方 + 人参, not 南方人
    assert group_mention(analyzer.analyze("河南人来报到"), lexicon) is not None
    assert group_mention(analyzer.analyze("东北佬"), lexicon) is not None  # a place with 佬
    assert group_mention(analyzer.analyze("东北大米好吃"), lexicon) is None  # a place alone names no people


def test_without_a_group_model_the_rule_is_off(analyzer, lexicon, model):
    analysis = analyzer.analyze("东北人就会吹牛 讨厌死了")
    assert "abuse" not in moderate(analysis, lexicon).categories  # no classifier
    assert "abuse" in moderate(analysis, lexicon, classifier=_with_threshold(model, 0.0)).categories
    assert "abuse" not in moderate(analysis, lexicon, classifier=_with_threshold(model, 1.01)).categories
    # no group named: the group model is never asked, however low its threshold
    assert moderate(analyzer.analyze("今天天气不错"), lexicon, classifier=_with_threshold(model, 0.0)).action == "pass"


def test_the_group_model_is_saved_and_loaded_with_the_main_model(model, tmp_path):
    assert model.group is not None and model.group.categories == ("abuse",)
    clf_mod.save(tmp_path, model)
    loaded = clf_mod.load(tmp_path)
    assert loaded.group is not None
    assert training.weights_hash(loaded) == training.weights_hash(model)
    assert loaded.group.thresholds == model.group.thresholds
    assert training.weights_hash(dataclasses.replace(model, group=None)) != training.weights_hash(model)  # the hash covers it


def test_rows_of_one_template_share_a_fold_and_a_split(tmp_path):
    (tmp_path / "t.tsv").write_text(
        "text\tcategories\tkind\tfamily\n甲地人就是懒\tabuse\tplain\tfam1\n乙地人就是懒\tabuse\tplain\tfam1\n甲地人挺好\tnone\thard_negative\t\n",
        encoding="utf-8",
    )
    rows = read_rows(tmp_path)
    assert [r.key for r in rows] == ["fam1", "fam1", "甲地人挺好"]  # no family: the text itself
    assert training._fold(rows[0].key) == training._fold(rows[1].key)
    (tmp_path / "t.tsv").write_text("text\tcategories\tkind\tgroup\n甲\tnone\tplain\tx\n", encoding="utf-8")
    with pytest.raises(Exception, match="family"):
        read_rows(tmp_path)


def _names_by_pattern(rules, text):
    """The reference: the group pattern's own search (what names_a_group asked before its
    automaton), with the empty pattern of an all-empty list finding nothing."""
    pattern = rules._groups_re
    return pattern is not None and bool(pattern.pattern) and pattern.search(text) is not None


def test_names_a_group_answers_as_the_pattern_does(settings, lexicon):
    from nlp_service.classify import datasets
    from nlp_service.text.normalize import normalize

    rules = lexicon.context
    texts = [normalize(t).text for t, _, _ in datasets.danmaku(settings.labelled_dir)]
    texts += [r.text for r in read_rows(settings.data_dir / "moderation" / "train")] if (settings.data_dir / "moderation" / "train").is_dir() else []
    texts += [g.rstrip("*") + end for g in rules.groups for end in ("", "人", "女", "们", "x")]
    assert any(rules.names_a_group(t) for t in texts) and not all(rules.names_a_group(t) for t in texts)
    for text in texts:
        assert rules.names_a_group(text) == _names_by_pattern(rules, text), text


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("groups", [(), ("*",), ("#x",), ("河南*", "黑人"), ("  ",), ("河南*", "上海*", "东北人", "女人")])
def test_names_a_group_on_small_lists(groups, compiled, monkeypatch):
    from nlp_service.moderation import context_rules
    from nlp_service.moderation.context_rules import ContextRules

    if not compiled:  # the automaton of the build without the extension
        monkeypatch.setattr(context_rules, "StrTable", None)
    context_rules._group_finder.cache_clear()
    rules = ContextRules.of(groups=groups)
    context_rules._group_finder.cache_clear()
    for text in ["", "河南人", "河南", "人", "黑人音乐", "上海女", "东北人来了", "女人", "男", "x"]:
        assert rules.names_a_group(text) == _names_by_pattern(rules, text), (groups, text)
