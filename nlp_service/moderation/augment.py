"""Deterministic evasion variants of hand-written training comments.

The training files under ``data/moderation/train/`` stay human-written; the evasions that
live rooms produce mechanically are added here, at training time, the same way on every
run: a seeded generator per (text, variant number), so the same data gives the same
variants and the same weights. The kinds mirror what rooms do to dodge filters:

* a separator or an emoji between characters (微.信, 私❤我, 加[捂脸]我),
* full-width Latin letters and digits (ｖｘ, １２３),
* one character swapped for another with the same reading (私我 → 思我, 骗子 → 片子),
* one or two characters written in pinyin or as initials (私我 → si我, 主播 → zb),
* the comment inside ordinary chatter (主播 ... 哈哈哈), so the model does not learn that
  a harmful comment is always short.

Hard negatives get the same treatment, so a disguise alone never reads as harmful.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable

from nlp_service.moderation.readings import reading

_SEPARATORS = (" ", ".", "*", "-", "/", "~", "、", "_")
_EMOJI = ("❤", "🌹", "✨", "👉", "[捂脸]", "[doge]", "[偷笑]", "[呲牙]", "🙏")
_PREFIXES = ("主播 ", "家人们 ", "哈哈 ", "我说 ", "真的 ", "[捂脸]", "前面的 ", "刚来 ")
_SUFFIXES = (" 哈哈哈", " [捂脸]", " 懂的都懂", "！", "？", " 2333", " 真的", " 家人们")


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def homophone_table(texts: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Reading → the characters of ``texts`` that carry it (sorted, so deterministic).
    Built from the training texts themselves: common characters, the kind rooms swap in."""
    by_reading: dict[str, set[str]] = {}
    for text in texts:
        for ch in text:
            if _is_cjk(ch):
                by_reading.setdefault(reading(ch), set()).add(ch)
    return {r: tuple(sorted(chars)) for r, chars in by_reading.items() if len(chars) > 1}


def _rng(text: str, n: int) -> random.Random:
    seed = hashlib.sha256(f"{n}\x00{text}".encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def _between(text: str, rng: random.Random, fillers: tuple[str, ...]) -> str:
    filler = rng.choice(fillers)
    return filler.join(text) if len(text) <= 6 else text.replace(" ", filler)


def _swap_homophone(text: str, rng: random.Random, table: dict[str, tuple[str, ...]]) -> str:
    spots = [i for i, ch in enumerate(text) if _is_cjk(ch) and len(table.get(reading(ch), ())) > 1]
    if not spots:
        return text
    i = rng.choice(spots)
    options = [c for c in table[reading(text[i])] if c != text[i]]
    return text[:i] + rng.choice(options) + text[i + 1 :]


def _romanise(text: str, rng: random.Random, initials: bool) -> str:
    spots = [i for i, ch in enumerate(text) if _is_cjk(ch)]
    if not spots:
        return text
    i = rng.choice(spots)
    j = i + 2 if initials and i + 1 < len(text) and _is_cjk(text[i + 1]) else i + 1
    syllables = [reading(c) for c in text[i:j]]
    latin = "".join(s[0] for s in syllables) if initials else "".join(syllables)
    return text[:i] + latin + text[j:]


def _in_chatter(text: str, rng: random.Random) -> str:
    return rng.choice(_PREFIXES) + text + rng.choice(_SUFFIXES)


def variant(text: str, n: int, table: dict[str, tuple[str, ...]]) -> str:
    """The ``n``-th evasion variant of ``text`` (0 is the text itself)."""
    if n == 0:
        return text
    rng = _rng(text, n)
    kind = (n - 1) % 6
    if kind == 0:
        out = _swap_homophone(text, rng, table)
    elif kind == 1:
        out = _romanise(text, rng, initials=False)
    elif kind == 2:
        out = _in_chatter(text, rng)
    elif kind == 3:
        out = _between(text, rng, _SEPARATORS + _EMOJI)
    elif kind == 4:
        out = _romanise(_swap_homophone(text, rng, table), rng, initials=rng.random() < 0.3)
    else:
        out = _full_width(_in_chatter(text, rng))
    return out


def variants(text: str, count: int, table: dict[str, tuple[str, ...]]) -> list[str]:
    """``text`` and up to ``count`` distinct variants of it, in a fixed order."""
    out = [text]
    for n in range(1, count + 1):
        v = variant(text, n, table)
        if v not in out:
            out.append(v)
    return out
