"""One chunk of an archive, column-wise: check and decode the text column, find the distinct
texts (Arrow's ``dictionary_encode``), and spread each distinct text's labels back to its rows
(an Arrow ``take``), so the Python work per chunk grows with its distinct texts, not its rows.

With several workers, the chunk's distinct texts are split by hash (``split_texts``: a text
goes to the same worker in every chunk), each worker returns its texts' labels as Arrow
columns (``label_texts``), and they are put back in order (``join_groups``) and spread to the
rows (``spread_labels``): the same table and rejects as :func:`label_chunk` in one process."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nlp_service.batch.labels import OUTPUT_COLUMNS, Labels, not_text, reject

_OUTPUT_TYPES = (pa.string(), pa.float64(), pa.string(), pa.float64(), pa.list_(pa.string()), pa.string(), pa.list_(pa.string()))


@dataclass
class Chunk:
    """One chunk of the archive, ready to label: the good rows (text column as UTF-8 text),
    their row numbers, and their texts as codes into the chunk's distinct texts."""

    index: int
    table: pa.Table
    row_numbers: np.ndarray
    codes: np.ndarray
    distinct: list[str]
    rejects: list[dict]


def prepare_chunk(index: int, first_row: int, rows: list[dict] | pa.RecordBatch, rejects: list[dict], text_col: str) -> Chunk:
    """Check and decode the text column and find the chunk's distinct texts, in Arrow's C++
    (``dictionary_encode``), so the Python work per chunk grows with its distinct texts,
    not with its rows."""
    rejects = list(rejects)
    if isinstance(rows, pa.RecordBatch):
        table, numbers = pa.Table.from_batches([rows]), np.arange(first_row, first_row + rows.num_rows)
    else:
        good = []
        for i, row in enumerate(rows):
            number = row.pop("__row__", first_row + i)
            text = row.get(text_col)
            if isinstance(text, str):
                good.append((number, row))
            else:
                rejects.append(not_text(number, text_col, text, json.dumps(row, ensure_ascii=False, default=str)))
        table, numbers = _to_table([r for _, r in good]), np.array([n for n, _ in good], dtype=np.int64)
    if table.num_rows == 0 or text_col not in table.column_names:
        return Chunk(index, table.slice(0, 0), numbers[:0], np.zeros(0, np.int64), [], rejects)
    text, ok = _text_column(table.column(text_col).combine_chunks(), numbers, text_col, rejects)
    if ok is not None:
        table, text, numbers = table.filter(ok), text.filter(ok), numbers[ok.to_numpy(zero_copy_only=False)]
    table = table.set_column(table.column_names.index(text_col), text_col, text)
    encoded = pc.dictionary_encode(text)
    return Chunk(index, table, numbers, encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist(), rejects)


def _text_column(col: pa.Array, numbers: np.ndarray, text_col: str, rejects: list[dict]) -> tuple[pa.Array, pa.Array | None]:
    """The column as UTF-8 text and a mask of the rows to keep (None: keep all); rows that are
    null, not text or not valid UTF-8 become rejects."""
    kind = col.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        try:
            text = col.cast(pa.string())  # validates UTF-8 in C++: the common case costs nothing per row
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            text = None
        if text is not None and col.null_count == 0:
            return text, None
        values = col.to_pylist()
        decoded, keep = [], []
        for number, v in zip(numbers.tolist(), values, strict=True):
            if isinstance(v, bytes):
                try:
                    v = v.decode("utf-8")
                except UnicodeDecodeError as exc:
                    rejects.append(reject(number, f"invalid UTF-8 at byte {exc.start}", v))
                    v = None
            elif not isinstance(v, str):
                rejects.append(not_text(number, text_col, v, str(v)))
                v = None
            keep.append(v is not None)
            decoded.append(v)
        return pa.array(decoded, pa.string()), pa.array(keep, pa.bool_())
    for number, v in zip(numbers.tolist(), col.to_pylist(), strict=True):  # numbers, dates, …
        rejects.append(not_text(number, text_col, v, str(v)))
    return pa.nulls(len(col), pa.string()), pa.array([False] * len(col), pa.bool_())


def label_texts(texts: list[str], labels_of: Callable[[str], Labels | str]) -> tuple[pa.Table, list[tuple[int, str]]]:
    """The labels of distinct texts as OUTPUT_COLUMNS (one row per text, in order; empty for a
    text that cannot be labelled) and [(position, why)] of those texts. A worker sends these
    columns back: Arrow buffers, no Python object per text crosses the process boundary."""
    return label_columns([labels_of(t) for t in texts])


