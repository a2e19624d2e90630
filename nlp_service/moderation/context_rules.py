"""The lists that say where a listed word counts (``mild.txt``, ``needs_context.txt``,
``offer_cues.txt``) and the names of groups of people (``groups.txt``), compiled once per
lexicon; and how a listed term is normalised (the matching form of ``normalize``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick

from nlp_service.core.speedups import StrTable, walk_table
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
        object.__setattr__(self, "_groups_re", _group_pattern(self.groups) if self.groups else None)
        # Whether a comment names a group at all is asked of every comment: the names the
        # pattern spells (each place with each of its endings, each word) looked up from
        # each position in C (``StrTable.spans``), ~1.5K instructions, where the pattern's
        # alternation and its gate cost ~10K a comment (callgrind, issue 15); without the
        # build, an Aho-Corasick automaton (~5K). Tested equal to the pattern's search.
        object.__setattr__(self, "_group_names", _group_finder(self.groups) if self.groups else None)
        object.__setattr__(self, "group_table", _group_table(self.groups) if self.groups else None)  # the finder's C table

    def group_mentions(self, text: str) -> Iterator[re.Match[str]]:
        """Names of groups of people in the matching form ``text`` (as written; whether each
        is a word of the text is for the caller, who has the segmentation)."""
        pattern = self._groups_re  # type: ignore[attr-defined]
        return pattern.finditer(text) if pattern is not None else iter(())

    def names_a_group(self, text: str) -> bool:
        """Whether ``text`` contains a group's name at all (the cheap first test): whether
        the pattern of :meth:`group_mentions` finds anything."""
        find = self._group_names  # type: ignore[attr-defined]
        return find is not None and find(text)


# A place name (``河南*`` in groups.txt) names people only with one of these after it.
_PLACE_PEOPLE = "人|佬|仔|妹|女|男"


def _group_literals(groups: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(places, words) as the pattern spells them, longest first."""
    places = sorted((norm_term(g[:-1]) for g in groups if g.endswith("*")), key=len, reverse=True)
    words = sorted((norm_term(g) for g in groups if not g.endswith("*")), key=len, reverse=True)
    return places, [w for w in words if w]


def _group_names(groups: tuple[str, ...]) -> set[str]:
    """Every string :func:`_group_pattern` matches (it is an alternation of literals)."""
    places, words = _group_literals(groups)
    return {p + end for p in places for end in _PLACE_PEOPLE.split("|")} | set(words)


@lru_cache(maxsize=8)
def _group_table(groups: tuple[str, ...]) -> StrTable | None:
    """The names of :func:`_group_names` as a C table: each with a value, each proper prefix
    as None (walk on); None without the build or without a name."""
    return walk_table(dict.fromkeys(_group_names(groups), 1.0))


@lru_cache(maxsize=8)
def _group_finder(groups: tuple[str, ...]) -> Callable[[str], bool] | None:
    """Whether a text holds any string :func:`_group_pattern` matches; None when it matches none."""
    names = _group_names(groups)
    if not names:
        return None
    table = _group_table(groups)
    if table is not None:
        spans = table.spans
        return lambda text: bool(spans(text))
    return _automaton_finder(names)


def _automaton_finder(names: set[str]) -> Callable[[str], bool]:
    """The finder without the C build: one Aho-Corasick automaton of ``names``."""
    automaton = ahocorasick.Automaton()
    for name in names:
        automaton.add_word(name, len(name))
    automaton.make_automaton()
    return lambda text: next(automaton.iter(text), None) is not None


@lru_cache(maxsize=8)
def _group_pattern(groups: tuple[str, ...]) -> re.Pattern[str]:
    places, words = _group_literals(groups)
    parts = [f"(?:{'|'.join(map(re.escape, places))})(?:{_PLACE_PEOPLE})"] if places else []
    parts += [re.escape(w) for w in words]
    return re.compile("|".join(parts))


def norm_term(term: str) -> str:
    term = term.strip()
    if not term or term.startswith("#"):
        return ""
    try:
        return normalize(term).text
    except ValueError:
        return ""
