"""Decide: which of the matched rules a comment gets, and why the others were passed over.

Pure: the matcher's candidates (best first), the comment's sentiment and time and the room's
variables in, a :class:`Selection` out. The reasons are data (:class:`Skip`); the text a
person reads is rendered from them once (:meth:`Skip.detail`), and the dry run reads the
same data, so nothing is parsed back from a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nlp_service.live.reasons import MISSING_VARIABLE, NO_MATCH, REGEX_BUDGET, SCHEDULE
from nlp_service.replies.matcher import Candidate, MatchResult
from nlp_service.replies.rules import Rule

SkipWhy = Literal["sentiment", "schedule", "missing_variable"]  # "schedule" and "missing_variable" are also reasons


@dataclass(frozen=True, slots=True)
class Skip:
    """A candidate rule passed over, and why (``why`` is also its dry-run outcome)."""

    rule_id: str
    why: SkipWhy
    sentiment: str = ""  # why == "sentiment": the comment's
    allowed: tuple[str, ...] = ()  # why == "sentiment": the rule's when_sentiment
    missing: tuple[str, ...] = ()  # why == "missing_variable": the unset names, sorted

    def detail(self) -> str:
        """The sentence the dry run shows (its wording is part of the API)."""
        if self.why == "sentiment":
            return f"{self.rule_id}: sentiment {self.sentiment} is not one of {', '.join(self.allowed)}"
        if self.why == SCHEDULE:
            return f"{self.rule_id}: outside its schedule"
        return f"{self.rule_id}: variable(s) not set: {', '.join(self.missing)}"


@dataclass(slots=True)  # not frozen: built per comment (see live/types.Matched); nothing mutates it
class Selection:
    """The rule to try for a comment (``chosen``), or none and the reason."""

    match: MatchResult
    chosen: Candidate | None
    variants: tuple[int, ...]  # the chosen rule's usable variants
    skipped: tuple[Skip, ...]  # candidates passed over before the chosen one, in order

    @property
    def reason(self) -> str:
        """Why nothing fires ("" when a rule was chosen): the last schedule or missing-variable
        skip, else ``regex_budget`` when a regex was not run (the room's regex time for the
        batch was spent), else ``no_match`` (a sentiment mismatch is not a reason a client hears)."""
        if self.chosen is not None:
            return ""
        fallback = REGEX_BUDGET if self.match.regex_skipped else NO_MATCH
        return next((s.why for s in reversed(self.skipped) if s.why != "sentiment"), fallback)

    def skip_of(self, rule_id: str) -> Skip | None:
        return next((s for s in self.skipped if s.rule_id == rule_id), None)


def usable_variants(rule: Rule, variables: dict[str, str]) -> tuple[list[int], set[str]]:
    """Variants whose variables are all set, and the names missing from the others."""
    usable, missing = [], set()
    for i in range(len(rule.replies)):
        lacking = rule.variables(i) - variables.keys()
        if lacking:
            missing |= lacking
        else:
            usable.append(i)
    return usable, missing


Usable = dict[str, tuple[tuple[int, ...], tuple[str, ...]]]  # rule id → (usable variants, missing names, sorted)


def usable_of(rule: Rule, variables: dict[str, str], known: Usable | None) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """:func:`usable_variants` as :func:`select` reads it, kept in ``known`` (one dict per
    ``variables``: a room snapshot's, whose rules have distinct ids) when given: a rule's
    templates were parsed and set against the variables for every comment it matched."""
    hit = known.get(rule.id) if known is not None else None
    if hit is None:
        variants, missing = usable_variants(rule, variables)
        hit = (tuple(variants), tuple(sorted(missing)))
        if known is not None:
            known[rule.id] = hit
    return hit


def select(result: MatchResult, sentiment: str, variables: dict[str, str], ts_ms: int, usable: Usable | None = None) -> Selection:
    """The first candidate (by priority) whose sentiment, schedule and variables allow it
    (``usable``: what :func:`usable_of` keeps for these ``variables``)."""
    skipped: list[Skip] = []
    for cand in result.candidates:
        rule = cand.rule
        if rule.when_sentiment and sentiment not in rule.when_sentiment:
            skipped.append(Skip(rule.id, "sentiment", sentiment=sentiment, allowed=tuple(rule.when_sentiment)))
            continue
        if rule.schedule is not None and not rule.schedule.active(ts_ms):
            skipped.append(Skip(rule.id, SCHEDULE))
            continue
        variants, missing = usable_of(rule, variables, usable)
        if not variants:
            skipped.append(Skip(rule.id, MISSING_VARIABLE, missing=missing))
            continue
        return Selection(result, cand, variants, tuple(skipped))
    return Selection(result, None, (), tuple(skipped))
