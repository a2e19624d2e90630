"""Reading and writing comment archives (CSV, JSONL, Parquet) in chunks, with pyarrow.

Readers yield ``(first_row_number, rows)`` chunks of plain dicts so memory stays flat
whatever the file size; a JSONL line that is not JSON becomes a reject, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from nlp_service.batch.labels import reject
from nlp_service.core.errors import DataFileError

FORMATS = ("csv", "jsonl", "parquet")


def detect_format(path: Path, given: str | None = None) -> str:
    if given:
        if given not in FORMATS:
            raise DataFileError(f"--format must be one of {', '.join(FORMATS)}, got {given!r}")
        return given
    suffix = path.suffix.lower().lstrip(".")
    aliases = {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl", "parquet": "parquet", "pq": "parquet"}
    if suffix not in aliases:
        raise DataFileError(f"cannot tell the format of {path.name} from its extension; pass --format csv|jsonl|parquet")
    return aliases[suffix]


def columns_of(path: Path, fmt: str) -> list[str]:
    """The column names of an archive (first line / schema)."""
    if fmt == "parquet":
        return list(pq.ParquetFile(path).schema_arrow.names)
    if fmt == "csv":
        return list(_open_csv(path, 1 << 20, (), None, lambda _row: "skip").schema.names)
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    continue
                return list(obj) if isinstance(obj, dict) else []
    return []


def _open_csv(path: Path, block_size: int, string_columns: tuple[str, ...], bytes_column: str | None, on_invalid):
    """pyarrow's streaming CSV reader. ``string_columns`` stay text even when they look like
    numbers (111, 666); ``bytes_column`` (the comment text) is read as raw bytes so that a
    row with invalid UTF-8 becomes a reject instead of failing the whole file."""
    types = {c: pa.string() for c in string_columns}
    if bytes_column:
        types[bytes_column] = pa.binary()
    try:
        return pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=block_size),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise DataFileError(f"{path.name} cannot be read as CSV: {exc}") from None


def read_chunks(
    path: Path, fmt: str, chunk_rows: int, text_columns: tuple[str, ...] = (), bytes_column: str | None = None
) -> Iterator[tuple[int, list[dict] | pa.RecordBatch, list[dict]]]:
    """Yield (first row number, rows, rejects) per chunk; row numbers start at 1. Rows are
    dicts for JSONL and an Arrow RecordBatch for CSV and Parquet. For CSV, ``text_columns``
    stay text and ``bytes_column`` arrives as bytes (see :func:`_open_csv`)."""
    if fmt == "jsonl":
        yield from _read_jsonl(path, chunk_rows)
        return
    bad_rows: list[dict] = []
    if fmt == "parquet":
        batches = pq.ParquetFile(path).iter_batches(batch_size=chunk_rows)
    else:

        def on_invalid(row) -> str:  # a malformed CSV row is rejected, not fatal
            # pyarrow cannot number rows when values may span lines: then the row is null
            bad_rows.append(reject(row.number, f"malformed CSV row: {row.text[:60]!r}", row.text, keep=200))
            return "skip"

        reader = _open_csv(path, 4 << 20, tuple(c for c in text_columns if c != bytes_column), bytes_column, on_invalid)
        batches = _csv_batches(path, _rebatch(reader, chunk_rows))
    row = 1
    for batch in batches:  # Arrow batches go to the workers as they are (no per-row dicts here)
        rejects, bad_rows[:] = list(bad_rows), []
        yield row, batch, rejects
        row += batch.num_rows
    if bad_rows:  # malformed rows after the last good one must not be lost
        yield row, [], list(bad_rows)


def _csv_batches(path: Path, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Turn a structural CSV error found mid-file (an unclosed quote) into a named error."""
    try:
        yield from batches
    except pa.ArrowInvalid as exc:
        raise DataFileError(f"{path.name}: {exc}; the rows before it were scored (rerun with --resume after fixing the file)") from None


def _rebatch(reader, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in reader:
        pending.append(batch)
        size += batch.num_rows
        while size >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield from table.slice(0, chunk_rows).to_batches(max_chunksize=chunk_rows)
            rest = table.slice(chunk_rows)
            pending, size = rest.to_batches(), rest.num_rows
    if size:
        yield from pa.Table.from_batches(pending).to_batches(max_chunksize=chunk_rows)


def _read_jsonl(path: Path, chunk_rows: int) -> Iterator[tuple[int, list[dict], list[dict]]]:
    rows: list[dict] = []
    rejects: list[dict] = []
    first = 1
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                rejects.append(reject(lineno, f"invalid UTF-8 at byte {exc.start}", raw, keep=200))
                line = None
            if line is not None and line.strip():
                try:
                    obj = json.loads(line)
                    if not isinstance(obj, dict):
                        raise ValueError("a JSON line must be an object")
                    obj["__row__"] = lineno
                    rows.append(obj)
                except ValueError as exc:
                    rejects.append(reject(lineno, f"broken JSON: {exc}", line, keep=200))
            if lineno - first + 1 >= chunk_rows:
                yield first, rows, rejects
                rows, rejects, first = [], [], lineno + 1
    if rows or rejects:
        yield first, rows, rejects


class Writer:
    """Writes scored chunks to CSV, JSONL or Parquet, one chunk at a time."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self._writer = None
        self._schema: pa.Schema | None = None
        self._fh = None

    def write(self, table: pa.Table) -> None:
        if self.fmt == "csv":
            table = _flatten_lists(table)
        if self.fmt in ("parquet", "csv"):
            if self._writer is None:
                self._schema = table.schema
                self._writer = pq.ParquetWriter(self.path, table.schema) if self.fmt == "parquet" else pacsv.CSVWriter(self.path, table.schema)
            self._writer.write_table(table.cast(self._schema) if table.schema != self._schema else table)
        else:
            if self._fh is None:
                self._fh = self.path.open("w", encoding="utf-8")
            for row in table.to_pylist():
                self._fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._fh is not None:
            self._fh.close()
        if self._writer is None and self._fh is None:
            self.path.write_text("", encoding="utf-8")  # an empty archive gives an empty output


def _flatten_lists(table: pa.Table) -> pa.Table:
    """CSV has no lists: join list columns (keywords, categories) with spaces."""
    cols = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_list(col.type):
            col = pa.array([" ".join(map(str, v)) if v is not None else "" for v in col.to_pylist()], pa.string())
        cols.append(col)
    return pa.table(cols, names=table.column_names)
