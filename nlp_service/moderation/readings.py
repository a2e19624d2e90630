"""A comment as the lexicon's pinyin views see it: each CJK character's usual reading
(``pypinyin``), the Latin words, and the syllable units of a mixed spelling (da麻: ``da`` and
麻's reading), for the homophone, pinyin and mixed walks in ``lexicon.py``."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

# The CJK blocks ``is_cjk`` accepts: every character there has a reading in the table.
_CJK_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF))


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def _pypinyin_reading(ch: str) -> str:
    """``pypinyin``'s usual toneless reading of one CJK character (the table's source)."""
    from pypinyin import Style, pinyin

    return pinyin(ch, style=Style.NORMAL)[0][0]


def _build_table() -> dict[str, str]:
    return {ch: _pypinyin_reading(ch) for lo, hi in _CJK_BLOCKS for ch in map(chr, range(lo, hi + 1))}


@lru_cache(maxsize=1)
def reading_table() -> dict[str, str]:
    """Every CJK character's reading, built once with ``pypinyin`` and kept in the start-up
    cache (``core/tablecache.py``): importing pypinyin and parsing its phrase dictionary
    cost every process ~0.3 s of start-up, for one lookup per character."""
    from nlp_service.core.config import get_settings
    from nlp_service.core.tablecache import cached_table

    spec = importlib.util.find_spec("pypinyin")  # its data files, without importing it
    folder = Path(spec.origin).parent if spec is not None and spec.origin else Path(".")
    return cached_table(get_settings().cache_dir, "readings", [folder / "pinyin_dict.json", folder / "phrases_dict.json"], _build_table)


@lru_cache(maxsize=65536)
def reading(ch: str) -> str:
    """The usual toneless pinyin of one CJK character, '' otherwise (memoised)."""
    return reading_table().get(ch, "")


def latin_words(text: str) -> Iterable[tuple[int, int, str]]:
    """(start, end, word) of each Latin word."""
    return ((start, end, word) for start, end, word in latin_word_spans(text) if word is not None)


def has_latin_and_cjk(text: str) -> bool:
    return any("a" <= ch <= "z" for ch in text) and any(is_cjk(ch) for ch in text)


def split_syllables(word: str, syllables: set[str]) -> list[str] | None:
    """``word`` as a sequence of known syllables (longest first, with backtracking), or None."""
    if not word:
        return []
    for k in range(min(6, len(word)), 0, -1):
        head = word[:k]
        if head in syllables:
            rest = split_syllables(word[k:], syllables)
            if rest is not None:
                return [head, *rest]
    return None


def syllable_units(text: str, syllables: set[str]) -> list[tuple[str | None, int, int, str | None, int]]:
    """The comment as syllable units: a CJK character (its reading, itself), each syllable
    of a Latin word that splits into syllables (the word's span, no character), and
    breakers (None) for anything else."""
    units: list[tuple[str | None, int, int, str | None, int]] = []
    for start, end, word in latin_word_spans(text):
        if word is None:
            ch = text[start]
            r = reading(ch)
            units.append((r or None, start, end, ch if r else None, -1))
            continue
        parts = split_syllables(word, syllables) if len(word) <= 24 else None
        if parts is None:
            units.append((None, start, end, None, -1))
        else:
            units.extend((p, start, end, None, end) for p in parts)
    return units


def latin_word_spans(text: str) -> Iterator[tuple[int, int, str | None]]:
    """(start, end, Latin word) for each Latin word, (i, i + 1, None) for any other character."""
    i, n = 0, len(text)
    while i < n:
        if "a" <= text[i] <= "z":
            j = i
            while j < n and "a" <= text[j] <= "z":
                j += 1
            yield i, j, text[i:j]
            i = j
        else:
            yield i, i + 1, None
            i += 1
