"""One chunk of an archive, column-wise: check and decode the text column, find the distinct
texts (Arrow's ``dictionary_encode``), and spread each distinct text's labels back to its rows
(an Arrow ``take``), so the Python work per chunk grows with its distinct texts, not its rows.

A chunk is scored in blocks (``split_rows``: one per worker), each block whole in one process
(``score_block``: decode, dedupe, label, build the output columns), and the blocks' tables
are joined again (``join_blocks``) into the chunk's part: the same table and rejects as the
chunk scored in one piece."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nlp_service.batch.labels import OUTPUT_COLUMNS, Labeler, LabelMemo, Labels, not_text, reject

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


def label_chunk(chunk: Chunk, labels_of: Callable[[str], Labels | str], text_col: str) -> tuple[pa.Table, list[dict]]:
    """The chunk's good rows with OUTPUT_COLUMNS added, and all its rejects in row order.
    Labels are computed per distinct text and spread to the rows by an Arrow ``take``."""
    labels = [labels_of(t) for t in chunk.distinct]
    rejects = chunk.rejects
    failed = [i for i, lab in enumerate(labels) if isinstance(lab, str)]
    table, codes, numbers = chunk.table, chunk.codes, chunk.row_numbers
    if failed:
        bad = np.isin(codes, failed)
        for pos in np.flatnonzero(bad).tolist():
            text = chunk.distinct[codes[pos]]
            rejects.append(reject(int(numbers[pos]), labels[codes[pos]], text))
        keep = ~bad
        table, codes = table.filter(pa.array(keep)), codes[keep]
        empty = (None,) * len(OUTPUT_COLUMNS)
        labels = [empty if isinstance(lab, str) else lab for lab in labels]
    take = pa.array(codes, pa.int64())
    for j, (name, kind) in enumerate(zip(OUTPUT_COLUMNS, _OUTPUT_TYPES, strict=True)):
        per_text = pa.array([lab[j] for lab in labels], kind)
        table = table.append_column(name, per_text.take(take))
    rejects.sort(key=lambda r: (r["row"] is None, r["row"] or 0))
    return table, rejects


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



Rows = list[dict] | pa.RecordBatch


def split_rows(first_row: int, rows: Rows, blocks: int) -> list[tuple[int, Rows]]:
    """A chunk's rows as up to ``blocks`` contiguous blocks of (first row number, rows).
    Only Arrow batches are split: the rows of a JSONL chunk become one table, whose column
    types are inferred from all of them at once."""
    if not isinstance(rows, pa.RecordBatch) or blocks <= 1 or rows.num_rows < 2 * blocks:
        return [(first_row, rows)]
    step = -(-rows.num_rows // blocks)
    return [(first_row + a, rows.slice(a, step)) for a in range(0, rows.num_rows, step)]


def score_block(first_row: int, rows: Rows, text_col: str, labeler: Labeler, memo: LabelMemo) -> tuple[pa.Table, list[dict]]:
    """One block's rows with OUTPUT_COLUMNS added, and its rejects (see :func:`label_chunk`)."""
    chunk = prepare_chunk(0, first_row, rows, [], text_col)
    return label_chunk(chunk, lambda text: labeler.label_memo(text, memo), text_col)


def join_blocks(blocks: list[tuple[pa.Table, list[dict]]], rejects: list[dict]) -> tuple[pa.Table, list[dict]]:
    """The chunk's table and rejects from its blocks' (in order) and the reader's ``rejects``:
    the same as :func:`label_chunk` of the whole chunk."""
    tables = [t for t, _ in blocks]
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables).combine_chunks()
    out = list(rejects) + [r for _, block_rejects in blocks for r in block_rejects]
    out.sort(key=lambda r: (r["row"] is None, r["row"] or 0))
    return table, out
