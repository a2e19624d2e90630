"""Score a whole comment archive: every row gets sentiment, intent, keywords and moderation.

The input is read in chunks. Per chunk, Arrow finds the distinct texts; worker processes
(forked once the models are loaded) label the texts no earlier chunk had; Arrow spreads the
labels back to the rows. Each chunk is written as a Parquet part file next to the output,
so memory stays flat, all cores work, and order is kept by part number. The final file is
assembled from the parts at the end; ``resume`` skips the parts already written, so an
interrupted run finishes with the same file an uninterrupted one would have produced.
Flood is not judged here (it needs the live stream's timing in Redis).
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import shutil
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from nlp_service.batch.io import Writer, columns_of, detect_format, read_chunks
from nlp_service.batch.labels import (
    OUTPUT_COLUMNS,
    Labeler,
    Labels,
    load_labeler,
    new_memo,
    not_text,
    reject,
    score_rows,
)
from nlp_service.core.errors import DataFileError

__all__ = ["OUTPUT_COLUMNS", "Labeler", "Labels", "ScoreOptions", "ScoreSummary", "load_labeler", "score_file", "score_rows"]

@dataclass
class ScoreOptions:
    text_col: str = "text"
    time_col: str = "ts"
    room_col: str = "room"
    user_col: str = "user"
    in_format: str | None = None
    out_format: str | None = None
    chunk_rows: int = 20_000
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    resume: bool = False


@dataclass
class ScoreSummary:
    rows: int = 0
    scored: int = 0
    rejected: int = 0
    chunks: int = 0
    chunks_resumed: int = 0
    seconds: float = 0.0
    output: str = ""
    rejects_file: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "rows_per_second": round(self.rows_per_second, 1)}


# --- a chunk, column-wise ----------------------------------------------------------------

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
    in_flight: list[tuple[list[str], Future]] = field(default_factory=list)


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


def _write_part(parts: Path, index: int, table: pa.Table, rejects: list[dict]) -> None:
    part = parts / f"{index:06d}"
    pq.write_table(table, part.with_suffix(".parquet.tmp"))
    with part.with_suffix(".rejects.jsonl").open("w", encoding="utf-8") as fh:
        for r in rejects:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    part.with_suffix(".parquet.tmp").replace(part.with_suffix(".parquet"))  # the part is done only now


def _label_texts(texts: list[str]) -> list[Labels | str]:
    """Worker side: labels of distinct texts with the labeler the worker inherited."""
    labeler = load_labeler()
    return [labeler.label(t) for t in texts]


# --- the run ---------------------------------------------------------------------------

def _manifest(src: Path, options: ScoreOptions) -> dict:
    stat = src.stat()
    return {"input": str(src.resolve()), "size": stat.st_size, "mtime": stat.st_mtime_ns, "chunk_rows": options.chunk_rows, "text_col": options.text_col}


def check_columns(src: Path, fmt: str, options: ScoreOptions) -> list[str]:
    found = columns_of(src, fmt)
    if options.text_col not in found:
        raise DataFileError(f"text column {options.text_col!r} not found in {src.name}; columns found: {', '.join(found) or '(none)'} (use --text-col)")
    defaults = ScoreOptions()
    for flag, name, default in (("--time-col", options.time_col, defaults.time_col), ("--room-col", options.room_col, defaults.room_col), ("--user-col", options.user_col, defaults.user_col)):
        if name != default and name not in found:
            raise DataFileError(f"{flag} {name!r} not found in {src.name}; columns found: {', '.join(found)}")
    return found


def score_file(src: Path, dst: Path, options: ScoreOptions, progress: Callable[[int], None] | None = None) -> ScoreSummary:
    """Score ``src`` into ``dst`` (formats from the extensions or the options)."""
    started = time.perf_counter()
    fmt_in = detect_format(src, options.in_format)
    fmt_out = detect_format(dst, options.out_format)
    if not src.is_file():
        raise DataFileError(f"input not found: {src}")
    check_columns(src, fmt_in, options)
    parts = dst.with_name(dst.name + ".parts")
    manifest = _manifest(src, options)
    manifest_file = parts / "manifest.json"
    if options.resume and manifest_file.exists() and json.loads(manifest_file.read_text()) == manifest:
        done = {int(p.name.split(".")[0]) for p in parts.glob("*.parquet")}
    else:
        shutil.rmtree(parts, ignore_errors=True)
        parts.mkdir(parents=True)
        manifest_file.write_text(json.dumps(manifest))
        done = set()
    summary = ScoreSummary(output=str(dst))
    text_cols = (options.text_col, options.user_col, options.room_col)
    chunks = read_chunks(src, fmt_in, options.chunk_rows, text_cols, bytes_column=options.text_col)
    todo = _pending_chunks(chunks, done, summary, progress)
    _run(todo, options, parts, progress)
    _assemble(parts, dst, fmt_out, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _run(todo, options: ScoreOptions, parts: Path, progress: Callable[[int], None] | None) -> None:
    """Label the chunks in order. The main process reads, dedupes and writes (Arrow does the
    per-row work); the workers, forked after the models are loaded (no start-up cost, shared
    memory), only label texts that no earlier chunk had, while the next chunk is read."""
    labeler = load_labeler()
    memo = new_memo()  # bounded by bytes: long distinct texts push old ones out
    pending: set[str] = set()
    workers = max(1, options.workers)
    pool = None
    if workers > 1:
        gc.freeze()  # the loaded models stay out of the children's garbage collection: no copy-on-write
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))

    def labels_of(text: str) -> Labels | str:
        return labeler.label_memo(text, memo)

    def finish(chunk: Chunk, size: int) -> None:
        for texts, fut in chunk.in_flight:
            for text, labels in zip(texts, fut.result(), strict=True):
                memo.put(text, labels)
            pending.difference_update(texts)
        table, rejects = label_chunk(chunk, labels_of, options.text_col)
        _write_part(parts, chunk.index, table, rejects)
        if progress:
            progress(size)

    queue: deque[tuple[Chunk, int]] = deque()
    try:
        for index, first_row, rows, rejects, size in todo:
            chunk = prepare_chunk(index, first_row, rows, rejects, options.text_col)
            if pool is not None:
                new = [t for t in chunk.distinct if t not in memo and t not in pending]
                pending.update(new)
                step = max(1, -(-len(new) // workers))  # a chunk of texts seen before sends nothing
                chunk.in_flight = [(new[i : i + step], pool.submit(_label_texts, new[i : i + step])) for i in range(0, len(new), step)]
            queue.append((chunk, size))
            while len(queue) > (2 if pool is not None else 0):  # two chunks ahead: workers never wait on reading
                finish(*queue.popleft())
        while queue:
            finish(*queue.popleft())
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
            gc.unfreeze()


def _pending_chunks(chunks, done: set[int], summary: ScoreSummary, progress: Callable[[int], None] | None):
    """The chunks still to score, as (index, rows, rejects, size); finished ones (resume) are
    counted and reported as progress without being scored again."""
    for index, (first_row, rows, rejects) in enumerate(chunks):
        summary.chunks += 1
        size = len(rows) + len(rejects)
        if index in done:
            summary.chunks_resumed += 1
            if progress:
                progress(size)
            continue
        yield index, first_row, rows, rejects, size


def _assemble(parts: Path, dst: Path, fmt_out: str, summary: ScoreSummary) -> None:
    """Concatenate the parts in order into the final file, and the rejects beside it."""
    tmp = dst.with_name(dst.name + ".tmp")
    writer = Writer(tmp, fmt_out)
    rejects_path = dst.with_name(dst.stem + ".rejects.jsonl")
    schema = None
    with rejects_path.open("w", encoding="utf-8") as rej:
        for part in sorted(parts.glob("*.parquet")):
            table = pq.read_table(part)
            if table.num_rows:
                if schema is None:
                    schema = table.schema
                elif table.schema != schema:
                    table = _conform(table, schema)
                writer.write(table)
            summary.scored += table.num_rows
            rejects_file = part.with_name(part.name.replace(".parquet", ".rejects.jsonl"))
            if rejects_file.exists():
                for line in rejects_file.read_text(encoding="utf-8").splitlines():
                    rej.write(line + "\n")
                    summary.rejected += 1
    writer.close()
    tmp.replace(dst)
    summary.rows = summary.scored + summary.rejected
    summary.rejects_file = str(rejects_path)
    shutil.rmtree(parts, ignore_errors=True)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table[f.name]
            try:
                col = col.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                col = pa.array([None if v is None else str(v) for v in col.to_pylist()], f.type if pa.types.is_string(f.type) else pa.string())
        else:
            col = pa.nulls(table.num_rows, f.type)
        cols.append(col)
    return pa.table(cols, schema=schema) if all(c.type == f.type for c, f in zip(cols, schema, strict=True)) else pa.table(cols, names=schema.names)

