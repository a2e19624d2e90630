"""Moderation of one analysed comment: categories, action, evidence and a suggested answer.

Word lists (``lexicon.py``) and patterns (``patterns.py``) find harmful content; the
sentiment and intent models add controversy (a strong complaint goes to review even
without a listed word). The action is the strictest default action among the categories
found (PRODUCT.md): block for abuse, sexual, ad_contact, illegal, personal_info, flood;
review for fraud_claim and complaint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nlp_service.analysis import Analysis
from nlp_service.moderation.classifier import ModerationClassifier
from nlp_service.moderation.lexicon import EXACT, HOMOPHONE, PINYIN, Hit, Lexicon
from nlp_service.moderation.patterns import find_patterns

PASS, REVIEW, BLOCK = "pass", "review", "block"
CATEGORIES = ("abuse", "sexual", "ad_contact", "illegal", "personal_info", "fraud_claim", "complaint", "flood")
DEFAULT_ACTION = {
    "abuse": BLOCK, "sexual": BLOCK, "ad_contact": BLOCK, "illegal": BLOCK, "personal_info": BLOCK,
    "fraud_claim": REVIEW, "complaint": REVIEW, "flood": BLOCK,
}  # fmt: skip
_RANK = {PASS: 0, REVIEW: 1, BLOCK: 2}
_CONFIDENCE = {EXACT: 1.0, "pattern": 1.0, HOMOPHONE: 0.8, PINYIN: 0.7}
# Homophone and pinyin hits are weaker evidence. They count only for the categories where
# evasion is the norm, and block on their own only for 引流 (加威信 is never innocent);
# elsewhere they send the comment to a human instead.
_SOUND_ALIKE_CATEGORIES = {"abuse", "sexual", "ad_contact", "illegal"}
# Written-out pinyin (pianzi, jiahuo) is deliberate, so it also counts for accusations;
# homophones there misfire too often (加抽奖 reads like 假抽奖).
_PINYIN_CATEGORIES = _SOUND_ALIKE_CATEGORIES | {"fraud_claim"}
_SOUND_ALIKE_BLOCKS = {"ad_contact"}

# Controversy without a listed word, from the models. A comment goes to review as a
# complaint when either
#   * the intent model says complaint (confidence ≥ 0.25, above its 0.2 `other` threshold)
#     and the sentiment score (P(positive) + ½P(neutral)) is below a neutral 0.5 − 0.05, or
#   * the sentiment score is strongly negative (≤ 0.2) and the intent is about the goods or
#     the order (not chit-chat, greetings or ads: "好无聊" is negative but no complaint).
# Set a priori rather than tuned (the models have memorised their training split, so
# tuning there means nothing); tests/moderation/test_detect.py checks the result on
# held-out comments: most complaints flagged, almost no innocent comment blocked.
COMPLAINT_MIN_CONFIDENCE = 0.25
COMPLAINT_MAX_SENTIMENT = 0.45
STRONG_NEGATIVE = 0.2
_NOT_ABOUT_GOODS = {"other", "greeting", "spam_ad"}


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
    terms: list[dict] = []
    scores: dict[str, float] = {}
    weak_only: set[str] = set()
    strong: set[str] = set()
    lex_hits, pattern_hits = lexicon.find(norm.text), find_patterns(norm.original)
    for h in lex_hits:
        if h.how in (HOMOPHONE, PINYIN):
            if h.category not in (_PINYIN_CATEGORIES if h.how == PINYIN else _SOUND_ALIKE_CATEGORIES):
                continue
            weak_only.add(h.category)
        else:
            strong.add(h.category)
        start, end = norm.to_original_span(h.start, h.end)
        _add(terms, scores, h, start, end, norm.original)
    for h in pattern_hits:
        _add(terms, scores, h, h.start, h.end, norm.original)
    intent, sentiment = analysis.intent, analysis.sentiment
    model_says_complaint = intent.label == "complaint" and intent.confidence >= COMPLAINT_MIN_CONFIDENCE and sentiment.score <= COMPLAINT_MAX_SENTIMENT
    strongly_negative = sentiment.score <= STRONG_NEGATIVE and intent.label not in _NOT_ABOUT_GOODS
    if model_says_complaint or strongly_negative:
        scores["complaint"] = max(scores.get("complaint", 0.0), round(1 - sentiment.score, 4))
    for c in extra_categories:
        scores[c] = 1.0
    learned_only = _learned(classifier, norm.text, [*lex_hits, *pattern_hits], scores, weak_only, strong, terms)
    if not scores:
        return Moderation()
    def action_of(c: str) -> str:
        if c in learned_only:
            return REVIEW
        if c in weak_only - strong - _SOUND_ALIKE_BLOCKS and DEFAULT_ACTION[c] == BLOCK and scores[c] < 1.0:
            return REVIEW
        return DEFAULT_ACTION[c]

    categories = tuple(sorted(scores, key=lambda c: (-_RANK[action_of(c)], -scores[c], c)))
    action = action_of(categories[0])
    suggestion = None
    if replies:
        for c in categories:
            options = replies.get(c)
            if options:
                suggestion = options[0]
                break
    return Moderation(action, categories, tuple(terms), round(max(scores.values()), 4), suggestion)


def _learned(
    classifier: ModerationClassifier | None, text: str, hits: list[Hit], scores: dict[str, float],
    weak_only: set[str], strong: set[str], terms: list[dict],
) -> set[str]:  # fmt: skip
    """Add the classifier's categories; returns those it found alone.

    A category the model finds without any list hit goes to review, never to block: an
    ordinary phrase must not be hidden on a model's word. When a weak (sound-alike) list hit
    of the same category agrees, the hit counts as confirmed and takes the category's
    default action (智樟主播 blocks when the model agrees)."""
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


def _add(terms: list[dict], scores: dict[str, float], h: Hit, start: int, end: int, original: str) -> None:
    terms.append({"category": h.category, "term": h.term, "start": start, "end": end, "text": original[start:end], "how": h.how})
    scores[h.category] = max(scores.get(h.category, 0.0), _CONFIDENCE.get(h.how, 1.0))


_MEMO_LIMIT = 100_000


def moderate_memo(
    analysis: Analysis, lexicon: Lexicon, replies: Mapping[str, Sequence[str]] | None = None, classifier: ModerationClassifier | None = None
) -> Moderation:
    """:func:`moderate`, remembered per text on the lexicon: rooms repeat themselves, and the
    result depends only on the text and the lists (``replies`` and ``classifier`` are fixed
    per engine)."""
    memo = lexicon.memo
    result = memo.get(analysis.text)
    if result is None:
        result = moderate(analysis, lexicon, replies, classifier=classifier)
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[analysis.text] = result
    return result  # type: ignore[return-value]
