"""The compiled inner loops (``_speedups.c``), or None for each where the build was skipped.

``setup.py`` compiles the extension on ``pip install`` (editable or wheel). It is optional so
that a machine without a C compiler still installs: every caller keeps the pure-Python
formulation it replaced, as the fallback and as the reference the tests compare with
(``tests/core/test_speedups.py``, which also fails when the build is missing). After an
edit of ``_speedups.c`` (or a merge that brings one), run ``pip install -e .`` again: an
editable install compiles the module once, it does not watch the source.
"""

from __future__ import annotations

from collections.abc import Mapping

try:
    from nlp_service.core import _speedups
except ImportError:  # pragma: no cover - exercised only where the build was skipped
    _speedups = None

StrTable = getattr(_speedups, "StrTable", None)
row_sums = getattr(_speedups, "row_sums", None)
fused_probs = getattr(_speedups, "fused_probs", None)
flagged_logits = getattr(_speedups, "flagged_logits", None)
clean_comment = getattr(_speedups, "clean_comment", None)
normalize_plans = getattr(_speedups, "normalize_plans", None)
pack_commands = getattr(_speedups, "pack_commands", None)
translate_memo = getattr(_speedups, "translate_memo", None)
slot_offsets = getattr(_speedups, "slot_offsets", None)
new_slotted = getattr(_speedups, "new_slotted", None)
decide = getattr(_speedups, "decide", None)
rank_keywords = getattr(_speedups, "rank_keywords", None)
AVAILABLE = _speedups is not None


def walk_table(values: Mapping[str, float]):  # -> StrTable | None (the type exists only with the build)
    """A ``StrTable`` to walk a text with (``spans``): each key with its value, each proper
    prefix of a key as None (walk on). None without the build or without a key."""
    if StrTable is None or not values:
        return None
    keys: dict[str, float | None] = {k[:n]: None for k in values for n in range(1, len(k))}
    keys.update(values)
    return StrTable(keys)
