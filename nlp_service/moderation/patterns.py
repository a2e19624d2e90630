"""Pattern detectors for contact details and personal data (ad_contact, personal_info).

They run on a *digit view* of the ORIGINAL text (not the matching form, whose repeat
compression would turn 13888888888 into 1388): full-width and circled digits folded by
NFKC (①③⑧ → 138), Chinese and financial numerals turned into digits (一三八 / 壹叁捌 →
138), case folded, zero-width characters dropped, and separators between digits removed
(138 1234 5678, 1-3-8…). Spans are in the original text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from nlp_service.core.lazytable import LazyTable
from nlp_service.moderation.lexicon import Hit

_NUMERALS = {
    "零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5",
    "六": "6", "七": "7", "八": "8", "九": "9", "壹": "1", "贰": "2", "叁": "3", "肆": "4", "伍": "5",
    "陆": "6", "柒": "7", "捌": "8", "玖": "9",
}  # fmt: skip
_DIGIT_GAP = set(" -_.,/|~*+·")


@dataclass(frozen=True)
class DigitView:
    text: str
    origin: tuple[int, ...]  # index in the matching form of each character

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.origin[start], self.origin[end - 1] + 1


def _fold(ch: str) -> str:
    if ch in _NUMERALS:
        return _NUMERALS[ch]
    if ch.isascii():
        return ch.lower()
    folded = unicodedata.normalize("NFKC", ch).lower()
    return folded if len(folded) == 1 else ch


class _FoldTable(LazyTable):
    """``str.translate`` table: code point → :func:`_fold` of it (always one character, so
    positions stay aligned), filled as characters are seen: one C call folds a comment."""

    def __missing__(self, cp: int) -> str:
        value = self[cp] = _fold(chr(cp))
        return value


_fold_table = _FoldTable()
_GAP_RUNS = re.compile("[" + re.escape("".join(sorted(_DIGIT_GAP))) + "]+")


def _between_digits(text: str, start: int, end: int) -> bool:
    """Whether the gap run ``text[start:end]`` has a digit on both sides: the only gaps the
    loop below drops when nothing invisible precedes them."""
    return start > 0 and end < len(text) and text[start - 1].isdigit() and text[end].isdigit()


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cf", "Cc") and not ch.isspace()


def digit_view(original: str, folded: str | None = None) -> DigitView:
    """Numerals → digits, gaps between digits and invisible characters removed. ``folded``:
    ``_fold_table.translate(original)`` if the caller has it."""
    text = _fold_table.translate(original) if folded is None else folded
    printable = text.isprintable()  # no Cf/Cc character at all: nothing invisible to drop
    if printable and not any(_between_digits(text, m.start(), m.end()) for m in _GAP_RUNS.finditer(text)):
        # the usual comment (an archive row with " 12345" appended too): nothing to remove
        return DigitView(text, tuple(range(len(text))))
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if not printable and _invisible(ch):
            continue
        d = ch
        if ch in _DIGIT_GAP and chars and chars[-1].isdigit():
            # drop a gap that sits between two digits
            j = i + 1
            while j < len(text) and text[j] in _DIGIT_GAP:
                j += 1
            if j < len(text) and text[j].isdigit():
                continue
        chars.append(d)
        origin.append(i)
    return DigitView("".join(chars), tuple(origin))


_MOBILE = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")
_QQ = re.compile(r"(?:qq|扣扣|企鹅|q号|q群|qq群|裙|群号|群)[^0-9]{0,4}?([1-9]\d{4,10})(?!\d)")
# "v❤ 883216", "威❤ xm0909", "Q 3 8 8 2 9 1 0 0 6": a contact prefix, a little noise, an id.
_PREFIXED_ID = re.compile(r"(?:(?<![a-z])(?:v|vx|wx|q|qq)|微|薇|威|扣)[^a-z0-9\u4e00-\u9fff]{0,3}(?:[a-z][-_a-z0-9]{5,19}|\d{6,11})(?![-_a-z0-9])")
_WECHAT = re.compile(r"(?:微信|vx|wx|v信|薇信|威信|weixin|加v|加微)[号:：是]?\s?([a-z][-_a-z0-9]{5,19})(?![-_a-z0-9])")
_URL = re.compile(
    r"(?:https?://|www\.)[^\s]+|(?<![a-z0-9])[a-z0-9-]+\.(?:com|cn|net|cc|top|xyz|vip|shop|me|io|co)(?:/[^\s]*)?(?![a-z])"
)
_ID_CARD = re.compile(r"(?<!\d)(\d{17}[\dx])(?!\d)")
_ADDRESS = re.compile(
    r"(?:[\u4e00-\u9fff]{2,}(?:省|市|区|县|镇|乡))?[\u4e00-\u9fff\d]{2,}(?:路|街|道|巷|弄)\d+号(?:[\u4e00-\u9fff\d]*(?:栋|幢|楼|单元|室))?"
    r"|[\u4e00-\u9fff]{2,}(?:小区|花园|公寓|大厦)\d+(?:栋|幢|号楼)(?:\d+(?:单元|室))?"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10x98765432"


def valid_id_card(number: str) -> bool:
    """Mainland resident ID (GB 11643): 17 digits + checksum digit or x."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].lower()


