"""The lists that say where a listed word counts (``mild.txt``, ``needs_context.txt``,
``offer_cues.txt``) and the names of groups of people (``groups.txt``), compiled once per
lexicon; and how a listed term is normalised (the matching form of ``normalize``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from nlp_service.text.normalize import normalize


@dataclass(frozen=True)
class ContextRules:
    """Terms whose hits need context (see ``data/moderation/mild.txt``, ``needs_context.txt``
    and ``offer_cues.txt``): mild words count only when aimed at someone; names of things
    or of kinds of contact detail count only beside an identifier, a firm term of the same
    category or an offer. ``groups`` (``groups.txt``) names groups of people, for the
    attack on a group that uses no listed word (``detect.py``)."""

    mild: frozenset[str] = frozenset()
    needs_context: frozenset[str] = frozenset()
    offer_cues: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, mild: Iterable[str] = (), needs_context: Iterable[str] = (), offer_cues: Iterable[str] = (), groups: Iterable[str] = ()
    ) -> ContextRules:  # fmt: skip
        return cls(
            frozenset(t for t in map(norm_term, mild) if t),
            frozenset(t for t in map(norm_term, needs_context) if t),
            tuple(t for t in map(norm_term, offer_cues) if t),
            tuple(t for t in (g.strip() for g in groups) if t),
        )

    def __post_init__(self) -> None:
        # compiled once: detect asks every comment, and hashing the group tuple for a cache
        # lookup on each call cost more than the search itself (~2 µs a comment, measured).
        # Every name ends in one of a few characters (人 佬 女 … after a place, or a word's
        # last); a comment with none of them skips the long alternation (~1 µs) altogether.
        object.__setattr__(self, "_groups_re", _group_pattern(self.groups) if self.groups else None)
        ends = set(_PLACE_PEOPLE.split("|")) if any(g.endswith("*") for g in self.groups) else set()
        ends.update(w[-1] for w in map(norm_term, (g for g in self.groups if not g.endswith("*"))) if w)
        object.__setattr__(self, "_group_ends", frozenset(ends))

    def group_mentions(self, text: str) -> Iterator[re.Match[str]]:
        """Names of groups of people in the matching form ``text`` (as written; whether each
        is a word of the text is for the caller, who has the segmentation)."""
        pattern = self._groups_re  # type: ignore[attr-defined]
        return pattern.finditer(text) if pattern is not None else iter(())

    def names_a_group(self, text: str) -> bool:
        """Whether ``text`` contains a group's name at all (the cheap first test)."""
        pattern = self._groups_re  # type: ignore[attr-defined]
        if pattern is None or self._group_ends.isdisjoint(text):  # type: ignore[attr-defined]
            return False
        return pattern.search(text) is not None


# A place name (``河南*`` in groups.txt) names people only with one of these after it.
_PLACE_PEOPLE = "人|佬|仔|妹|女|男"


@lru_cache(maxsize=8)
def _group_pattern(groups: tuple[str, ...]) -> re.Pattern[str]:
    places = sorted((norm_term(g[:-1]) for g in groups if g.endswith("*")), key=len, reverse=True)
    words = sorted((norm_term(g) for g in groups if not g.endswith("*")), key=len, reverse=True)
    parts = [f"(?:{'|'.join(map(re.escape, places))})(?:{_PLACE_PEOPLE})"] if places else []
    parts += [re.escape(w) for w in words if w]
    return re.compile("|".join(parts))


def norm_term(term: str) -> str:
    term = term.strip()
    if not term or term.startswith("#"):
        return ""
    try:
        return normalize(term).text
    except ValueError:
        return ""
