"""Is a rule's regex safe from catastrophic backtracking? Decided by its structure, not a stopwatch.

A save-time check that times a pattern on nasty inputs accepts or refuses the same rule
depending on the CPU (``^(a+)+b`` took 37-40 ms against a 50 ms bound on a slow machine).
Instead we parse the pattern with Python's own regex parser (``re._parser``) and refuse the
shapes that make a backtracking engine explode:

- a repeat inside a repeat whose length can vary: ``(a+)+``, ``(\\w+\\s?)+``;
- under a repeat, alternatives that can start with the same character or match nothing:
  ``(a|aa)+``, ``(好|好的)*``;
- two unbounded repeats side by side that can eat the same characters (only optional items
  between them): ``\\d+\\d+``, ``.*.*``, ``\\w+\\s*\\w+``;
- backreferences (``\\1``, ``(?(1)…)``), which no engine can match without backtracking;
- an unbounded repeat inside a lookaround: ``(?=(qm)+z)`` is tried again from every position
  of the text, so each try can run to its end (quadratic in the comment's length).

The check is conservative: it may refuse a pattern that would in fact run fast (rewrite it
more simply), never the reverse for these shapes. Matching stays time-bounded at run time
(``regex`` timeout in ``replies/matcher.py``) as the second line of defence. Patterns in
syntax that only the ``regex`` module knows (``\\p{Han}``, fuzzy matching) cannot be read
here and are refused with that reason.
"""

from __future__ import annotations

import re
import re._constants as c
import re._parser as sre_parse
from dataclasses import dataclass

_REPEATS = (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT)
_CATEGORY_CLASSES = {
    c.CATEGORY_DIGIT: r"\d", c.CATEGORY_NOT_DIGIT: r"\D", c.CATEGORY_SPACE: r"\s",
    c.CATEGORY_NOT_SPACE: r"\S", c.CATEGORY_WORD: r"\w", c.CATEGORY_NOT_WORD: r"\W",
}  # fmt: skip
# Category pairs that share no character (\d is inside \w, so \d and \W are disjoint too).
_DISJOINT = {
    frozenset(p) for p in [
        (c.CATEGORY_DIGIT, c.CATEGORY_NOT_DIGIT), (c.CATEGORY_SPACE, c.CATEGORY_NOT_SPACE),
        (c.CATEGORY_WORD, c.CATEGORY_NOT_WORD), (c.CATEGORY_DIGIT, c.CATEGORY_SPACE),
        (c.CATEGORY_WORD, c.CATEGORY_SPACE), (c.CATEGORY_DIGIT, c.CATEGORY_NOT_WORD),
    ]
}  # fmt: skip
_RANGE_SCAN_LIMIT = 0x3000  # a category is compared with a range char by char up to this size


class UnsafeRegex(ValueError):
    """The pattern has a shape that can backtrack catastrophically; ``reason`` names it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _First:
    """The characters a piece can start with: literal code points, ranges, categories, or any."""

    any: bool = False
    chars: frozenset = frozenset()  # ("lit", code) | ("range", lo, hi) | ("cat", name)
    nullable: bool = False  # the piece can match the empty string

    def union(self, other: _First) -> _First:
        return _First(self.any or other.any, self.chars | other.chars, self.nullable or other.nullable)

    def overlaps(self, other: _First) -> bool:
        if self.any and (other.any or other.chars) or other.any and self.chars:
            return True
        return any(_atoms_overlap(a, b) for a in self.chars for b in other.chars)


_ANY = _First(any=True)
_EMPTY = _First(nullable=True)


def check_structure(pattern: str) -> None:
    """Raise :class:`UnsafeRegex` when ``pattern`` has a catastrophic-backtracking shape."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        raise UnsafeRegex(f"it uses syntax the safety check cannot read ({exc}); write it in Python re syntax") from None
    _walk(list(parsed), repeated=False)


def _walk(items: list, repeated: bool) -> None:
    """Check a sequence; ``repeated`` says it sits inside a repeat that can run more than once."""
    _check_neighbours(items)
    for op, av in items:
        if op in (c.GROUPREF, c.GROUPREF_EXISTS):
            raise UnsafeRegex("it uses a backreference")
        if op in _REPEATS:
            lo, hi, body = av
            if repeated and lo != hi:
                raise UnsafeRegex("it nests a quantifier inside a quantifier, like (a+)+")
            _walk(list(body), repeated or hi > 1)
        elif op is c.BRANCH:
            branches = [list(b) for b in av[1]]
            if repeated:
                _check_alternatives(branches)
            for b in branches:
                _walk(b, repeated)
        elif op is c.SUBPATTERN:
            _walk(list(av[3]), repeated)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            if _unbounded(list(av[1])):
                raise UnsafeRegex("a lookaround holds an unbounded quantifier, like (?=(ab)+c): bound it, like {1,10}")
            _walk(list(av[1]), repeated)
        elif op is c.ATOMIC_GROUP:
            _walk(list(av), repeated)


