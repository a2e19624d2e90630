"""A comment as the lexicon's pinyin views see it: each CJK character's usual reading
(``pypinyin``), the Latin words, and the syllable units of a mixed spelling (da麻: ``da`` and
麻's reading), for the homophone, pinyin and mixed walks in ``lexicon.py``."""

from __future__ import annotations

import importlib.util
import re
import threading
from array import array
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from nlp_service.core.lazytable import LazyTable

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


_FIRST, _LAST = _CJK_BLOCKS[0][0], _CJK_BLOCKS[-1][1]  # the index covers both blocks and the gap between


def _pypinyin_folder() -> Path:
    spec = importlib.util.find_spec("pypinyin")  # its data files, without importing it
    return Path(spec.origin).parent if spec is not None and spec.origin else Path(".")


def _pypinyin_files() -> list[Path]:
    """pypinyin's data files, which both cached forms of the readings are keyed on."""
    folder = _pypinyin_folder()
    return [folder / "pinyin_dict.json", folder / "phrases_dict.json"]


@lru_cache(maxsize=1)
def _reading_index() -> tuple[memoryview, tuple[str, ...]]:
    """(code point − U+3400 → the number of its reading, the readings by number; 0 is ''),
    mapped from the start-up cache (``core/tablecache.mapped``): 28,000 uint16s and 1,300
    readings, where the table as a dict took ~8 ms of every start to unmarshal. Keyed on
    pypinyin's data files, as the dict was."""
    from nlp_service.core.config import get_settings
    from nlp_service.core.tablecache import mapped

    def build() -> tuple[tuple[memoryview, tuple[str, ...]], list[bytes], tuple[str, ...]]:
        table = reading_table()
        names = ("", *sorted(set(table.values()) - {""}))
        number = {r: i for i, r in enumerate(names)}
        index = array("H", (number[table.get(chr(cp), "")] for cp in range(_FIRST, _LAST + 1)))
        return (memoryview(index), names), [index.tobytes()], names

    def load(blocks: list[memoryview], names: list[str]) -> tuple[memoryview, tuple[str, ...]]:
        index = blocks[0].cast("H")
        if len(index) != _LAST - _FIRST + 1 or max(index) >= len(names):
            raise ValueError("damaged")  # rebuilt by mapped()
        return index, tuple(names)

    return mapped(get_settings().cache_dir, "readings-index", _pypinyin_files(), "readings", load, build)


@lru_cache(maxsize=1)
def reading_table() -> dict[str, str]:
    """Every CJK character's reading, built once with ``pypinyin`` and kept in the start-up
    cache (``core/tablecache.py``): importing pypinyin and parsing its phrase dictionary
    cost every process ~0.3 s of start-up, for one lookup per character. (:func:`reading`
    reads the mapped index made from it instead.)"""
    from nlp_service.core.config import get_settings
    from nlp_service.core.tablecache import cached_table

    return cached_table(get_settings().cache_dir, "readings", _pypinyin_files(), _build_table)


@lru_cache(maxsize=65536)
def reading(ch: str) -> str:
    """The usual toneless pinyin of one CJK character, '' otherwise (memoised)."""
    if len(ch) != 1 or not _FIRST <= ord(ch) <= _LAST:
        return ""
    index, names = _reading_index()
    return names[index[ord(ch) - _FIRST]]


# A Latin word: a run of lower-case ASCII letters (the matching form has folded case).
_LATIN_WORD = re.compile("[a-z]+")
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")


def latin_words(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) of each Latin word: one regex pass, not a step per character."""
    if _LATIN_WORD.search(text) is None:  # most comments: no Latin letter
        return []
    return [(m.start(), m.end(), m.group()) for m in _LATIN_WORD.finditer(text)]


def has_latin_and_cjk(text: str) -> bool:
    return _LATIN_WORD.search(text) is not None and _CJK.search(text) is not None


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


def syllable_units(
    text: str, syllables: set[str], words: list[tuple[int, int, str]] | None = None
) -> list[tuple[str | None, int, int, str | None, int]]:  # fmt: skip
    """The comment as syllable units: a CJK character (its reading, itself), each syllable
    of a Latin word that splits into syllables (the word's span, no character), and
    breakers (None) for anything else. ``words``: ``latin_words(text)`` if the caller has it."""
    units: list[tuple[str | None, int, int, str | None, int]] = []
    pos = 0
    for start, end, word in latin_words(text) if words is None else words:
        _character_units(units, text, pos, start)
        parts = split_syllables(word, syllables) if len(word) <= 24 else None
        if parts is None:
            units.append((None, start, end, None, -1))
        else:
            units.extend((p, start, end, None, end) for p in parts)
        pos = end
    _character_units(units, text, pos, len(text))
    return units


def _character_units(units: list, text: str, start: int, end: int) -> None:
    for i in range(start, end):
        ch = text[i]
        r = reading(ch)
        units.append((r or None, i, i + 1, ch if r else None, -1))


# The homophone walk as a string search: each character becomes one private-use character
# standing for its reading (all characters without one become the same breaker, which no
# term's sounds contain), so one compiled walk over the comment's sounds finds every span
# that reads like a listed term (``lexicon.py``: ``StrTable.spans``) instead of a trie step
# per character in Python. The ids are per process; a Lexicon built in it uses the same ones.
_SOUND_BASE, _NO_SOUND = 0xE000, "\uf8ff"
_sound_ids: dict[str, str] = {}
_sound_lock = threading.Lock()


def sound_char(syllable: str) -> str:
    """The one character that stands for ``syllable`` in :func:`sounds`."""
    ch = _sound_ids.get(syllable)
    if ch is None:
        with _sound_lock:  # two threads must never give two syllables one character
            ch = _sound_ids.get(syllable)
            if ch is None:
                if len(_sound_ids) >= ord(_NO_SOUND) - _SOUND_BASE:
                    raise ValueError("more syllables than the private-use block holds")
                ch = _sound_ids[syllable] = chr(_SOUND_BASE + len(_sound_ids))
    return ch


class _SoundTable(LazyTable):
    """``str.translate`` table: code point → its reading's character (:func:`sound_char`),
    or the breaker; filled as characters are seen. Only characters with a reading and those
    below U+3000 are kept (~40,000 at most): a stream of rare code points must not grow it."""

    def __missing__(self, cp: int) -> str:
        r = reading(chr(cp))
        if r:
            value = self[cp] = sound_char(r)
            return value
        if cp < 0x3000:
            self[cp] = _NO_SOUND
        return _NO_SOUND


_sound_table = _SoundTable()


def sounds(text: str) -> str:
    """``text`` with each character replaced by its reading's character (same length)."""
    return _sound_table.translate(text)


# sounds() per code point as native uint16 (0: not seen yet), for the compiled clean check
# (``clean.py``), which reads it directly: a dict lookup there cost ~240 instructions a character
_sound_codes = bytearray(2 * 0x110000)  # 2.2 MB, its pages shared by forked workers until written
_sound_code_view = memoryview(_sound_codes).cast("H")


def sound_code(cp: int) -> int:
    """The code point :func:`sounds` puts for ``cp`` (remembered in the table)."""
    code = ord(_sound_table[cp])
    _sound_code_view[cp] = code
    return code


def sound_lookup() -> tuple[bytearray, Callable[[int], int]]:
    """(code point → its sound as native uint16 in a bytearray, the filler of a missing one)."""
    return _sound_codes, sound_code
