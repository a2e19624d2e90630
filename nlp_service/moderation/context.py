"""Is a word-list hit a plausible word of the comment? (precision rules for matching)

The lexicon finds a term wherever its characters or sounds appear; real chat is full of
strings that only look like listed terms: 困死我了 sounds like 私我, 当代考研人 holds 代考,
出生年月 sounds like 畜生, 一三八… is a phone number, not 三八. These rules use the
segmentation (jieba's dictionary words) and the original text's punctuation:

* no hit may sit inside a longer dictionary word (变态 in 变态辣), and an exact hit may not
  cut into dictionary words at both ends (代考 in 当代|考研, 时代|考古): the reader sees
  those words, not the term. One cut end is allowed for exact hits, since evasions glue
  terms to their neighbours (代考驾照 segments as 代|考驾照);
* a homophone or pinyin hit must start and end on word boundaries;
* a homophone or pinyin hit never spans a clause break (，。！？…) of the original;
* a homophone of a short term (≤ 2 characters) counts only as a whole token that is not
  itself a common word: 出生 is a word of its own, not a disguised 畜生;
* a term made of Chinese numerals (三八, 二百五) does not count inside a longer number.

Exact hits on Latin terms keep their own whole-word rule in the lexicon.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from nlp_service.moderation.lexicon import EXACT, MIXED, Hit
from nlp_service.text.normalize import Normalized
from nlp_service.text.segment import FastSegmenter

# A short homophone written as a word jieba has seen this often is that word (出生 1979,
# 威信 521), not an evasion; evasive spellings the project knows are listed as exact terms.
COMMON_WORD_FREQUENCY = 50
CLAUSE_BREAKS = frozenset("，。！？；：、,.!?;:\n…～~")
NUMERALS = frozenset("零〇一二两三四五六七八九十百千万壹贰叁肆伍陆柒捌玖拾0123456789")


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


@dataclass(frozen=True)
class TextContext:
    """Token spans of one comment's matching form, for the plausibility checks."""

    normalized: Normalized
    starts: tuple[int, ...]  # start of each token in the matching form
    ends: tuple[int, ...]
    tokens: tuple[str, ...]
    segmenter: FastSegmenter

    @classmethod
    def of(cls, normalized: Normalized, tokens: Sequence[str], segmenter: FastSegmenter) -> TextContext:
        text = normalized.text
        starts, ends, kept = [], [], []
        pos = 0
        for tok in tokens:
            at = text.find(tok, pos)
            if at < 0:  # tokens always come from this text; be safe if not
                continue
            starts.append(at)
            ends.append(at + len(tok))
            kept.append(tok)
            pos = at + len(tok)
        return cls(normalized, tuple(starts), tuple(ends), tuple(kept), segmenter)

    def _token_at(self, pos: int) -> int:
        """Index of the token covering character ``pos`` (-1 if none)."""
        i = bisect_right(self.starts, pos) - 1
        return i if i >= 0 and pos < self.ends[i] else -1

    def cuts_word(self, pos: int) -> bool:
        """True when a boundary at ``pos`` falls strictly inside a multi-character CJK word."""
        i = self._token_at(pos)
        if i < 0 or self.starts[i] == pos:
            return False
        tok = self.tokens[i]
        return len(tok) >= 2 and _is_cjk(tok[0])

    def inside_word(self, start: int, end: int) -> bool:
        """True when one multi-character CJK word covers ``[start, end)`` and is longer."""
        i = self._token_at(start)
        if i < 0 or self.ends[i] < end:
            return False
        tok = self.tokens[i]
        return len(tok) > end - start and _is_cjk(tok[0])

    def whole_token(self, start: int, end: int) -> str | None:
        i = self._token_at(start)
        if i >= 0 and self.starts[i] == start and self.ends[i] == end:
            return self.tokens[i]
        return None

    def plausible(self, hit: Hit) -> bool:
        """Whether ``hit`` (a lexicon hit in the matching form) is a word the reader sees."""
        term = hit.term
        if not _is_cjk(term[0]):
            return True
        text = self.normalized.text
        if self.inside_word(hit.start, hit.end):
            return False
        cut_start, cut_end = self.cuts_word(hit.start), self.cuts_word(hit.end)
        if (cut_start and cut_end) or (hit.how != EXACT and (cut_start or cut_end)):
            return False
        if all(c in NUMERALS for c in term):
            before = text[hit.start - 1] if hit.start > 0 else ""
            after = text[hit.end] if hit.end < len(text) else ""
            if before in NUMERALS or after in NUMERALS:
                return False
        if hit.how == EXACT:
            return True
        s, e = self.normalized.to_original_span(hit.start, hit.end)
        if any(c in CLAUSE_BREAKS for c in self.normalized.original[s:e]):
            return False
        if len(term) <= 2 and hit.how != MIXED:  # a spelled-out syllable is no chance reading
            token = self.whole_token(hit.start, hit.end)
            return token is not None and self.segmenter.frequency(token) < COMMON_WORD_FREQUENCY
        return True