def _unbounded(items: list) -> bool:
    """Whether a sequence holds a repeat without an upper bound, at any depth."""
    for op, av in items:
        if op in _REPEATS and (av[1] == c.MAXREPEAT or _unbounded(list(av[2]))):
            return True
        if op is c.BRANCH and any(_unbounded(list(b)) for b in av[1]):
            return True
        if op is c.SUBPATTERN and _unbounded(list(av[3])):
            return True
        if op in (c.ASSERT, c.ASSERT_NOT) and _unbounded(list(av[1])):
            return True
        if op is c.ATOMIC_GROUP and _unbounded(list(av)):
            return True
    return False


def _check_alternatives(branches: list[list]) -> None:
    firsts = [_first(b) for b in branches]
    if any(f.nullable for f in firsts):
        raise UnsafeRegex("an alternative under a quantifier can match nothing, like (a|)+ or (a|aa)+")
    for i, a in enumerate(firsts):
        for b in firsts[i + 1 :]:
            if a.overlaps(b):
                raise UnsafeRegex("alternatives under a quantifier can start with the same character, like (a|ab)+")


def _check_neighbours(items: list) -> None:
    """Two unbounded repeats with only optional pieces between them must not share characters."""
    for i, (op, av) in enumerate(items):
        if op not in _REPEATS or av[1] != c.MAXREPEAT:
            continue
        left = _first(list(av[2]))
        for op2, av2 in items[i + 1 :]:
            if op2 in _REPEATS and av2[1] == c.MAXREPEAT and left.overlaps(_first(list(av2[2]))):
                raise UnsafeRegex("two unbounded quantifiers side by side can match the same text, like \\d+\\d+ or .*.*")
            if not _first([(op2, av2)]).nullable:
                break


def _first(items: list) -> _First:
    """What a sequence can start with (and whether it can match nothing at all)."""
    out = _First()
    for op, av in items:
        piece = _first_of(op, av)
        out = out.union(_First(piece.any, piece.chars))
        if not piece.nullable:
            return out
    return _First(out.any, out.chars, nullable=True)


def _first_of(op, av) -> _First:
    if op is c.LITERAL:
        return _First(chars=frozenset({("lit", av)}))
    if op is c.IN:
        if any(o is c.NEGATE for o, _ in av):
            return _ANY
        atoms = set()
        for o, a in av:
            if o is c.LITERAL:
                atoms.add(("lit", a))
            elif o is c.RANGE:
                atoms.add(("range", *a))
            elif o is c.CATEGORY:
                atoms.add(("cat", a))
            else:
                return _ANY
        return _First(chars=frozenset(atoms))
    if op in _REPEATS:
        body = _first(list(av[2]))
        return _First(body.any, body.chars, nullable=body.nullable or av[0] == 0)
    if op is c.SUBPATTERN:
        return _first(list(av[3]))
    if op is c.ATOMIC_GROUP:
        return _first(list(av))
    if op is c.BRANCH:
        out = _First()
        for b in av[1]:
            out = out.union(_first(list(b)))
        return out
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        return _EMPTY  # zero-width
    return _ANY  # ANY, NOT_LITERAL, a backreference: assume the worst


def _atoms_overlap(a: tuple, b: tuple) -> bool:
    if a[0] == "cat" and b[0] == "cat":
        return a[1] == b[1] or frozenset((a[1], b[1])) not in _DISJOINT
    if b[0] == "cat":
        a, b = b, a
    if a[0] == "cat":
        lo, hi = (b[1], b[1]) if b[0] == "lit" else (b[1], b[2])
        if hi - lo > _RANGE_SCAN_LIMIT:
            return True
        cls = re.compile(_CATEGORY_CLASSES[a[1]])
        return any(cls.match(chr(code)) for code in range(lo, hi + 1))
    if a[0] == "lit" and b[0] == "lit":  # folded: a pattern may be case-insensitive
        return chr(a[1]).casefold() == chr(b[1]).casefold()
    a_lo, a_hi = (a[1], a[1]) if a[0] == "lit" else (a[1], a[2])
    b_lo, b_hi = (b[1], b[1]) if b[0] == "lit" else (b[1], b[2])
    return a_lo <= b_hi and b_lo <= a_hi
