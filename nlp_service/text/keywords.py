"""Keywords of one comment and of a batch, for reports (praise words, complaint words).

Per comment: TF-IDF over the words the segmenter already produced, with jieba's IDF
table and our live-commerce stop-word list (no second segmentation: this runs on the
hot path). Per batch: the same TF-IDF summed over the batch, or jieba's TextRank.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from nlp_service.core.config import Settings, get_settings
from nlp_service.core.errors import DataFileError
from nlp_service.core.speedups import StrTable, rank_keywords
from nlp_service.core.tablecache import mapped_table
from nlp_service.text.segment import jieba_file

# jieba's IDF table, read directly: importing jieba.analyse costs 0.6 s (it loads the
# part-of-speech model), which only TextRank needs.
_IDF_FILE = jieba_file("analyse", "idf.txt")

_lock = threading.Lock()
SEEN_TOKENS = 500_000  # the most tokens whose weights KeywordTables remembers


@dataclass(frozen=True)
class KeywordTables:
    idf: dict[str, float] | StrTable  # looked up with .get(word, default) only
    median_idf: float
    stopwords: frozenset[str]
    # token → its IDF weight, or 0.0 when it is no keyword candidate; filled as tokens are
    # seen (a room's vocabulary is small), so the hot path is one dict lookup per token.
    weights: dict[str, float] = field(default_factory=dict)

    def weight(self, token: str) -> float:
        w = self.weights.get(token)
        if w is None:
            w = self.idf.get(token, self.median_idf) if is_candidate(token, self.stopwords) else 0.0
            if len(self.weights) < SEEN_TOKENS:
                self.weights[token] = w
        return w


def _read_idf() -> tuple[dict[str, float], float]:
    """jieba's IDF table and its median, as ``jieba.analyse.tfidf.IDFLoader`` computes them."""
    from jieba.analyse.tfidf import IDFLoader

    return IDFLoader(str(_IDF_FILE)).get_idf()


@lru_cache(maxsize=4)
def _load_tables(stopwords_path: Path, cache_dir: Path) -> KeywordTables:
    if not stopwords_path.is_file():
        raise DataFileError(f"stop-word list not found at {stopwords_path} (NLP_SERVICE_DATA_DIR)")
    # compiled: the table is mapped from the start-up cache (no 270,000-key dict to load)
    idf, median = mapped_table(cache_dir, "keyword-idf", [_IDF_FILE], _read_idf)
    words = {line.strip() for line in stopwords_path.read_text(encoding="utf-8").splitlines()}
    words.discard("")
    return KeywordTables(idf, median, frozenset(words))


def get_tables(settings: Settings | None = None) -> KeywordTables:
    """The IDF table and stop words (loaded once per stop-word file)."""
    settings = settings or get_settings()
    with _lock:
        return _load_tables(settings.stopwords_path, settings.cache_dir)


def is_candidate(word: str, stopwords: frozenset[str]) -> bool:
    """A word worth reporting: two characters or more, not a stop word, not just digits/symbols."""
    return len(word) >= 2 and word not in stopwords and any(ch.isalpha() for ch in word)


def comment_keywords(tokens: Iterable[str], top_k: int, tables: KeywordTables) -> list[str]:
    """Top ``top_k`` keywords of one comment's tokens by TF-IDF, best first (ties keep order);
    in one C call when the extension is built (tested equal to :func:`comment_keywords_py`)."""
    if rank_keywords is not None and isinstance(tokens, (list, tuple)):  # an iterator could not be walked twice
        ranked = rank_keywords(tokens, top_k, tables.weights, tables.stopwords, tables.idf, tables.median_idf, SEEN_TOKENS)
        if ranked is not None:  # None: more candidates than the C walk keeps
            return ranked
    return comment_keywords_py(tokens, top_k, tables)


def comment_keywords_py(tokens: Iterable[str], top_k: int, tables: KeywordTables) -> list[str]:
    """:func:`comment_keywords` in Python (the fallback, and the reference for the C walk)."""
    scores: dict[str, float] = {}
    weights, weight = tables.weights, tables.weight
    for tok in tokens:
        w = weights.get(tok)  # KeywordTables.weight's own first step, without a call per token
        if w is None:
            w = weight(tok)
        if w:
            scores[tok] = scores.get(tok, 0.0) + w
    if not scores:
        return []
    if len(scores) == 1:
        return list(scores)
    return sorted(scores, key=scores.__getitem__, reverse=True)[:top_k]


def batch_keywords(
    token_lists: Iterable[Iterable[str]],
    top_k: int = 20,
    settings: Settings | None = None,
) -> list[tuple[str, float]]:
    """Top keywords of a batch by TF-IDF summed over comments: [(word, weight)], best first.

    Weights are normalised to sum to 1 over the returned words' full candidate set.
    """
    tables = get_tables(settings)
    idf, median = tables.idf, tables.median_idf
    scores: Counter[str] = Counter()
    for tokens in token_lists:
        for tok in tokens:
            if is_candidate(tok, tables.stopwords):
                scores[tok] += idf.get(tok, median)
    total = sum(scores.values()) or 1.0
    return [(w, s / total) for w, s in scores.most_common(top_k)]


def textrank_keywords(texts: Iterable[str], top_k: int = 20, settings: Settings | None = None) -> list[tuple[str, float]]:
    """Top keywords of a batch by jieba's TextRank over the joined texts, using our tokenizer."""
    import jieba.analyse
    import jieba.posseg

    from nlp_service.text.segment import get_tokenizer

    tables = get_tables(settings)
    ranker = jieba.analyse.TextRank()
    ranker.tokenizer = ranker.postokenizer = jieba.posseg.POSTokenizer(get_tokenizer(settings))
    ranker.stop_words = set(ranker.stop_words) | set(tables.stopwords)
    joined = "\n".join(texts)
    return [(w, float(s)) for w, s in ranker.textrank(joined, topK=top_k, withWeight=True)]
