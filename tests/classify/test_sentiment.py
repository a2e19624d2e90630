"""Sentiment is neutral by default: chatter stays neutral, opinions are polar, and a hedged
review is judged by the clause after its contrast word."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nlp_service.classify.features import (
    CONTRAST_WORDS,
    NEGATOR_CHARS,
    NEGATORS,
    comment_features,
    contrast_split,
    negated_positions,
)
from nlp_service.classify.linear import FastLinear
from nlp_service.classify.sentiment import SentimentModel

# Written for these tests, none of them a training row: the families real rooms carry.
CHATTER = {
    "product and everyday nouns": ["电脑显卡？", "三缺一麻将桌", "茶几上放着遥控器", "他用的哪个牌子的路由器", "窗台上一盆绿萝"],
    "game talk": ["这个副本几个人打", "他刚换了把狙", "第三关的钥匙在井里", "今晚打几把排位"],
    "greetings to viewers": ["大家好我是孢子", "楼上的朋友晚上好", "各位早上好呀"],
    "memes and filler": ["前方核能", "此处应有掌声", "懂得都懂", "坐等下集"],
    "emoji codes": ["[doge]这是在干嘛", "[吃瓜][吃瓜]", "[思考]为啥要往左走"],
    "questions about the video": ["这首背景音乐叫啥呀", "这是在哪个城市拍的", "up主多久更一次", "原片叫啥名字"],
    "everyday life": ["上班偷偷摸鱼看", "刚下楼拿了外卖", "明早六点的闹钟", "今天杭州下小雨"],
}
OPINIONS = [
    ("哈哈哈哈笑死我了这个up", "positive"),
    ("绷不住了哈哈哈哈哈", "positive"),
    ("开口跪了 太好听了", "positive"),
    ("这首歌yyds", "positive"),
    ("看完好感动啊", "positive"),
    ("气死我了这个结局", "negative"),
    ("破防了 好难过呜呜", "negative"),
    ("无语了真的", "negative"),
    ("质量太差了 再也不买了", "negative"),
]


@pytest.mark.parametrize(
    "text", [t for family in CHATTER.values() for t in family], ids=[f"{k}:{t}" for k, v in CHATTER.items() for t in v]
)
def test_chatter_is_neutral(analyzer, text) -> None:
    result = analyzer.analyze(text).sentiment
    assert result.label == "neutral", result


@pytest.mark.parametrize(("text", "label"), OPINIONS)
def test_clear_opinions_stay_polar(analyzer, text, label) -> None:
    result = analyzer.analyze(text).sentiment
    assert result.label == label, result
    assert (result.score > 0.5) == (label == "positive")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("位置不错，但是房间太小了，隔音也差", "negative"),
        ("味道还行吧，就是送得太慢了，都凉了", "negative"),
        ("包装有点简陋，不过东西很好用", "positive"),
        ("价格是贵了点，但是质量真的很好", "positive"),
    ],
)
def test_hedged_review_takes_the_later_clause(analyzer, text, label) -> None:
    model = analyzer.sentiment_model
    feats = comment_features(analyzer.analyze(text).normalized.text, analyzer.analyze(text).tokens)
    assert model.polar(feats) == label


def test_contrast_split_needs_text_before_the_contrast_word() -> None:
    assert contrast_split(["位置", "不错", "但是", "房间", "小"]) == 2
    assert contrast_split(["但是", "房间", "小"]) == -1  # nothing before it: not a hedge
    assert contrast_split(["好", "但", "贵", "不过", "值"]) == 3  # the last one decides
    feats = comment_features("好但贵", ["好", "但", "贵"])
    assert "p:好" in feats and "a:贵" in feats and "a:好" not in feats
    assert not any(f[:2] in ("p:", "a:") for f in comment_features("好贵", ["好", "贵"]))


@given(st.lists(st.sampled_from([*sorted(CONTRAST_WORDS), "好", "贵", "但是呢", "", " "]), max_size=8))
def test_contrast_split_equals_the_walk_from_the_end(tokens) -> None:
    """The set test that skips the walk for most comments gives the walk's answer."""
    walk = next((i for i in range(len(tokens) - 1, 0, -1) if tokens[i] in CONTRAST_WORDS), -1)
    assert contrast_split(tokens) == walk == contrast_split(tuple(tokens))


def test_negation_scope_is_three_tokens_within_the_clause() -> None:
    assert negated_positions(["不是", "很", "好吃"]) == (1, 2)
    assert negated_positions(["一点都不", "新鲜", "，", "还", "贵"]) == (1,)  # the comma ends the scope
    assert negated_positions(["不", "太", "好", "吃", "啊"]) == (1, 2, 3)  # three tokens at most
    assert negated_positions(["没", " ", "味道"]) == (2,)  # a space is neither a word nor a break
    assert negated_positions(["好吃", "很", "香"]) == ()
    assert all(any(ch in word for ch in NEGATOR_CHARS) for word in NEGATORS)  # the hot path's skip is safe
    feats = comment_features("不是很好吃", ["不是", "很", "好吃"])
    assert "n:好吃" in feats and "w:好吃" in feats and "n:不是" not in feats


# Written for these tests: praise words under a negator, complaint words under a negator.
@pytest.mark.parametrize(
    ("text", "label"),
    [("不是很好吃", "negative"), ("一点也不新鲜", "negative"), ("房间没有想象中干净", "negative"), ("味道不怎么样", "negative")],
)
def test_negated_praise_is_a_complaint(analyzer, text, label) -> None:
    a = analyzer.analyze(text)
    assert analyzer.sentiment_model.polar(comment_features(a.normalized.text, a.tokens)) == label


def _fixed(classes: tuple[str, ...], scores: list[float]) -> FastLinear:
    """A model with no features: it always answers its intercept."""
    return FastLinear({}, np.zeros(0), np.zeros((0, len(scores))), np.array(scores), classes, True, len(scores) == 1)


def test_decision_neutral_below_threshold_and_score_is_p_pos_plus_half_neutral() -> None:
    subj = _fixed(("neutral", "opinion"), [0.0])  # P(opinion) = 0.5
    pol = _fixed(("negative", "positive"), [float(np.log(4.0))])  # P(positive | opinion) = 0.8
    model = SentimentModel(subj, pol, threshold=0.45)
    result = model.predict([])
    assert result.label == "neutral"  # P(positive) = 0.5 · 0.8 = 0.4, under the threshold
    assert result.score == pytest.approx(0.5 * 0.8 + 0.5 * 0.5)  # P(pos) + ½ P(neutral)
    assert SentimentModel(subj, pol, threshold=0.4).predict([]).label == "positive"
    unsure = _fixed(("negative", "positive"), [0.0])  # an opinion, direction a coin toss
    assert SentimentModel(_fixed(("neutral", "opinion"), [float(np.log(9.0))]), unsure, threshold=0.5).predict([]).label == "neutral"
    assert model.polar([]) == "positive"


def test_three_class_public_eval_reports_neutral_recall(tmp_path) -> None:
    from typer.testing import CliRunner

    from nlp_service.cli import app

    data = tmp_path / "chat.csv"
    rows = ["text,label", "第三关的钥匙在井里,neutral", "他刚换了把狙,neutral", "哈哈哈哈笑死我了这个up,positive", "气死我了这个结局,negative", "“”,neutral"]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "--data", str(data), "--no-baseline"])
    assert result.exit_code == 0, result.output
    assert "5 evaluated" in result.output and "(3 classes)" in result.output
    assert "neutral recall 1.0000" in result.output  # the three neutral rows, the empty one included
    assert "true \\ predicted" in result.output
