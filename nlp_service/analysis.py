"""The analysis pipeline in one readable place: normalise → segment → classify → keywords.

``analyze(text)`` for one comment, ``analyze_many(texts)`` for batches. Usable as a
library, without any server. Moderation and reply rules build on the ``Analysis`` this
returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from nlp_service.classify.artifacts import weights_path
from nlp_service.classify.intent import NAME as INTENT
from nlp_service.classify.intent import Intent, IntentModel, load_intent
from nlp_service.classify.linear import FusedLinear
from nlp_service.classify.sentiment import (
    POLARITY,
    SUBJECTIVITY,
    Sentiment,
    SentimentModel,
    load_sentiment,
)
from nlp_service.core.config import Settings, get_settings
from nlp_service.core.errors import InvalidTextError
from nlp_service.core.memo import BoundedMemo, text_cost
from nlp_service.core.slots import builder
from nlp_service.core.speedups import decide
from nlp_service.text.keywords import KeywordTables, comment_keywords, get_tables
from nlp_service.text.normalize import Normalized, check_text, normalize
from nlp_service.text.segment import FastSegmenter, get_segmenter


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the core knows about one comment."""

    normalized: Normalized
    tokens: tuple[str, ...]
    sentiment: Sentiment
    intent: Intent
    keywords: tuple[str, ...]

    @property
    def text(self) -> str:
        """The original comment, untouched."""
        return self.normalized.original

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "normalized": self.normalized.text,
            "tokens": list(self.tokens),
            "emojis": list(self.normalized.emojis),
            "sentiment": self.sentiment.to_dict(),
            "intent": self.intent.to_dict(),
            "keywords": list(self.keywords),
        }


_DECIDED = ("subjectivity", "polarity", "intent")  # the fused models, in the order decide() takes them
_new_analysis = builder(Analysis)  # Analysis(...) without the frozen __init__'s cost (core/slots.py)


@dataclass(frozen=True)
class Analyzer:
    """The loaded pipeline: models, tokenizer and keyword tables for one ``Settings``.

    Live rooms repeat themselves (扣1, 来了, 666, 几号链接: in the sample room 2,999
    comments have 1,270 distinct texts), and an analysis depends on the text alone and is
    immutable, so the last ``analysis_cache_size`` distinct texts are answered from a dict.
    Bounded: when full it is emptied and refills with what the room says now.
    """

    settings: Settings
    sentiment_model: SentimentModel
    intent_model: IntentModel
    keyword_tables: KeywordTables
    scorer: FusedLinear
    segmenter: FastSegmenter
    _cache: BoundedMemo[str, Analysis] | None = field(default=None, repr=False, compare=False)
    _decide_layout: tuple | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # ~110 bytes per character of the comment plus ~1.2 KB (tracemalloc over the
        # Analysis of 200 random comments of 6 to 500 characters): bounded by bytes too, so
        # long comments cannot grow a worker past the budget
        s = self.settings
        object.__setattr__(self, "_cache", BoundedMemo(s.analysis_cache_size, s.analysis_cache_bytes, text_cost(per_char=110, base=1200)))  # frozen dataclass
        if decide is not None and self.scorer.names == _DECIDED:  # both decisions in one C call (tested equal to the models' decide)
            object.__setattr__(self, "_decide_layout", (*self.sentiment_model.decide_layout, *self.intent_model.decide_layout))

    @classmethod
    def load(cls, settings: Settings | None = None) -> Analyzer:
        """Load everything once (models, jieba dictionary, IDF table); raises if a model is missing."""
        settings = settings or get_settings()
        sentiment, intent = load_sentiment(settings), load_intent(settings)
        models = {"subjectivity": sentiment.subjectivity, "polarity": sentiment.polarity, "intent": intent.fast}
        sources = [weights_path(settings.models_dir, name) for name in (SUBJECTIVITY, POLARITY, INTENT)]  # what the models were loaded from
        scorer = FusedLinear(models, settings.cache_dir, sources)
        return cls(settings, sentiment, intent, get_tables(settings), scorer, get_segmenter(settings))

    def analyze(self, text: object) -> Analysis:
        """Analyse one comment. Raises an ``InvalidTextError`` subclass for unusable input."""
        if type(text) is not str:
            return self.analyze_uncached(text)
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        return self._cache.put(text, self.analyze_uncached(text))

    def analyze_uncached(self, text: object) -> Analysis:
        """:meth:`analyze` without the memo: for callers that remember whole results
        themselves (the archive labeller)."""
        settings = self.settings
        norm = normalize(check_text(text, settings.max_text_length))
        tokens = self.segmenter.words(norm.text)
        if self._decide_layout is not None:  # the scorer's lists in _DECIDED's order (checked at load)
            subjectivity, polarity, intent_probs = self.scorer.comment_prob_lists(norm.text, tokens, norm.emojis)
            sentiment, intent = decide(subjectivity, polarity, intent_probs, self._decide_layout)
        else:
            probs = self.scorer.comment_probs(norm.text, tokens, norm.emojis)
            sentiment, intent = self.sentiment_model.decide(probs["subjectivity"], probs["polarity"]), self.intent_model.decide(probs["intent"])
        return _new_analysis(
            norm,
            tuple(tokens),
            sentiment,
            intent,
            tuple(comment_keywords(tokens, settings.keywords_top_k, self.keyword_tables)),
        )

    def iter_analyze(
        self, texts: Iterable[object], on_error: Literal["raise", "return"] = "raise"
    ) -> Iterator[Analysis | InvalidTextError]:
        """Stream form of :meth:`analyze_many`."""
        for i, text in enumerate(texts):
            try:
                yield self.analyze(text)
            except InvalidTextError as exc:
                if on_error == "raise":
                    raise type(exc)(f"comment #{i}: {exc}") from exc
                yield exc

    def analyze_many(
        self, texts: Iterable[object], on_error: Literal["raise", "return"] = "raise"
    ) -> list[Analysis | InvalidTextError]:
        """Analyse a batch in order. ``on_error="return"`` puts the error in the bad comment's
        place instead of stopping, so a batch never loses its good comments."""
        return list(self.iter_analyze(texts, on_error))


_default: Analyzer | None = None


def get_analyzer() -> Analyzer:
    """The process-wide analyzer for the environment's settings (loaded on first use)."""
    global _default
    if _default is None:
        _default = Analyzer.load()
    return _default


def analyze(text: object) -> Analysis:
    """Analyse one comment with the default settings. See :meth:`Analyzer.analyze`."""
    return get_analyzer().analyze(text)


def analyze_many(
    texts: Iterable[object], on_error: Literal["raise", "return"] = "raise"
) -> list[Analysis | InvalidTextError]:
    """Analyse many comments with the default settings. See :meth:`Analyzer.analyze_many`."""
    return get_analyzer().analyze_many(texts, on_error)
