"""Score a whole comment archive: every row gets sentiment, intent, keywords and moderation.

The input is read in chunks; each chunk is scored by a worker process (one analyzer per
process, loaded once) that writes its result as a Parquet part file next to the output,
so memory stays flat, all cores work, and order is kept by part number. The final file
is assembled from the parts at the end; ``resume`` skips the parts already written, so an
interrupted run finishes with the same file an uninterrupted one would have produced.
Flood is not judged here (it needs the live stream's timing in Redis).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from nlp_service.batch.io import Writer, columns_of, detect_format, read_chunks
from nlp_service.core.errors import DataFileError, InvalidTextError

OUTPUT_COLUMNS = ("sentiment", "sentiment_score", "intent", "intent_confidence", "keywords", "moderation_action", "moderation_categories")


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


# --- scoring (also used by POST /v1/score) ---------------------------------------------

def score_rows(rows: Iterable[dict], text_col: str, analyzer, lexicon, memo: dict | None = None) -> tuple[list[dict], list[dict]]:
    """Score rows in order: (scored rows = input columns + OUTPUT_COLUMNS, rejects).

    ``memo`` maps an exact text to its labels: archives repeat texts a lot (111, 来了,
    几号链接), and the labels of a text never depend on anything else, so a repeated text
    is scored once per worker."""
    memo = memo if memo is not None else {}
    scored, rejects = [], []
    for i, row in enumerate(rows):
        number = row.pop("__row__", i + 1)
        text = row.get(text_col)
        if not isinstance(text, str):
            rejects.append({"row": number, "reason": f"{text_col} is {type(text).__name__}, not text", "raw": json.dumps(row, ensure_ascii=False, default=str)[:300]})
            continue
        labels = text_labels(text, analyzer, lexicon, memo)
        if isinstance(labels, str):
            rejects.append({"row": number, "reason": labels, "raw": text[:300]})
            continue
        row.update(zip(OUTPUT_COLUMNS, (labels[0], labels[1], labels[2], labels[3], list(labels[4]), labels[5], list(labels[6])), strict=True))
        scored.append(row)
    return scored, rejects


_MEMO_LIMIT = 300_000


def text_labels(text: str, analyzer, lexicon, memo: dict) -> tuple | str:
    """The seven labels of one text (memoised), or the reason it cannot be scored."""
    from nlp_service.moderation.detect import moderate

    labels = memo.get(text)
    if labels is None:
        try:
            a = analyzer.analyze(text)
        except InvalidTextError as exc:
            labels = str(exc)
        else:
            m = moderate(a, lexicon)
            labels = (a.sentiment.label, a.sentiment.score, a.intent.label, a.intent.confidence, a.keywords, m.action, m.categories)
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[text] = labels
    return labels


def score_batch(batch: pa.RecordBatch, first_row: int, text_col: str, analyzer, lexicon, memo: dict) -> tuple[pa.Table, list[dict]]:
    """Score an Arrow batch column-wise: the input columns of the good rows plus the labels."""
    texts = batch.column(text_col).to_pylist()
    raw_bytes = pa.types.is_binary(batch.schema.field(text_col).type)
    keep: list[bool] = []
    decoded: list[str] = []
    out: list[list] = [[] for _ in OUTPUT_COLUMNS]
    rejects = []
    for i, text in enumerate(texts):
        if raw_bytes and text is not None:
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                rejects.append({"row": first_row + i, "reason": f"invalid UTF-8 at byte {exc.start}", "raw": text[:300].decode("utf-8", "replace")})
                keep.append(False)
                continue
        if not isinstance(text, str):
            rejects.append({"row": first_row + i, "reason": f"{text_col} is {type(text).__name__}, not text", "raw": str(text)[:300]})
            keep.append(False)
            continue
        labels = text_labels(text, analyzer, lexicon, memo)
        if isinstance(labels, str):
            rejects.append({"row": first_row + i, "reason": labels, "raw": text[:300]})
            keep.append(False)
            continue
        keep.append(True)
        decoded.append(text)
        for column, value in zip(out, labels, strict=True):
            column.append(value)
    table = pa.Table.from_batches([batch]).filter(pa.array(keep, pa.bool_())) if not all(keep) else pa.Table.from_batches([batch])
    if raw_bytes:
        table = table.set_column(table.column_names.index(text_col), text_col, pa.array(decoded, pa.string()))
    types = (pa.string(), pa.float64(), pa.string(), pa.float64(), pa.list_(pa.string()), pa.string(), pa.list_(pa.string()))
    for name, values, kind in zip(OUTPUT_COLUMNS, out, types, strict=True):
        if kind == pa.list_(pa.string()):
            values = [list(v) for v in values]
        table = table.append_column(name, pa.array(values, kind))
    return table, rejects


_worker: tuple | None = None
_memo: dict = {}


def _init_worker() -> None:
    global _worker
    from nlp_service.analysis import Analyzer
    from nlp_service.moderation.lists import load_base_lexicon

    analyzer = Analyzer.load()
    _worker = (analyzer, load_base_lexicon(analyzer.settings.data_dir))


def _score_chunk(index: int, first_row: int, rows: list[dict] | pa.RecordBatch, rejects: list[dict], text_col: str, parts: str) -> tuple[int, int, int]:
    if _worker is None:
        _init_worker()
    analyzer, lexicon = _worker
    if isinstance(rows, pa.RecordBatch):
        table, more = score_batch(rows, first_row, text_col, analyzer, lexicon, _memo)
    else:
        scored, more = score_rows(rows, text_col, analyzer, lexicon, _memo)
        table = _to_table(scored)
    rejects = sorted(rejects + more, key=lambda r: (r["row"] is None, r["row"] or 0))
    part = Path(parts) / f"{index:06d}"
    pq.write_table(table, part.with_suffix(".parquet.tmp"))
    with part.with_suffix(".rejects.jsonl").open("w", encoding="utf-8") as fh:
        for r in rejects:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    part.with_suffix(".parquet.tmp").replace(part.with_suffix(".parquet"))  # the part is done only now
    return index, table.num_rows, len(rejects)


def _to_table(rows: list[dict]) -> pa.Table:
    if not rows:
        return pa.table({c: pa.array([], pa.string()) for c in OUTPUT_COLUMNS})
    for r in rows:  # nested JSON values become JSON text (CSV and Parquet need flat columns)
        for k, v in r.items():
            if isinstance(v, dict):
                r[k] = json.dumps(v, ensure_ascii=False)
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in a column: keep them as text
        names = list(dict.fromkeys(k for r in rows for k in r))
        return pa.table({n: [None if r.get(n) is None else (r[n] if n in OUTPUT_COLUMNS else str(r[n])) for r in rows] for n in names})


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
    workers = max(1, options.workers)
    todo = _pending_chunks(chunks, done, summary, progress)
    if workers == 1:
        for index, first_row, rows, rejects, n in todo:
            _score_chunk(index, first_row, rows, rejects, options.text_col, str(parts))
            if progress:
                progress(n)
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
            in_flight: list[tuple[Future, int]] = []
            for index, first_row, rows, rejects, n in todo:
                in_flight.append((pool.submit(_score_chunk, index, first_row, rows, rejects, options.text_col, str(parts)), n))
                while len(in_flight) >= workers * 2:  # bounded: memory stays flat
                    fut, size = in_flight.pop(0)
                    fut.result()
                    if progress:
                        progress(size)
            for fut, size in in_flight:
                fut.result()
                if progress:
                    progress(size)
    _assemble(parts, dst, fmt_out, summary)
    summary.seconds = time.perf_counter() - started
    return summary


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