def label_columns(labels: list[Labels | str]) -> tuple[pa.Table, list[tuple[int, str]]]:
    """:func:`label_texts` of labels already made (:meth:`Labeler.label_memo_all`)."""
    failed = [(i, lab) for i, lab in enumerate(labels) if isinstance(lab, str)]
    if failed:
        empty = (None,) * len(OUTPUT_COLUMNS)
        labels = [empty if isinstance(lab, str) else lab for lab in labels]
    by_column = zip(*labels, strict=True) if labels else [()] * len(_OUTPUT_TYPES)  # the transpose in C, not a list per column
    columns = [pa.array(values, kind) for values, kind in zip(by_column, _OUTPUT_TYPES, strict=True)]
    return pa.Table.from_arrays(columns, names=list(OUTPUT_COLUMNS)), failed


def split_texts(texts: list[str], groups: int) -> list[np.ndarray]:
    """The positions of ``texts`` in ``groups`` groups by the text's hash: a text goes to the
    same group (worker) in every chunk, so each worker's memo labels it once per run."""
    if groups <= 1:
        return [np.arange(len(texts))]
    # hash() is a 64-bit signed int and numpy's % takes the divisor's sign, as Python's
    # does: the same owner per text as ``hash(t) % groups``, without a generator step per text
    owner = np.fromiter(map(hash, texts), dtype=np.int64, count=len(texts)) % groups
    return [np.flatnonzero(owner == g) for g in range(groups)]


def join_groups(positions: list[np.ndarray], results: list[tuple[pa.Table, list[tuple[int, str]]]], size: int) -> tuple[pa.Table, list[tuple[int, str]]]:
    """:func:`label_texts` of all ``size`` texts from its results for the groups of
    :func:`split_texts` (positions and results in the same order)."""
    if len(results) == 1:
        return results[0]
    order = np.concatenate(positions) if positions else np.zeros(0, np.int64)
    table = pa.concat_tables([t for t, _ in results]).combine_chunks()
    inverse = np.empty(size, np.int64)
    inverse[order] = np.arange(size)
    failed = sorted((int(pos[i]), why) for pos, (_, fails) in zip(positions, results, strict=True) for i, why in fails)
    return table.take(int64_array(inverse)), failed


def spread_labels(chunk: Chunk, per_text: pa.Table, failed: list[tuple[int, str]]) -> tuple[pa.Table, list[dict]]:
    """The chunk's good rows with OUTPUT_COLUMNS added (each distinct text's labels spread to
    its rows by an Arrow ``take``), and all its rejects in row order."""
    rejects = chunk.rejects
    table, codes, numbers = chunk.table, chunk.codes, chunk.row_numbers
    if failed:
        why = dict(failed)
        bad = np.isin(codes, list(why))
        for pos in np.flatnonzero(bad).tolist():
            text = chunk.distinct[codes[pos]]
            rejects.append(reject(int(numbers[pos]), why[int(codes[pos])], text))
        keep = ~bad
        table, codes = table.filter(pa.array(keep)), codes[keep]
    take = int64_array(codes)
    for name in OUTPUT_COLUMNS:
        table = table.append_column(name, per_text.column(name).take(take))
    rejects.sort(key=lambda r: (r["row"] is None, r["row"] or 0))
    return table, rejects


def int64_array(values: np.ndarray) -> pa.Array:
    """``pa.array(values, pa.int64())`` for a numpy array of integers, over the same memory.
    ``pa.array`` on a numpy array imports ``numpy.ma`` first (to rule out a masked array):
    ~10 ms of every scoring run's start-up, for a check these index arrays never need."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def label_chunk(chunk: Chunk, labels_of: Callable[[str], Labels | str], text_col: str) -> tuple[pa.Table, list[dict]]:
    """The chunk's good rows with OUTPUT_COLUMNS added, and all its rejects in row order, in
    one process (:func:`label_texts` then :func:`spread_labels`)."""
    return spread_labels(chunk, *label_texts(chunk.distinct, labels_of))


def _to_table(rows: list[dict]) -> pa.Table:
    if not rows:
        return pa.table({})
    for r in rows:  # nested JSON values become JSON text (CSV and Parquet need flat columns)
        for k, v in r.items():
            if isinstance(v, dict):
                r[k] = json.dumps(v, ensure_ascii=False)
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in a column: keep them as text
        names = list(dict.fromkeys(k for r in rows for k in r))
        return pa.table({n: [None if r.get(n) is None else str(r[n]) for r in rows] for n in names})


