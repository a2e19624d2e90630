"""A ``str.translate`` table filled as characters are first seen, and translating through it.

Three stages fold a comment one character at a time through such a table (the matching
form's simple characters, ``text/normalize.py``; the contact detectors' folding,
``moderation/patterns.py``; the readings, ``moderation/readings.py``): a dict subclass whose
``__missing__`` works out a character once and stores it. ``str.translate`` reaches a dict
subclass's items through ``__getitem__`` as a Python-level slot, a method lookup and call per
character (~400 instructions; 15-17K of the ~225K a new comment cost, callgrind, issue 15);
:meth:`LazyTable.translate` does one dict lookup per character in C
(``_speedups.translate_memo``) and is ``str.translate`` itself where the extension is missing
or a value is not one character (tests/core/test_lazytable.py compares the two).
"""

from __future__ import annotations

from nlp_service.core.speedups import translate_memo


class LazyTable(dict):
    """Code point → its one-character replacement; subclasses define ``__missing__(cp)``,
    which returns the replacement and stores it (or not, for code points not worth keeping)."""

    def __missing__(self, cp: int) -> str:  # pragma: no cover - every table defines its own
        raise NotImplementedError

    def translate(self, text: str) -> str:
        """``text.translate(self)``."""
        if translate_memo is not None:
            out = translate_memo(text, self, self.__missing__)
            if out is not None:
                return out
        return text.translate(self)
