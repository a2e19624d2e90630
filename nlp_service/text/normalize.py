"""Normalise a comment into its matching form, keeping a map back to the original.

Stage 1 of the pipeline. Pure functions, no I/O.

The matching form is what rules, word lists and models see:

* full-width → half-width and other compatibility forms (NFKC: ｗｘ → wx, ① → 1),
* traditional → simplified Chinese (OpenCC ``t2s``;騙子假貨 → 骗子假货),
* case folded (VX → vx),
* zero-width, control, variation-selector and skin-tone characters removed,
* separators or emoji placed between characters to dodge filters collapsed
  (微.信, 微 信, 微-信, 加❤微 → 微信 / 加微),
* long runs compressed to three (哈哈哈哈哈哈 → 哈哈哈, 66666 → 666),
* emoji kept as signals: in the text where they stand alone, and always in ``emojis``.

Every character of the matching form remembers which original character produced it
(``offsets``), so a span found in the matching form maps back to the original text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import opencc

from nlp_service.core.errors import (
    EmptyTextError,
    InvalidEncodingError,
    NotTextError,
    TextTooLongError,
)
from nlp_service.core.lazytable import LazyTable
from nlp_service.core.slots import builder
from nlp_service.core.speedups import normalize_plans

# Character kinds in the matching form.
CJK, WORD, SEP, EMOJI = 0, 1, 2, 3

# Question and exclamation marks carry intent and mood (几号链接？ / 太慢了!!!); they are
# never treated as filler between characters.
_MEANINGFUL_PUNCT = frozenset("?!")

MAX_RUN = 3  # 哈哈哈哈哈 → 哈哈哈: three keeps the meaning (laughter, 666) and caps the noise.

# OpenCC is the maintained converter (its tables are the ones Wikipedia uses); the
# pure-Python ports lag behind. We convert one character at a time through a memo so
# that positions map one-to-one and the hot path is a dict lookup, not a C call.
_t2s = opencc.OpenCC("t2s")

_DROP_RANGES = (
    (0xFE00, 0xFE0F),  # variation selectors (❤️ = ❤ + FE0F)
    (0x1F3FB, 0x1F3FF),  # emoji skin tones
    (0xE0000, 0xE007F),  # tag characters
)


@dataclass(frozen=True, slots=True)
class Normalized:
    """A comment in both forms: the original and the matching form, with the map between."""

    original: str
    text: str
    offsets: tuple[int, ...]
    emojis: tuple[str, ...]

    def to_original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map the half-open span ``[start, end)`` of ``text`` to a span of ``original``."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) is outside the matching form (length {len(self.text)})")
        return self.offsets[start], self.offsets[end - 1] + 1

    def original_slice(self, start: int, end: int) -> str:
        """The original text behind the matching-form span ``[start, end)``."""
        s, e = self.to_original_span(start, end)
        return self.original[s:e]


_new_normalized = builder(Normalized)  # Normalized(...) without the frozen __init__'s cost (core/slots.py)


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2FA1F
        or 0xF900 <= cp <= 0xFAFF
        or 0x3007 == cp
    )


def _is_emoji(ch: str, category: str) -> bool:
    cp = ord(ch)
    return category == "So" or 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF


def _char_plan(ch: str) -> tuple[tuple[str, int], ...]:
    """What one original character becomes: a tuple of (char, kind); empty means dropped.

    Memoised in ``_plans`` by :func:`_plan`: a live room uses a few thousand distinct
    characters, so after warm-up normalisation is a dict lookup per character.
    """
    cp = ord(ch)
    category = unicodedata.category(ch)
    if category == "Cs":
        raise InvalidEncodingError(
            f"unpaired surrogate U+{cp:04X}: the text is not valid Unicode; send UTF-8"
        )
    if ch.isspace():
        return ((" ", SEP),)
    if category in ("Cc", "Cf", "Co", "Cn") or category == "Mn" and not _is_cjk(cp):
        return ()
    if any(lo <= cp <= hi for lo, hi in _DROP_RANGES):
        return ()
    if _is_emoji(ch, category):
        return ((ch, EMOJI),)
    folded = _t2s.convert(unicodedata.normalize("NFKC", ch)).lower()
    plan = []
    for out in folded:
        ocp = ord(out)
        ocat = unicodedata.category(out)
        if out.isspace():
            plan.append((" ", SEP))
        elif _is_cjk(ocp):
            plan.append((out, CJK))
        elif out.isalnum():
            plan.append((out, WORD))
        elif ocat[0] in "CM":
            continue
        else:  # punctuation and symbols
            plan.append((out, SEP))
    return tuple(plan)


def check_text(text: object, max_length: int) -> str:
    """Return ``text`` as ``str`` or raise a named error that says what is wrong.

    Bytes are accepted when they are valid UTF-8.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEncodingError(
                f"comment bytes are not valid UTF-8 (bad byte at offset {exc.start}); send UTF-8"
            ) from None
    if not isinstance(text, str):
        raise NotTextError(f"comment must be a string, got {type(text).__name__}")
    if len(text) > max_length:
        raise TextTooLongError(
            f"comment is {len(text)} characters long; the limit is {max_length} "
            "(NLP_SERVICE_MAX_TEXT_LENGTH)"
        )
    return text


