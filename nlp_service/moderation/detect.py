"""Moderation of one analysed comment: categories, action, evidence and a suggested answer.

Word lists (``lexicon.py``) and patterns (``patterns.py``) find harmful content; a
listed word counts only where a reader would see it (``context.py``: not inside a longer
word, not across a clause break; mild words only when aimed at someone; names of things
only beside an identifier or an offer). The action is the strictest default action among the categories
found (PRODUCT.md): block for abuse, sexual, ad_contact, illegal, personal_info, flood;
review for fraud_claim and complaint. An optional learned classifier (``classifier.py``)
adds what the lists cannot name; alone it only ever sends a comment to review.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nlp_service.analysis import Analysis
from nlp_service.core.config import Settings
from nlp_service.core.memo import BoundedMemo
from nlp_service.moderation.classifier import (
    ModerationClassifier,
    comment_features,
    sentiment_feature,
)
from nlp_service.moderation.clean import surely_clean
from nlp_service.moderation.context import TextContext
from nlp_service.moderation.labels import BLOCK, DEFAULT_ACTION, PASS, REVIEW
from nlp_service.moderation.lexicon import EXACT, HOMOPHONE, MIXED, PINYIN, Hit, Lexicon
from nlp_service.moderation.patterns import find_patterns, has_long_number
from nlp_service.text.segment import get_segmenter

_RANK = {PASS: 0, REVIEW: 1, BLOCK: 2}
_CONFIDENCE = {EXACT: 1.0, "pattern": 1.0, HOMOPHONE: 0.8, PINYIN: 0.7, MIXED: 0.7}
# Homophone and pinyin hits are weaker evidence. They count only for the categories where
# evasion is the norm, and block on their own only for 引流 (加威信 is never innocent);
# elsewhere they send the comment to a human instead.
_SOUND_ALIKE_CATEGORIES = {"abuse", "sexual", "ad_contact", "illegal", "complaint"}  # 辣鸡店 → 垃圾店
# Written-out pinyin (pianzi, jiahuo) is deliberate, so it also counts for accusations;
# homophones there misfire too often (加抽奖 reads like 假抽奖).
_PINYIN_CATEGORIES = _SOUND_ALIKE_CATEGORIES | {"fraud_claim"}
_SOUND_ALIKE_BLOCKS = {"ad_contact"}

# Negative sentiment alone never queues anything (PRODUCT.md): an after-sales problem
# (没发货, 坏了, 退款慢) is the intent after_sales, answered by a service script; only a
# public, hostile call (避雷, 别买, 垃圾店, calls to report) is a complaint, and those are
# listed words.

# A mild word (data/moderation/mild.txt) is abuse only when the clause it sits in names a
# person: the viewer addressed, the host, another viewer.
_TARGETS = re.compile(r"你|您|妳|一群|主播|楼上|楼下|up主|博主|客服|老板|小编|商家|这人|此人|这货|@")
_CLAUSE = re.compile(r"[，。！？；,.!?;\n…～~]")


@dataclass(frozen=True)
class Moderation:
    action: str = PASS
    categories: tuple[str, ...] = ()
    terms: tuple[dict, ...] = ()
    score: float = 0.0
    suggested_reply: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self, full: bool = False) -> dict:
        out: dict = {"action": self.action, "categories": list(self.categories)}
        if full:
            out.update(terms=list(self.terms), score=self.score, suggested_reply=self.suggested_reply)
        return out

    @property
    def flagged(self) -> bool:
        return self.action != PASS


# The answer for the usual comment, made once: a frozen dataclass costs ~1.5 µs to build,
# a tenth of moderating a clean comment. Nothing changes a result's ``extra`` in place.
_CLEAN = Moderation()


def moderate(
    analysis: Analysis,
    lexicon: Lexicon,
    replies: Mapping[str, Sequence[str]] | None = None,
    extra_categories: Sequence[str] = (),
    classifier: ModerationClassifier | None = None,
) -> Moderation:
    """Moderate one analysed comment. ``extra_categories`` adds categories found elsewhere
    (flood, tracked in Redis); ``classifier`` adds what the lists miss (see _learned)."""
    norm = analysis.normalized
    if not extra_categories and surely_clean(norm, lexicon, classifier):
        return _CLEAN  # the usual comment, in one C call (clean.py)
    patterns, found = find_patterns(norm.original), lexicon.find(norm.text)
    if not found and not patterns and not extra_categories and _clean(analysis, lexicon, classifier):
        return _CLEAN  # the usual comment: none of the bookkeeping below is needed
    terms: list[dict] = []
    scores: dict[str, float] = {}
    weak_only: set[str] = set()
    strong: set[str] = set()
    for h in _word_hits(analysis, lexicon, found, has_pattern=bool(patterns)) if found else ():
        if h.how in (HOMOPHONE, PINYIN, MIXED):
            weak_only.add(h.category)
        else:
            strong.add(h.category)
        start, end = norm.to_original_span(h.start, h.end)
        _add(terms, scores, h, start, end, norm.original)
    for h in patterns:
        _add(terms, scores, h, h.start, h.end, norm.original)
    for c in extra_categories:
        scores[c] = 1.0
    # the model sees every raw hit (as in training), the context rules' rejects included
    raw_hits = [*found, *patterns]
    learned_only = _learned(classifier, norm.text, raw_hits, scores, weak_only, strong, terms)
    if "abuse" not in scores and _group_attack(analysis, lexicon, classifier, raw_hits, terms):
        scores["abuse"] = 0.5
        learned_only.add("abuse")
    if not scores:
        return _CLEAN
    action, categories = _ranked(scores, learned_only, weak_only, strong)
    suggestion = None
    if replies:
        for c in categories:
            options = replies.get(c)
            if options:
                suggestion = options[0]
                break
    return Moderation(action, categories, tuple(terms), round(max(scores.values()), 4), suggestion)


def _ranked(scores: dict[str, float], learned_only: set[str], weak_only: set[str], strong: set[str]) -> tuple[str, tuple[str, ...]]:
    """(the comment's action, its categories strictest action first, then by score, then by
    name). Apart from :func:`moderate` on purpose: a function whose locals a nested function
    or comprehension reads makes them cells at every call (~3 k instructions a comment, on
    the clean path too)."""
    sound_alike_only = weak_only - strong - _SOUND_ALIKE_BLOCKS
    actions: dict[str, str] = {}
    for c, score in scores.items():
        if c in learned_only or (c in sound_alike_only and DEFAULT_ACTION[c] == BLOCK and score < 1.0):
            actions[c] = REVIEW
        else:
            actions[c] = DEFAULT_ACTION[c]
    categories = tuple(sorted(scores, key=lambda c: (-_RANK[actions[c]], -scores[c], c)))
    return actions[categories[0]], categories


def _clean(analysis: Analysis, lexicon: Lexicon, classifier: ModerationClassifier | None) -> bool:
    """For a comment with no list or pattern hit: whether the classifier flags nothing and
    the group rule finds no attack, which is when :func:`moderate`'s general path ends in
    ``_CLEAN`` too (without a hit nothing else can add a category); when either finds
    something, that path runs and asks them again (a few in a hundred comments)."""
    if classifier is not None and classifier.flags(analysis.normalized.text):
        return False
    return not _group_attack(analysis, lexicon, classifier, [], [])


def _learned(
    classifier: ModerationClassifier | None, text: str, hits: list[Hit], scores: dict[str, float],
    weak_only: set[str], strong: set[str], terms: list[dict],
) -> set[str]:  # fmt: skip
    """Add the classifier's categories; returns those it found alone.

    A category the model finds without any list hit goes to review, never to block: an
    ordinary phrase must not be hidden on a model's word. When a weak (sound-alike) list hit
    of the same category agrees, the hit counts as confirmed and takes the category's
    default action (辣鸡主播 blocks when the model agrees)."""
    if classifier is None:
        return set()
    alone: set[str] = set()
    for c, p in classifier.flags(text, hits).items():
        terms.append({"category": c, "term": "classifier", "start": 0, "end": 0, "text": "", "how": "model", "score": round(p, 4)})
        if c in scores:
            if c in weak_only:
                strong.add(c)  # confirmed: the sound-alike hit no longer downgrades to review
            scores[c] = max(scores[c], round(p, 4))
        else:
            alone.add(c)
            scores[c] = round(p, 4)
    return alone


def _group_attack(
    analysis: Analysis, lexicon: Lexicon, classifier: ModerationClassifier | None, hits: list[Hit], terms: list[dict]
) -> bool:  # fmt: skip
    """An attack on a group with no listed word (黑人就是懒, 那个省的人都是骗子): the comment
    names a group of people (``groups.txt``) as a word of its own, and the group model's
    abuse score reaches the threshold ``nlp-service train`` chose on our own rows that name
    a group (``group_model.py``; without a trained group model this rule is off). It only
    sends to review: a human decides."""
    group = classifier.group if classifier is not None else None
    norm = analysis.normalized
    if group is None or not lexicon.context.names_a_group(norm.text):  # the cheap test first
        return False
    m = group_mention(analysis, lexicon)
    if m is None or group.scores_of([*comment_features(norm.text, hits), sentiment_feature(analysis.sentiment.score)])["abuse"] < group.thresholds["abuse"]:
        return False
    start, end = norm.to_original_span(*m)
    terms.append({"category": "abuse", "term": norm.text[m[0] : m[1]], "start": start, "end": end, "text": norm.original[start:end], "how": "group"})
    return True


def group_mention(analysis: Analysis, lexicon: Lexicon) -> tuple[int, int] | None:
    """The span (in the matching form) of the first group of people the comment names as a
    word of its own: 一棒子打死 names no 棒子, 黑人 in 黑人音乐 is a word."""
    found = list(lexicon.context.group_mentions(analysis.normalized.text))
    if not found:
        return None
    ctx = TextContext.of(analysis.normalized, analysis.tokens, get_segmenter())
    for m in found:
        if not ctx.cuts_word(m.start()) and not ctx.cuts_word(m.end()):
            return m.start(), m.end()
    return None


def _word_hits(analysis: Analysis, lexicon: Lexicon, found: list[Hit], has_pattern: bool) -> list[Hit]:
    """The lexicon's hits (``found``) that a reader would see as the listed word, in context.
    ``has_pattern``: a contact or ID pattern matched, which is an identifier beside them."""
    norm = analysis.normalized
    if not found:
        return []
    ctx = TextContext.of(norm, analysis.tokens, get_segmenter())
    rules = lexicon.context
    kept = []
    for h in found:
        if h.how in (HOMOPHONE, PINYIN, MIXED) and h.category not in (_SOUND_ALIKE_CATEGORIES if h.how == HOMOPHONE else _PINYIN_CATEGORIES):
            continue
        if not ctx.plausible(h):
            continue
        if h.term in rules.mild and not _aimed_at_someone(norm.original, *norm.to_original_span(h.start, h.end)):
            continue
        kept.append(h)
    firm = {h.category for h in kept if h.term not in rules.needs_context}
    if len(firm) == len({h.category for h in kept}) or has_pattern or has_long_number(norm.original):
        return kept  # the identifier checks run only for a named thing without firm support
    offer = any(cue in norm.text for cue in rules.offer_cues)
    return [h for h in kept if h.term not in rules.needs_context or h.category in firm or offer]


def _aimed_at_someone(original: str, start: int, end: int) -> bool:
    """Whether the clause around ``original[start:end]`` names a person."""
    left = max((m.end() for m in _CLAUSE.finditer(original, 0, start)), default=0)
    right = next((m.start() for m in _CLAUSE.finditer(original, end)), len(original))
    clause = original[left:start] + original[end:right]
    return bool(_TARGETS.search(clause.lower()))


def _add(terms: list[dict], scores: dict[str, float], h: Hit, start: int, end: int, original: str) -> None:
    terms.append({"category": h.category, "term": h.term, "start": start, "end": end, "text": original[start:end], "how": h.how})
    scores[h.category] = max(scores.get(h.category, 0.0), _CONFIDENCE.get(h.how, 1.0))


# What a remembered result costs (measured with tracemalloc over long comments): the text as key, 2 bytes a character (CJK), ~600 bytes of result,
# and ~400 bytes per matched term. A hostile 2,000-character comment of one repeated word
# has ~1,000 terms: ~390 KB, so the bound must follow the terms, not the entry count.
MEMO_BASE_BYTES, MEMO_CHAR_BYTES, MEMO_TERM_BYTES = 600, 2, 400


def result_cost(text: str, result: Moderation) -> int:
    """Estimated bytes one memo entry holds."""
    return MEMO_BASE_BYTES + MEMO_CHAR_BYTES * len(text) + MEMO_TERM_BYTES * len(result.terms)


# The process-wide moderation memo: one bound for every room's lexicon (a room with its own
# word lists has its own Lexicon; per-lexicon memos would multiply the bound by the rooms).
_memo: BoundedMemo[tuple[int, str], Moderation]


def configure_memo(max_entries: int, max_bytes: int) -> BoundedMemo:
    """Bound the moderation memo (``Services.start`` passes the settings); returns it."""
    global _memo
    _memo = BoundedMemo(max_entries, max_bytes, lambda _key: MEMO_BASE_BYTES)  # put() charges the real cost
    return _memo


def configure_default_memo() -> BoundedMemo:
    """The memo with the bounds ``Settings`` has by default (the library and the eval, which
    start no ``Services``); returns it."""
    fields = Settings.model_fields
    return configure_memo(fields["moderation_memo_size"].default, fields["moderation_memo_bytes"].default)


configure_default_memo()


def moderate_memo(
    analysis: Analysis, lexicon: Lexicon, replies: Mapping[str, Sequence[str]] | None = None, classifier: ModerationClassifier | None = None
) -> Moderation:
    """:func:`moderate`, remembered per (lexicon, text): rooms repeat themselves, and the
    result depends only on the text and the lists (``replies`` and ``classifier`` are fixed
    per engine). Bounded by entries and by bytes (:func:`result_cost`)."""
    store = _memo
    key = (lexicon.token, analysis.text)
    result = store.get(key)
    if result is None:
        result = moderate(analysis, lexicon, replies, classifier=classifier)
        store.put(key, result, result_cost(analysis.text, result))
    return result
