"""The moderation classifier's training rows: ``data/moderation/train/*.tsv``, hand-written,
``text<TAB>categories<TAB>kind`` (categories comma-separated or ``none``; kind plain /
evasion / hard_negative), read and checked into ``TrainingRow``s.

A file may add a fourth column, ``family``: rows written from one template
(``tools/make_group_rows.py``: one sentence, many groups of people) share it, so they fall
in the same out-of-fold fold and on the same side of the held-out split. Without it, a
template's siblings would sit on both sides and make the chosen thresholds optimistic."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from nlp_service.core.errors import DataFileError
from nlp_service.moderation.labels import LIST_CATEGORIES

KINDS = ("plain", "evasion", "hard_negative")
_HEADER = ["text", "categories", "kind"]
FOLDS = 5  # out-of-fold thresholds: the rows fall into this many folds by a hash of their text


@dataclass(frozen=True)
class TrainingRow:
    text: str
    categories: frozenset[str]
    kind: str
    family: str = ""

    @property
    def key(self) -> str:
        """What the folds and the held-out split hash: the row's family, else its text."""
        return self.family or self.text


def read_rows(folder: Path) -> list[TrainingRow]:
    """Every row of ``folder/*.tsv`` (sorted by file name), checked; duplicates dropped."""
    files = sorted(folder.glob("*.tsv"))
    if not files:
        raise DataFileError(f"no moderation training files (*.tsv) in {folder}")
    rows: dict[str, TrainingRow] = {}
    for path in files:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            if reader.fieldnames not in (_HEADER, [*_HEADER, "family"]):
                raise DataFileError(f"{path}: header must be text, categories, kind (and optionally family); found {reader.fieldnames}")
            for line, rec in enumerate(reader, start=2):
                text = (rec["text"] or "").strip()
                cats = frozenset(c.strip() for c in (rec["categories"] or "").split(",") if c.strip() and c.strip() != "none")
                kind = (rec["kind"] or "").strip()
                if not text or kind not in KINDS or not cats <= set(LIST_CATEGORIES):
                    raise DataFileError(f"{path}:{line}: bad row {rec!r}; categories from {LIST_CATEGORIES} or none, kind from {KINDS}")
                rows.setdefault(text, TrainingRow(text, cats, kind, (rec.get("family") or "").strip()))
    return list(rows.values())