# char → plan; a plain dict is cheaper to consult than an lru_cache wrapper.
_plans: dict[str, tuple[tuple[str, int], ...]] = {}


def _plan(ch: str) -> tuple[tuple[str, int], ...]:
    plan = _plans.get(ch)
    if plan is None:
        plan = _plans[ch] = _char_plan(ch)
    return plan


class _SimpleTable(LazyTable):
    """``str.translate`` table: code point → its one-character matching form, or a marker
    for characters that need the full treatment (dropped, separators, emoji, expansions).
    Filled lazily from :func:`_plan`."""

    def __missing__(self, cp: int) -> str:
        plan = _plan(chr(cp))
        value = plan[0][0] if len(plan) == 1 and plan[0][1] in (CJK, WORD) else _NOT_SIMPLE
        self[cp] = value
        return value


_NOT_SIMPLE = "\x00"
_simple_table = _SimpleTable()
_long_run = re.compile(r"(.)\1{" + str(MAX_RUN) + "}")
_words = re.compile(r"[^ ]+")


def normalize(text: str) -> Normalized:
    """Normalise one comment (see the module docstring). Raises ``EmptyTextError`` when
    nothing visible is left, ``InvalidEncodingError`` on unpaired surrogates."""
    # Fast path for the common comment (letters, digits and CJK only, no long runs):
    # one C-level translate, positions unchanged.
    if text.isalnum():
        mapped = _simple_table.translate(text)
        if _NOT_SIMPLE not in mapped and not _long_run.search(mapped):
            return _new_normalized(text, mapped, tuple(range(len(text))), ())
    elif normalize_plans is not None:  # the full path's two passes in C (tested equal)
        return _normalize_c(text)
    elif " " in text and (spaced := _normalize_spaced(text)) is not None:
        return spaced
    return _normalize_full(text)


_EMPTY = "comment is empty (nothing visible after removing whitespace and control characters)"


def _normalize_c(text: str) -> Normalized:
    """:func:`_normalize_full` in one C call (``core/_speedups.c``), with the same memoised
    plans; tested equal on random Unicode (tests/text/test_normalize.py)."""
    done = normalize_plans(text, _plans, _plan)
    if done is None:
        raise EmptyTextError(_EMPTY)
    return _new_normalized(text, *done)


