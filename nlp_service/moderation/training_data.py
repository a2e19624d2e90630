"""The moderation classifier's training rows: ``data/moderation/train/*.tsv``, hand-written,
``text<TAB>categories<TAB>kind`` (categories comma-separated or ``none``; kind plain /
evasion / hard_negative), read and checked into ``TrainingRow``s."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from nlp_service.core.errors import DataFileError
from nlp_service.moderation.labels import LIST_CATEGORIES

KINDS = ("plain", "evasion", "hard_negative")
FOLDS = 5  # out-of-fold thresholds: the rows fall into this many folds by a hash of their text


@dataclass(frozen=True)
class TrainingRow:
    text: str
    categories: frozenset[str]
    kind: str


def read_rows(folder: Path) -> list[TrainingRow]:
    """Every row of ``folder/*.tsv`` (sorted by file name), checked; duplicates dropped."""
    files = sorted(folder.glob("*.tsv"))
    if not files:
        raise DataFileError(f"no moderation training files (*.tsv) in {folder}")
    rows: dict[str, TrainingRow] = {}
    for path in files:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            if reader.fieldnames != ["text", "categories", "kind"]:
                raise DataFileError(f"{path}: header must be text, categories, kind; found {reader.fieldnames}")
            for line, rec in enumerate(reader, start=2):
                text = (rec["text"] or "").strip()
                cats = frozenset(c.strip() for c in (rec["categories"] or "").split(",") if c.strip() and c.strip() != "none")
                kind = (rec["kind"] or "").strip()
                if not text or kind not in KINDS or not cats <= set(LIST_CATEGORIES):
                    raise DataFileError(f"{path}:{line}: bad row {rec!r}; categories from {LIST_CATEGORIES} or none, kind from {KINDS}")
                rows.setdefault(text, TrainingRow(text, cats, kind))
    return list(rows.values())

