"""The labels of one text, and of rows of dicts: the part of archive scoring that
``POST /v1/score``, the Dask engine and the CLI share. No Arrow here, so the service's
serving install needs no pyarrow (``batch/score.py`` adds the chunked, column-wise path).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from nlp_service.core.errors import InvalidTextError
from nlp_service.core.memo import BoundedMemo, text_cost
from nlp_service.core.slots import tuple_builder

if TYPE_CHECKING:  # the models load lazily, in the process that labels
    from nlp_service.analysis import Analyzer
    from nlp_service.moderation.classifier import ModerationClassifier
    from nlp_service.moderation.lexicon import Lexicon


class Labels(NamedTuple):
    """The seven labels of a text: the columns ``score`` adds, in their order (a tuple, so the
    chunked path can walk them column by column; pickled cheaply to and from workers)."""

    sentiment: str
    sentiment_score: float
    intent: str
    intent_confidence: float
    keywords: tuple[str, ...]
    moderation_action: str
    moderation_categories: tuple[str, ...]

    def row(self) -> dict[str, object]:
        """The labels as a row's columns (lists where a JSON or Arrow row wants a list)."""
        return {**self._asdict(), "keywords": list(self.keywords), "moderation_categories": list(self.moderation_categories)}


OUTPUT_COLUMNS: tuple[str, ...] = Labels._fields
_new_labels = tuple_builder(Labels)  # Labels(...) without its Python-level __new__ (core/slots.py)
LabelMemo = BoundedMemo[str, "Labels | str"]  # text → its labels, or why it cannot be labelled
MEMO_ENTRIES = 300_000
# A label tuple is ~600-850 B (tracemalloc; its keywords are at most five words), and its key
# is the text: up to 4 bytes a character (a string with one emoji stores every character in 4).
LABELS_COST = text_cost(per_char=4, base=900)


def new_memo(max_bytes: int | None = None) -> LabelMemo:
    """The labels of texts already seen, bounded by entries and by bytes (``batch_memo_bytes``
    by default) so memory stays flat on archives of any size."""
    if max_bytes is None:
        from nlp_service.core.config import get_settings

        max_bytes = get_settings().batch_memo_bytes
    return BoundedMemo(MEMO_ENTRIES, max_bytes, LABELS_COST)


class Labeler:
    """The seven labels of a text: analysis + moderation, loaded once per process.

    Labels depend on the text alone (flood needs the live stream's timing and is not judged
    here), so archives, which repeat texts a lot (111, 来了, 几号链接), score each distinct
    text once and reuse the result."""

    def __init__(self, analyzer: Analyzer, lexicon: Lexicon, classifier: ModerationClassifier | None = None) -> None:
        from nlp_service.moderation.detect import moderate

        self.analyzer, self.lexicon, self.classifier = analyzer, lexicon, classifier
        # load_labeler's analyzer has its memo off (the label memo holds whole results): skip its lookup
        self._analyze = analyzer.analyze_uncached if not analyzer.settings.analysis_cache_size else analyzer.analyze
        self._moderate = moderate  # imported here, not per text: the models load lazily

    def label(self, text: str) -> Labels | str:
        """The labels of ``text``, or the reason it cannot be scored."""
        try:
            a = self._analyze(text)
        except InvalidTextError as exc:
            return str(exc)
        m = self._moderate(a, self.lexicon, classifier=self.classifier)
        s, i = a.sentiment, a.intent
        return _new_labels((s.label, s.score, i.label, i.confidence, a.keywords, m.action, m.categories))  # keywords, categories: tuples already

    def label_memo(self, text: str, memo: LabelMemo) -> Labels | str:
        """:meth:`label`, remembered in ``memo`` (see :func:`new_memo`)."""
        return memo.get_or_compute(text, self.label)

    def label_memo_all(self, texts: list[str], memo: LabelMemo) -> list[Labels | str]:
        """:meth:`label_memo` of each text, in one call (an archive chunk's distinct texts)."""
        return memo.get_or_compute_all(texts, self.label)


_labeler: Labeler | None = None


def load_labeler() -> Labeler:
    """The process-wide labeler (models, jieba and the base word lists load on first use)."""
    global _labeler
    if _labeler is None:
        from nlp_service.analysis import Analyzer
        from nlp_service.core.config import get_settings
        from nlp_service.moderation.lists import load_base_lexicon
        from nlp_service.moderation.model_cache import load as load_classifier

        # the labeler memoises whole label tuples itself: the analyzer's text cache would double it
        settings = get_settings().model_copy(update={"analysis_cache_size": 0})
        analyzer = Analyzer.load(settings)
        _labeler = Labeler(analyzer, load_base_lexicon(settings.data_dir), load_classifier(settings.models_dir, settings.cache_dir))
    return _labeler


def score_rows(rows: Iterable[dict], text_col: str, labeler: Labeler, memo: LabelMemo | None = None) -> tuple[list[dict], list[dict]]:
    """Score rows of dicts in order: (scored rows = input columns + OUTPUT_COLUMNS, rejects)."""
    memo = memo if memo is not None else new_memo()
    scored, rejects = [], []
    for i, row in enumerate(rows):
        number = row.pop("__row__", i + 1)
        text = row.get(text_col)
        if not isinstance(text, str):
            rejects.append(not_text(number, text_col, text, json.dumps(row, ensure_ascii=False, default=str)))
            continue
        labels = labeler.label_memo(text, memo)
        if isinstance(labels, str):
            rejects.append(reject(number, labels, text))
            continue
        row.update(labels.row())
        scored.append(row)
    return scored, rejects


def reject(row: int | None, reason: str, raw: str | bytes, keep: int = 300) -> dict:
    """A reject of archive scoring (every reader and labeller builds them here): the row's
    number (None when the CSV reader cannot tell it), why, and the first ``keep``
    characters of what it held (bytes decoded with replacement characters)."""
    shown = raw[:keep].decode("utf-8", "replace") if isinstance(raw, bytes) else raw[:keep]
    return {"row": row, "reason": reason, "raw": shown}


def not_text(number: int, text_col: str, value: object, raw: str) -> dict:
    """The reject of a row whose text column holds something other than text."""
    return reject(number, f"{text_col} is {type(value).__name__}, not text", raw)