def _normalize_spaced(text: str) -> Normalized | None:
    """The full path's result for words of simple characters between ASCII spaces (好 看 呀,
    a review with a space, an archive row with " 12345" appended), or None for anything else.
    The full path's rule for such a text: a gap of at most three spaces next to a CJK
    character is dropped (an evasion: 微 信), any other inner gap becomes one space, leading
    and trailing spaces go; positions map one-to-one within a word. Tested equal to
    :func:`_normalize_full` on random text (tests/text/test_normalize.py)."""
    stripped = text.replace(" ", "")
    if not stripped.isalnum():  # also the empty text: the full path raises its error
        return None
    out: list[str] = []
    offsets: list[int] = []
    prev_end, prev_cjk = -1, False
    for m in _words.finditer(text):
        start, end = m.span()
        mapped = _simple_table.translate(m.group())
        if _NOT_SIMPLE in mapped:
            return None
        if prev_end >= 0 and not ((prev_cjk or _is_cjk(ord(mapped[0]))) and start - prev_end <= 3):
            out.append(" ")
            offsets.append(prev_end)
        out.append(mapped)
        offsets.extend(range(start, end))
        prev_end, prev_cjk = end, _is_cjk(ord(mapped[-1]))
    joined = "".join(out)
    if _long_run.search(joined):  # a run to compress (哈哈 哈哈): the full path does it
        return None
    return _new_normalized(text, joined, tuple(offsets), ())


def _normalize_full(text: str) -> Normalized:
    # Pass 1: per-character plan (memoised), keeping the original index of each output char.
    chars: list[str] = []
    kinds: list[int] = []
    origin: list[int] = []
    emojis: list[str] = []
    plans = _plans
    for i, ch in enumerate(text):
        plan = plans.get(ch)
        if plan is None:
            plan = plans[ch] = _char_plan(ch)
        for out, kind in plan:
            if kind == EMOJI:
                emojis.append(out)
            chars.append(out)
            kinds.append(kind)
            origin.append(i)
    if not emojis and all(k == SEP and c == " " for c, k in zip(chars, kinds, strict=True)):
        raise EmptyTextError(_EMPTY)

    # Pass 2: collapse separator runs, compress long repeats.
    out_chars: list[str] = []
    out_origin: list[int] = []
    n = len(chars)
    i = 0
    prev_kind = SEP  # acts like the start of text
    while i < n:
        kind = kinds[i]
        if kind == SEP or kind == EMOJI:
            j = i
            while j < n and (kinds[j] == SEP or kinds[j] == EMOJI):
                j += 1
            run_has_emoji = any(kinds[k] == EMOJI for k in range(i, j))
            next_kind = kinds[j] if j < n else SEP
            between_words = prev_kind in (CJK, WORD) and next_kind in (CJK, WORD)
            filler = all(chars[k] not in _MEANINGFUL_PUNCT for k in range(i, j))
            if between_words and filler and (prev_kind == CJK or next_kind == CJK) and j - i <= 3:
                # 微.信 / 微 信 / 加❤微 / 加 vx: a short filler run between characters is
                # an evasion (or harmless) for matching; drop it.
                i = j
                continue
            if not run_has_emoji and all(chars[k] == " " for k in range(i, j)):
                if out_chars and j < n:  # inner whitespace run → one space
                    out_chars.append(" ")
                    out_origin.append(origin[i])
                i = j
                prev_kind = SEP
                continue
            for k in range(i, j):
                if chars[k] == " ":
                    continue
                _append_compressed(out_chars, out_origin, chars[k], origin[k])
            prev_kind = SEP
            i = j
            continue
        _append_compressed(out_chars, out_origin, chars[i], origin[i])
        prev_kind = kind
        i += 1
    return _new_normalized(text, "".join(out_chars), tuple(out_origin), tuple(emojis))


def _append_compressed(out_chars: list[str], out_origin: list[int], ch: str, orig: int) -> None:
    if len(out_chars) >= MAX_RUN and out_chars[-1] == ch and out_chars[-2] == ch and out_chars[-3] == ch:
        return
    out_chars.append(ch)
    out_origin.append(orig)
