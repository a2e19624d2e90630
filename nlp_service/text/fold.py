"""The group form of a comment: what is left of its text once the ways people repeat
themselves are folded away. Pure, no I/O.

A storm of the same accusation or ad arrives in near-variants: 骗子, 骗子😭, 骗子[发怒], 骗子!!!,
骗子 骗子, 不发货货. The matching form (``normalize``) keeps emoji and ?/! (they carry mood
and intent) and compresses runs to three, so those variants have different normalised texts.
The moderation queue groups a room's flagged comments on this coarser form (one item for
the storm, ``moderation/queue_scripts.py``):

* platform emoticon codes (``[捂脸]``, ``[666]``) are dropped before normalising,
* only letters, digits, ``_`` and CJK characters are kept (emoji, punctuation, spaces go),
* a text said several times in one comment counts once (割韭菜割韭菜 → 割韭菜),
* a run of the same non-ASCII last character counts once (不发货货 → 不发货, 私我我我 → 私我).

Runs of ASCII letters and digits are never folded: they are ids and numbers (vx ab1233 and
vx ab123 are two different accounts). Nothing here decides whether a comment is flagged;
it only decides which flagged comments a moderator sees as one item.
"""

from __future__ import annotations

import re

from nlp_service.text.normalize import normalize

_CODE = re.compile(r"\[[^\[\]\s]{1,8}\]")  # a platform's emoticon code: [捂脸] [发怒] [666]


def group_form(original: str, normalized: str) -> str:
    """The group form of a comment, from its original text and its normalised text (the
    normalised text of the original with the emoticon codes cut, when it has any)."""
    if "[" in original and _CODE.search(original):
        cut = _CODE.sub("", original)
        if cut.strip():
            normalized = normalize(cut).text
    kept = "".join(ch for ch in normalized if ch.isalnum() or ch == "_")
    if not kept:  # emoji or punctuation alone: the normalised text is all there is
        return normalized
    period = (kept + kept).find(kept, 1)  # the shortest p with kept == kept[:p] * k
    kept = kept[:period]
    end = len(kept)
    while end > 1 and kept[end - 1] == kept[end - 2] and not kept[end - 1].isascii():
        end -= 1
    return kept[:end]