# Cheap gates: most comments have no five digit-like characters, no Latin letters and no
# address words, and then no detector can fire; building the digit view costs more.
_DIGITISH = re.compile("[0-9\uff10-\uff19\u2460-\u2473" + "".join(_NUMERALS) + "]")
_LATIN = re.compile(r"[a-zA-Z\uff21-\uff3a\uff41-\uff5a]")
ADDRESS_PAIRS = ("小区", "花园", "公寓", "大厦")  # the address words of more than one character
_ADDRESS_WORDS = re.compile("[路街道巷弄区栋幢楼室]|" + "|".join(ADDRESS_PAIRS))
# One search before the three gates: a comment with none of their characters (a digit-like
# one, a Latin letter, a character every address word has) passes none of them; three
# quarters of a live room's comments stop here (one charset search, ~1.4K instructions,
# where the three cost ~7K; callgrind, issue 15).
_ANY_GATE_CHAR = re.compile("[" + _DIGITISH.pattern[1:-1] + _LATIN.pattern[1:-1] + "路街道巷弄区栋幢楼室小花公大]")
# "at least n of them" as one match from the start, not len(findall()) >= n: the possessive
# run of other characters never backtracks (the two classes are disjoint), and no list of
# matches is built (an archive row ending in a five-digit number passes the first gate, and
# the count was ~1 µs of its find_patterns; tested equal to the counts)
_FIVE_DIGITISH = re.compile("(?:[^" + _DIGITISH.pattern[1:-1] + "]*+" + _DIGITISH.pattern + "){5}")


# What each detector needs at the least (a necessary condition, cheaper than the detector):
# an ID card or a mobile number eleven digits in a row, a QQ number its prefix word, an ID
# one of its prefixes, a WeChat ID one of its prefix words (each has 信, x or 加), a URL a
# dot or "://", an address an address word. An archive row with a number skips the rest.
_ELEVEN_DIGITS = re.compile(r"\d{11}")
_GATES: dict[re.Pattern, Callable[[str], object]] = {
    _QQ: re.compile("[q扣企裙群]").search,
    _PREFIXED_ID: re.compile("[vwq微薇威扣]").search,
    _WECHAT: re.compile("[信x加]").search,
    _URL: lambda text: "." in text or "://" in text,
    _ADDRESS: _ADDRESS_WORDS.search,
}


# The same conditions on the folded text, before the digit view is built (the view only
# removes characters, so a condition that fails here fails there): eleven digits, or one
# character some gate above needs (a dot or colon for a URL, any character of an address
# word, since an invisible one between 小 and 区 is removed). An archive row that ends in a
# five-digit number stops here.
_SOME_GATE = re.compile("[q扣企裙群vw微薇威信x加.:路街道巷弄区栋幢楼室园寓厦]")
_ELEVEN_DIGITS_ANYWHERE = re.compile(r"(?:\D*+\d){11}")  # len(re.findall(r"\d", text)) >= 11, as _FIVE_DIGITISH


