import pytest

from nlp_service.core.errors import (
    EmptyTextError,
    InvalidEncodingError,
    InvalidTextError,
    NotTextError,
    TextTooLongError,
)


def test_analyze_returns_every_stage(analyzer) -> None:
    a = analyzer.analyze("主播晚上好，几号链接？？👍")
    d = a.to_dict()
    assert d["text"] == "主播晚上好，几号链接？？👍"
    assert "链接" in d["tokens"] and "👍" in d["emojis"]
    assert d["intent"]["label"] == "ask_link"
    assert 0.0 <= d["sentiment"]["score"] <= 1.0
    assert d["sentiment"]["label"] in {"positive", "neutral", "negative"}
    assert "链接" in d["keywords"]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("福袋几点开", "ask_lottery"),
        ("优惠券在哪领", "ask_coupon"),
        ("160 100斤穿什么码", "ask_size"),
        ("什么时候发货 包邮吗", "ask_shipping"),
        ("加V看更多福利", "spam_ad"),
        ("已拍", "purchase"),
    ],
)
def test_intents_of_typical_comments(analyzer, text, intent) -> None:
    assert analyzer.analyze(text).intent.label == intent


def test_keywords_skip_stop_words(analyzer) -> None:
    kws = analyzer.analyze("家人们 这个质量真的好 发货也快").keywords
    assert "家人们" not in kws and "质量" in kws


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("", EmptyTextError),
        ("   \t\n", EmptyTextError),
        ("\u200b\u200c", EmptyTextError),
        ("\x01\x02", EmptyTextError),
        (None, NotTextError),
        (12345, NotTextError),
        (b"\xff\xfe", InvalidEncodingError),
        ("好\udc80", InvalidEncodingError),
        ("好" * 2001, TextTooLongError),
    ],
)
def test_bad_input_gets_a_named_error(analyzer, bad, error) -> None:
    with pytest.raises(error):
        analyzer.analyze(bad)


@pytest.mark.parametrize("odd", ["😀😀😀", "111", "66666", "hello", "vx123", "好看good👍", "？？？", "a\x00b"])
def test_odd_but_valid_input_gets_a_result(analyzer, odd) -> None:
    result = analyzer.analyze(odd)
    assert result.text == odd
    assert result.intent.label


def test_emoji_only_comments_carry_sentiment(analyzer) -> None:
    assert analyzer.analyze("👍👍👍").sentiment.score > analyzer.analyze("😡😡😡").sentiment.score


def test_utf8_bytes_are_accepted(analyzer) -> None:
    assert analyzer.analyze("几号链接".encode()).intent.label == "ask_link"


def test_analyze_many_keeps_order_and_reports_bad_items(analyzer) -> None:
    texts = ["几号链接", "", "质量太差"]
    results = analyzer.analyze_many(texts, on_error="return")
    assert [getattr(r, "text", None) for r in results] == ["几号链接", None, "质量太差"]
    assert isinstance(results[1], EmptyTextError)
    with pytest.raises(InvalidTextError, match="comment #1"):
        analyzer.analyze_many(texts)


def test_module_level_functions(analyzer) -> None:
    import nlp_service

    assert nlp_service.analyze("几号链接").intent.label == "ask_link"
    assert len(nlp_service.analyze_many(["来了", "已拍"])) == 2


def test_repeated_texts_come_from_the_bounded_cache(settings) -> None:
    from nlp_service.analysis import Analyzer

    small = Analyzer.load(settings.model_copy(update={"analysis_cache_size": 2}))
    first = small.analyze("几号链接")
    assert small.analyze("几号链接") is first  # a hit: the same immutable result
    small.analyze("来了")
    small.analyze("福袋几点开")  # the cache was full: the oldest text went
    assert len(small._cache) <= 2
    again = small.analyze("几号链接")
    assert again is not first and again == first  # recomputed, equal
    off = Analyzer.load(settings.model_copy(update={"analysis_cache_size": 0}))
    assert off.analyze("来了") == off.analyze("来了") and len(off._cache) == 0


def test_the_analysis_cache_is_bounded_by_bytes_too(settings) -> None:
    from nlp_service.analysis import Analyzer

    budget = 2_000_000
    a = Analyzer.load(settings.model_copy(update={"analysis_cache_size": 50_000, "analysis_cache_bytes": budget}))
    for i in range(40):  # long distinct comments: ~220 KB each by the estimate
        a.analyze(f"{i}号" + "主播今天的衣服好看吗" * 199)
    assert a._cache.bytes <= budget and len(a._cache) < 40
    assert len(a._cache) >= budget // 300_000  # still caching, not switched off
