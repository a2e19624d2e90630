from nlp_service.text.keywords import (
    batch_keywords,
    comment_keywords,
    get_tables,
    textrank_keywords,
)


def test_comment_keywords_rank_by_tfidf_and_drop_stop_words(settings) -> None:
    tables = get_tables(settings)
    kws = comment_keywords(["主播", "质量", "质量", "发货", "的", "666", "了"], 5, tables)
    assert kws[0] == "质量"
    assert "发货" in kws and "主播" not in kws and "666" not in kws


def test_stop_word_list_is_big_and_keeps_content_words(settings) -> None:
    words = get_tables(settings).stopwords
    assert len(words) >= 400
    assert not {"发货", "质量", "好看", "划算", "退款", "假货", "尺码", "链接", "优惠券", "福袋"} & words


def test_batch_keywords(settings, analyzer) -> None:
    texts = ["发货太慢了", "发货什么时候", "质量很好", "发货快吗"]
    top = batch_keywords([analyzer.analyze(t).tokens for t in texts], top_k=3, settings=settings)
    assert top[0][0] == "发货"
    assert abs(sum(w for _, w in top) - 1.0) < 1e-9 or sum(w for _, w in top) < 1.0
    ranked = textrank_keywords(["发货太慢了 发货慢", "质量很好 质量不错", "发货什么时候"], top_k=5, settings=settings)
    assert ranked and all(isinstance(w, str) for w, _ in ranked)