# The gates above as bits per character, for the compiled clean check (``clean.py``: one C
# pass instead of up to six regex searches and a translation): worked out from the gates' own
# regexes, so both read the same character classes (tests/moderation/test_clean.py). Kept
# in a bytearray by code point (GATE_KNOWN marks a known one), which C reads directly.
GATE_DIGITISH, GATE_LATIN, GATE_ADDRESS, GATE_ANY, GATE_SOME_FOLDED, GATE_DIGIT_FOLDED, GATE_KNOWN = 1, 2, 4, 8, 16, 32, 128
_DIGIT = re.compile(r"\d")  # the \d of _ELEVEN_DIGITS_ANYWHERE
_gate_bits = bytearray(0x110000)  # code point → its bits | GATE_KNOWN, or 0 (not seen yet)


def gate_bits(cp: int) -> int:
    """The gate bits of code point ``cp`` (remembered in the table)."""
    ch, folded = chr(cp), _fold_table[cp]
    bits = (
        (GATE_DIGITISH if _DIGITISH.match(ch) else 0)
        | (GATE_LATIN if _LATIN.match(ch) else 0)
        | (GATE_ADDRESS if _ADDRESS_WORDS.match(ch) else 0)
        | (GATE_ANY if _ANY_GATE_CHAR.match(ch) else 0)
        | (GATE_SOME_FOLDED if _SOME_GATE.match(folded) else 0)
        | (GATE_DIGIT_FOLDED if _DIGIT.match(folded) else 0)
    )
    _gate_bits[cp] = bits | GATE_KNOWN
    return bits


def gate_lookup() -> tuple[bytearray, Callable[[int], int]]:
    """(code point → gate bits as a bytearray, the filler of a missing one), for ``clean.py``."""
    return _gate_bits, gate_bits


def _may_hold_a_detail(folded: str) -> bool:
    return _SOME_GATE.search(folded) is not None or _ELEVEN_DIGITS_ANYWHERE.match(folded) is not None


def _inside_any(spans: set[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) lies inside one of ``spans`` (a function of its own: a generator
    over find_patterns' match made it a cell at every call, ~250 instructions a comment)."""
    return any(a <= start and end <= b for a, b in spans)


def find_patterns(original: str) -> list[Hit]:
    """Contact and personal-data hits, with spans in the ``original`` text."""
    if _ANY_GATE_CHAR.search(original) is None:
        return []
    if _FIVE_DIGITISH.match(original) is None and not _LATIN.search(original) and not _ADDRESS_WORDS.search(original):
        return []
    folded = _fold_table.translate(original)
    if not _may_hold_a_detail(folded):
        return []
    hits: list[Hit] = []
    view = digit_view(original, folded)
    dv = text = view.text
    gates = _GATES
    ids = set()
    if _ELEVEN_DIGITS.search(dv):
        for m in _ID_CARD.finditer(dv):
            if valid_id_card(m.group(1)):
                s, e = view.span(m.start(1), m.end(1))
                hits.append(Hit("personal_info", "id_card", s, e, "pattern"))
                ids.add((m.start(1), m.end(1)))
        for m in _MOBILE.finditer(dv):
            if _inside_any(ids, m.start(), m.end()):
                continue
            s, e = view.span(m.start(), m.end())
            hits.append(Hit("ad_contact", "phone_number", s, e, "pattern"))
            hits.append(Hit("personal_info", "phone_number", s, e, "pattern"))
    if gates[_QQ](dv):
        for m in _QQ.finditer(dv):
            s, e = view.span(m.start(), m.end())
            hits.append(Hit("ad_contact", "qq_number", s, e, "pattern"))
    for regex, category, term in ((_PREFIXED_ID, "ad_contact", "contact_id"), (_WECHAT, "ad_contact", "wechat_id"), (_URL, "ad_contact", "url"), (_ADDRESS, "personal_info", "address")):
        if gates[regex](text):
            for m in regex.finditer(text):
                s, e = view.span(m.start(), m.end())
                hits.append(Hit(category, term, s, e, "pattern"))
    return hits


_LONG_NUMBER = re.compile(r"\d{6,}")


def has_long_number(original: str) -> bool:
    """Six or more digits in a row (any script, gaps removed): an identifier of some kind,
    even when no detector recognises it (a made-up ID number still names one)."""
    if len(_DIGITISH.findall(original)) < 6:
        return False
    return bool(_LONG_NUMBER.search(digit_view(original).text))
