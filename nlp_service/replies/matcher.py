"""Match one analysed comment against a room's rules.

Every keyword of every rule (any-of, all-of, veto) goes into one Aho-Corasick automaton
(``pyahocorasick``, a maintained C implementation), so matching costs one pass over the
comment whatever the number of rules. Exact texts are a dict lookup; regexes run with the
``regex`` module's timeout, so a bad pattern costs at most that bound per match, and within a
room's :class:`RegexBudget` for the batch: once a room has spent it, its remaining regex
matches in that batch are skipped (reason ``regex_budget``), so a room whose rules time out
on every comment of a 1,000-comment batch costs the batch its budget, not 5 s, and the
other rooms (each with its own budget) are matched as usual.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import ahocorasick
import regex

from nlp_service.core.memo import BoundedMemo
from nlp_service.replies.rules import Rule

ANY, ALL, NONE = 0, 1, 2
UNLISTED_INTENT = 2.0  # the threshold of an intent a rule does not list: above any confidence


@dataclass
class Candidate:
    """A rule whose conditions hold for the comment, and the evidence."""

    rule: Rule
    spans: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, term) in the matching form
    intent: str | None = None
    confidence: float | None = None


@dataclass
class Rejected:
    rule: Rule
    reason: str
    detail: str = ""


@dataclass
class MatchResult:
    candidates: list[Candidate]  # by priority, best first
    rejected: list[Rejected]
    regex_timeouts: int = 0
    regex_skipped: int = 0  # not run: the room's regex budget for the batch was spent


REGEX_BUDGET = "regex_budget"  # the reason a regex was not run
_NO_HITS: dict = {}  # a rule's keyword hits when it has none (only read)


class RegexBudget:
    """The seconds of regex matching one room may still spend in one batch (the engine keeps
    one per room and batch, ``live/screen.py`` ``Plan``). ``clock`` measures what each match
    cost (tests pass a fake one)."""

    __slots__ = ("left", "clock")

    def __init__(self, seconds: float, clock: Callable[[], float] = time.perf_counter) -> None:
        self.left = seconds
        self.clock = clock

    def search(self, pattern: regex.Pattern, text: str, timeout: float):
        """``pattern.search`` bounded by ``timeout`` and by what is left; raises
        :class:`BudgetSpent` when nothing is, ``TimeoutError`` past the bound."""
        if self.left <= 0:
            raise BudgetSpent
        began = self.clock()
        try:
            return pattern.search(text, timeout=min(timeout, self.left))
        finally:
            self.left -= self.clock() - began


class BudgetSpent(Exception):
    """The room's regex budget for this batch is spent: the regex was not run."""


# A room repeats itself, and without regexes a match depends on the text, its intent and
# confidence alone (all fixed per text): each result is kept, for any room, by its rules'
# token, so a repeated comment costs a lookup instead of the automaton walk and the
# candidates (~6 µs). Bounded for the whole process (results are a few hundred bytes); the
# results are shared, and nothing changes a MatchResult or a Candidate once built.
_MATCHES: BoundedMemo[tuple, MatchResult] = BoundedMemo(20_000, 8 << 20, lambda key: 500 + 4 * len(key[1]))
_tokens = itertools.count()


