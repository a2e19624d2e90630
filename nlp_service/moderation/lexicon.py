"""Word-list matching that sees through evasion.

Three views of one normalised comment, each searched once:

* the matching form (normalisation already removed separators, emoji between characters,
  traditional forms, full-width forms and case), searched for every listed term: in C, a
  walk from each position over a table of the terms and their prefixes
  (``StrTable.spans``), or without the build one Aho-Corasick automaton (``pyahocorasick``);
* a pinyin view, so homophones written with other characters match (加威信 / 加维信 →
  加微信, 辣鸡 → 垃圾): each character's usual reading from ``pypinyin`` is walked over a
  syllable trie of the listed terms (in C: the comment's readings as one character each,
  ``readings.sounds``, walked over a table of the terms' sounds). To keep 笑死我了 from reading as 私我, a homophone
  hit must keep at least half of the term's characters as written; rarer readings
  (``pypinyin`` knows 以 can read si) are ignored for the same reason;
* the Latin words of the comment, against each term's full pinyin (pianzi → 骗子,
  jiahuo → 假货) and, for terms of four or more syllables, its initials (shorter
  abbreviations such as sb or nmsl are listed as terms themselves: computed three-letter
  initials collide with slang like xdm = 兄弟们);
* mixed spellings, where pinyin stands in for some characters of a term and the others are
  written as listed (da麻 → 大麻, 假zheng → 假证, 代开fa票 → 代开发票): a Latin word that splits
  into the terms' syllables is walked over the same syllable trie as the characters around
  it. The written characters must be the term's own and the Latin word is used whole, so
  chance readings of English or of other characters do not match.

An allow-list entry suppresses every hit whose span it covers (女装 protects 女 + 装,
路口交通 protects 口交), not only an exact-text match. Latin terms such as ``sb`` only match
as whole Latin words (not inside ``usb``). The readings and Latin words of a comment are
``readings.py``'s.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import eq

import ahocorasick

from nlp_service.core.slots import builder
from nlp_service.core.speedups import walk_table
from nlp_service.moderation.context_rules import ContextRules
from nlp_service.moderation.context_rules import norm_term as _norm
from nlp_service.moderation.readings import (
    has_latin_and_cjk,
    is_cjk,
    latin_words,
    reading,
    sound_char,
    sounds,
    syllable_units,
)

EXACT, HOMOPHONE, PINYIN, MIXED = "exact", "homophone", "pinyin", "mixed"


@dataclass(frozen=True, slots=True)
class Hit:
    category: str
    term: str
    start: int  # span in the matching form
    end: int
    how: str  # exact | homophone | pinyin | pattern


# Hit(...) without the frozen __init__'s ~1,500 instructions a field (core/slots.py): a
# comment near a listed term or sound makes several
_new_hit = builder(Hit)

_TOKENS = itertools.count(1)


class Lexicon:
    """Compiled word lists of one scope: {category: terms} plus an allow list."""

    def __init__(self, terms: Mapping[str, Iterable[str]], allow: Iterable[str] = (), context: ContextRules | None = None) -> None:
        self.context = context or ContextRules()
        self._trie: dict = {}
        self._latin: dict[str, list[tuple[str, str]]] = {}
        entries: dict[str, set[str]] = {}
        self.size = 0
        self._terms: list[tuple[str, tuple[str, ...], tuple[bool, bool]]] = []  # (term, categories, Latin edges)
        self._syllables: set[str] = set()
        by_sound: dict[str, list[tuple[str, tuple[str, ...]]]] = {}  # the trie's leaves, keyed by their sounds
        for category, words in terms.items():
            for raw in words:
                term = _norm(raw)
                if not term:
                    continue
                entries.setdefault(term, set()).add(category)
        for term, categories in entries.items():
            cats = tuple(sorted(categories))
            # a term that begins or ends with a Latin letter matches only at a Latin word's
            # edge there (sb not inside usb, a货 not inside fa货)
            edges = (term[0].isascii() and term[0].isalpha(), term[-1].isascii() and term[-1].isalpha())
            self._terms.append((term, cats, edges))
            self.size += 1
            if len(term) >= 2 and all(is_cjk(c) for c in term):
                syllables = [reading(c) for c in term]
                self._syllables.update(syllables)
                node = self._trie
                for s in syllables:
                    node = node.setdefault(s, {})
                node.setdefault(None, []).append((term, cats))
                by_sound.setdefault("".join(map(sound_char, syllables)), []).append((term, cats))
                full = "".join(syllables)
                if len(full) >= 5:
                    self._latin.setdefault(full, []).append((term, cats))
                if len(term) >= 4:  # 3-letter initials collide with slang (xdm = 兄弟们)
                    self._latin.setdefault("".join(s[0] for s in syllables), []).append((term, cats))
        # the exact walk in C (``StrTable.spans``: each term with its index in ``_terms``, each
        # proper prefix as None); without the build, an Aho-Corasick automaton (``_exact``)
        self.term_table = walk_table({t: float(i) for i, (t, _, _) in enumerate(self._terms)})
        self._term_spans = self.term_table.spans if self.term_table is not None else None
        self._automaton: ahocorasick.Automaton | None = None
        # the homophone walk in C (``StrTable.spans`` over the comment's sounds): each leaf's
        # sounds with its index in ``_leaves``, each proper prefix as None (walk on)
        self._leaves = [tuple(leaf) for leaf in by_sound.values()]
        self.sound_table = walk_table({k: float(i) for i, k in enumerate(by_sound)})
        self._sound_spans = self.sound_table.spans if self.sound_table is not None else None
        self._allow = ahocorasick.Automaton()
        allow_terms = {t for t in (_norm(a) for a in allow) if t}
        for t in allow_terms:
            self._allow.add_word(t, len(t))
        if allow_terms:
            self._allow.make_automaton()
        self._has_allow = bool(allow_terms)
        # moderate() results are remembered per (token, text) in one process-wide memo (see
        # detect.moderate_memo); a change to the lists builds a new Lexicon with a new token,
        # so a result can never be stale, and the old lexicon's entries age out of the memo
        self.token = next(_TOKENS)
        # character → the syllable trie's node for its reading (None: no term starts with that
        # sound), filled as characters are seen: bounded by the characters a room uses
        self._heads: dict[str, dict | None] = {}
        # (classifier, layout) of the compiled clean check (``clean.py``), made on first use
        self.clean_layout: tuple | None = None

    def find(self, text: str) -> list[Hit]:
        """Hits in the matching form ``text``, after allow-list suppression."""
        hits: list[Hit] = []
        if self.size:
            terms = self._terms
            for start, end, k in self._term_spans(text) if self._term_spans is not None else self._exact(text):
                term, cats, (latin_head, latin_tail) = terms[k]
                if (latin_head and start > 0 and "a" <= text[start - 1] <= "z") or (latin_tail and end < len(text) and "a" <= text[end] <= "z"):
                    continue  # sb inside usb
                for c in cats:  # loops, not generators: a generator over locals makes them cells at every call
                    hits.append(_new_hit(c, term, start, end, EXACT))
        if self._trie:
            hits.extend(self._homophones(text))
        words = latin_words(text)  # most comments have none: both walks below are skipped
        if words and self._trie and has_latin_and_cjk(text):
            hits.extend(self._mixed(text, words))
        if words and self._latin:
            for start, end, word in words:
                for term, cats in self._latin.get(word, ()):
                    for c in cats:
                        hits.append(_new_hit(c, term, start, end, PINYIN))
        if hits and self._has_allow:
            allowed = [(end - length + 1, end + 1) for end, length in self._allow.iter(text)]
            if allowed:
                hits = _outside(hits, allowed)
        return _dedupe(hits) if hits else hits

    def _exact(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, index in ``_terms``) of every listed term in ``text``, by pyahocorasick:
        the fallback without the C build, and the tests' reference for ``StrTable.spans``."""
        automaton = self._automaton
        if automaton is None:  # built whole before it is shared (another thread may build one too)
            automaton = ahocorasick.Automaton()
            for k, (term, _, _) in enumerate(self._terms):
                automaton.add_word(term, (len(term), k))
            automaton.make_automaton()
            self._automaton = automaton
        return [(last - length + 1, last + 1, k) for last, (length, k) in automaton.iter(text)]

    def _homophones(self, text: str) -> list[Hit]:
        """Spans that read like a CJK term but are not written as it, keeping at least half
        of the term's characters as written, in the order of :meth:`_homophones_walk` (by
        start, then end; a leaf's terms in list order), which ``_dedupe`` keeps."""
        spans = self._sound_spans
        if spans is None:
            return self._homophones_walk(text)
        out: list[Hit] = []
        leaves = self._leaves
        for start, end, leaf in spans(sounds(text)):
            written = text[start:end]
            for term, cats in leaves[leaf]:
                # the characters written as the term's (a term and its span read alike: one
                # sound a character, so the lengths are equal); map, not a generator over zip
                if written != term and 2 * sum(map(eq, written, term)) >= end - start:
                    for c in cats:  # a loop: see find
                        out.append(_new_hit(c, term, start, end, HOMOPHONE))
        return out

    def _homophones_walk(self, text: str) -> list[Hit]:
        """The homophone walk in Python: the fallback without the C build, and the reference
        the tests compare :meth:`_homophones` with."""
        out: list[Hit] = []
        n = len(text)
        trie = self._trie
        heads = self._heads
        for i in range(n):
            ch = text[i]
            node = heads.get(ch, _UNSEEN)
            if node is _UNSEEN:
                node = heads[ch] = trie.get(reading(ch))
            if node is None:  # the usual case: no listed term starts with this sound
                continue
            j = i
            while node is not None:
                for term, cats in node.get(None, ()):
                    written = text[i : j + 1]
                    same = sum(a == b for a, b in zip(written, term, strict=True))
                    if written != term and 2 * same >= len(term):  # exact hits are found above
                        out.extend(_new_hit(c, term, i, j + 1, HOMOPHONE) for c in cats)
                j += 1
                if j >= n:
                    break
                r = reading(text[j])
                node = node.get(r) if r else None
        return out

    def _mixed(self, text: str, words: list[tuple[int, int, str]]) -> list[Hit]:
        """Terms spelled partly in pinyin (see the module docstring); ``words``: the Latin
        words of ``text``."""
        units = syllable_units(text, self._syllables, words)  # (syllable or None, start, end, written char or None, run end or -1)
        if not any(u[0] is not None and u[3] is None for u in units):
            return []  # no Latin word splits into the terms' syllables: a hit needs one
        out: list[Hit] = []
        n = len(units)
        for i in range(n):
            if units[i][0] is None or (units[i][3] is None and i > 0 and units[i - 1][4] == units[i][4]):
                continue  # a breaker, or inside a Latin word (a hit uses whole words)
            node = self._trie
            j = i
            while j < n and units[j][0] is not None:
                node = node.get(units[j][0])
                if node is None:
                    break
                ends_word = units[j][3] is not None or j + 1 == n or units[j + 1][4] != units[j][4]
                if ends_word:
                    for term, cats in node.get(None, ()):
                        span = units[i : j + 1]
                        written = [u[3] for u in span]
                        if None in written and any(written) and all(w is None or w == c for w, c in zip(written, term, strict=True)):
                            out.extend(_new_hit(c, term, span[0][1], span[-1][2], MIXED) for c in cats)
                j += 1
        return out


_UNSEEN = object()


def _outside(hits: list[Hit], allowed: list[tuple[int, int]]) -> list[Hit]:
    """The hits not inside an allowed span (a function of its own: see ``Lexicon.find``)."""
    return [h for h in hits if not any(a <= h.start and h.end <= b for a, b in allowed)]


def _dedupe(hits: list[Hit]) -> list[Hit]:
    seen: set[tuple[str, int, int]] = set()
    out = []
    for h in sorted(hits, key=lambda h: (h.start, -(h.end - h.start), h.how != EXACT)):
        key = (h.category, h.start, h.end)
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out