class CompiledRules:
    """A room's effective rules (room rules override global rules with the same id), compiled."""

    def __init__(self, rules: list[Rule], regex_timeout: float = 0.005) -> None:
        self.rules = sorted((r for r in rules if r.enabled), key=lambda r: (r.priority, r.id))
        self.disabled = [r for r in rules if not r.enabled]
        self.regex_timeout = regex_timeout
        self._automaton = ahocorasick.Automaton()
        terms: dict[str, list[tuple[int, int]]] = {}
        for i, rule in enumerate(self.rules):
            for kind, words in ((ANY, rule.match.any), (ALL, rule.match.all), (NONE, rule.match.none)):
                for w in words:
                    terms.setdefault(w, []).append((i, kind))
        for term, targets in terms.items():
            self._automaton.add_word(term, (term, targets))
        self._has_terms = bool(terms)
        if self._has_terms:
            self._automaton.make_automaton()
        self._exact: dict[str, list[int]] = {}
        for i, rule in enumerate(self.rules):
            for text in rule.match.exact:
                self._exact.setdefault(text, []).append(i)
        self._regexes = {i: regex.compile(r.match.regex) for i, r in enumerate(self.rules) if r.match.regex}
        # regexes run within the batch's budget and time out: their results are not kept
        self._token = None if self._regexes else next(_tokens)
        # Rules a comment without a keyword hit can still satisfy: those without any/all
        # keywords, and those its intent may fire. The rest are skipped (scanning every rule
        # per comment was the engine's largest Python cost after the Redis round trip).
        self._unkeyed = [i for i, r in enumerate(self.rules) if not (r.match.any or r.match.all)]
        self._by_intent: dict[str, list[int]] = {}
        for i, rule in enumerate(self.rules):
            for label in rule.match.intents:
                self._by_intent.setdefault(label, []).append(i)
        # what _to_check gives a comment without keyword hits (about half of them), per intent
        # the rules list, sorted once here instead of a set built and sorted per comment
        self._without_hits: dict[str | None, list[int]] = {None: sorted(set(self._unkeyed))}
        for label, rules in self._by_intent.items():
            self._without_hits[label] = sorted(set(self._unkeyed).union(rules))

    def match(self, text: str, intent: str | None = None, confidence: float = 0.0, budget: RegexBudget | None = None) -> MatchResult:
        """Rules whose conditions hold for the matching form ``text`` and the comment's intent;
        regexes within ``budget`` (the room's for the batch; None: only the per-match bound).
        Without regexes, the result is remembered (see ``_MATCHES``)."""
        if self._token is None:
            return self._match(text, intent, confidence, budget)
        key = (self._token, text, intent, confidence)
        result = _MATCHES.get(key)
        if result is None:
            result = _MATCHES.put(key, self._match(text, intent, confidence, budget))
        return result

    def _match(self, text: str, intent: str | None, confidence: float, budget: RegexBudget | None) -> MatchResult:
        hits: dict[int, dict[int, list[tuple[int, int, str]]]] = {}
        if self._has_terms:
            for end, (term, targets) in self._automaton.iter(text):
                span = (end - len(term) + 1, end + 1, term)
                for i, kind in targets:
                    hits.setdefault(i, {}).setdefault(kind, []).append(span)
        exact = self._exact.get(text, ())  # the few rules whose exact text this is (read with `in`)
        candidates: list[Candidate] = []
        rejected: list[Rejected] = []
        timeouts = skipped = 0
        for i in self._to_check(hits, intent, confidence):
            rule = self.rules[i]
            m = rule.match
            found = hits.get(i, _NO_HITS)
            if found or not (m.any or m.all):
                spans, stopped = self._keyword_path(i, m, found, text, exact, intent, confidence, budget)
            else:  # needs a keyword hit and has none (the common case): skip the call
                spans, stopped = None, None
            if stopped == "regex_timeout":
                timeouts += 1
                rejected.append(Rejected(rule, stopped, f"no answer within {self.regex_timeout * 1000:.0f} ms"))
            elif stopped == REGEX_BUDGET:
                skipped += 1
                rejected.append(Rejected(rule, stopped, "the room's regex time for this batch is spent"))
            by_intent = intent is not None and confidence >= m.intents.get(intent, UNLISTED_INTENT)
            if spans is None and not by_intent:
                continue
            if NONE in found:
                rejected.append(Rejected(rule, "veto", "negative word " + ", ".join(t for _, _, t in found[NONE])))
                continue
            named = m.intent if spans is not None else intent
            candidates.append(Candidate(rule, sorted(spans or []), named and intent, named and confidence))
        return MatchResult(candidates, rejected, timeouts, skipped)

    def _to_check(self, hits: dict[int, dict], intent: str | None, confidence: float) -> list[int] | range:
        """Indices of the rules that may hold for a comment with these keyword ``hits`` and
        ``intent``, in priority order; every other rule would be skipped by :meth:`match`."""
        if intent is not None and confidence >= UNLISTED_INTENT:  # not a probability: every rule's intent fires
            return range(len(self.rules))
        base = self._without_hits.get(intent)
        if base is None:  # an intent no rule lists: the unkeyed rules alone
            base = self._without_hits[None]
        return sorted(set(hits).union(base)) if hits else base

    def _keyword_path(
        self, i: int, m, found: dict, text: str, exact: Collection[int], intent: str | None, confidence: float, budget: RegexBudget | None
    ) -> tuple[list | None, str | None]:
        """(spans, why the regex was stopped or None): spans when the keyword conditions
        (ANDed, with the optional ``intent``) all hold, None when they fail or the rule has none."""
        if not (m.any or m.all or m.exact or m.regex or m.intent):
            return None, None  # an intents-only rule
        spans: list[tuple[int, int, str]] = []
        if m.any:
            if ANY not in found:
                return None, None
            spans += found[ANY]
        if m.all:
            seen = {term for _, _, term in found.get(ALL, ())}
            if len(seen) < len(m.all):
                return None, None
            spans += found[ALL]
        if m.exact:
            if i not in exact:
                return None, None
            spans.append((0, len(text), text))
        if m.regex:
            try:
                if budget is None:
                    mo = self._regexes[i].search(text, timeout=self.regex_timeout)
                else:
                    mo = budget.search(self._regexes[i], text, self.regex_timeout)
            except TimeoutError:
                return None, "regex_timeout"
            except BudgetSpent:
                return None, REGEX_BUDGET
            if mo is None:
                return None, None
            spans.append((mo.start(), mo.end(), mo.group(0)))
        if m.intent and (intent != m.intent or confidence < m.min_confidence):
            return None, None
        return spans, None


def effective_rules(global_rules: list[Rule], room_rules: list[Rule]) -> list[Rule]:
    """Room rules override global rules with the same id."""
    merged = {r.id: r for r in global_rules}
    merged.update({r.id: r for r in room_rules})
    return list(merged.values())
