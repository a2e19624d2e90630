"""Score a whole comment archive: every row gets sentiment, intent, keywords and moderation.

The input is read in chunks, and each chunk is split into one block per worker process
(forked once the models are loaded). A worker finds its block's distinct texts with Arrow,
labels those it has not seen before and spreads the labels back to the rows. Each chunk is written as a Parquet part file next to the output,
so memory stays flat, all cores work, and order is kept by part number. The final file is
assembled from the parts at the end; ``resume`` skips the parts already written, so an
interrupted run finishes with the same file an uninterrupted one would have produced.
Flood is not judged here (it needs the live stream's timing in Redis).

This module is the run and its resume; a chunk's column work is ``batch/chunks.py``, the part
files ``batch/parts.py``, the labels ``batch/labels.py``.
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

import pyarrow as pa

from nlp_service.batch.chunks import Rows, join_blocks, score_block, split_rows
from nlp_service.batch.io import columns_of, detect_format, read_chunks
from nlp_service.batch.labels import (
    OUTPUT_COLUMNS,
    Labeler,
    LabelMemo,
    Labels,
    load_labeler,
    new_memo,
    score_rows,
)
from nlp_service.batch.nopandas import without_pandas
from nlp_service.batch.parts import assemble, write_part
from nlp_service.core.config import get_settings
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


_worker_memo: LabelMemo | None = None  # a pool worker's labels of the texts it has seen


def _score_in_worker(first_row: int, rows: Rows, text_col: str, memo_bytes: int) -> tuple[pa.Table, list[dict]]:
    """Worker side: one block scored whole with the labeler the worker inherited."""
    global _worker_memo
    if _worker_memo is None:
        _worker_memo = new_memo(memo_bytes)
    return score_block(first_row, rows, text_col, load_labeler(), _worker_memo)


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
    with without_pandas():  # ~0.25 s of CPU per process that the scorer has no use for
        _run(todo, options, parts, progress)
        summary.scored, summary.rejected, rejects_path = assemble(parts, dst, fmt_out)
    summary.rows = summary.scored + summary.rejected
    summary.rejects_file = str(rejects_path)
    summary.seconds = time.perf_counter() - started
    return summary


def _run(todo, options: ScoreOptions, parts: Path, progress: Callable[[int], None] | None) -> None:
    """Score the chunks in order. The main process reads and writes the part files; each
    chunk is split into one block per worker, and a worker (forked after the models are
    loaded: no start-up cost, shared memory) decodes, dedupes and labels its block whole and
    sends back the block's Arrow table, so no text or label crosses a process boundary as a
    Python object. The next chunk is read and sent while the workers label this one."""
    labeler = load_labeler()
    workers = max(1, options.workers)
    memo_bytes = get_settings().batch_memo_bytes // workers  # the run's budget, shared out
    text_col = options.text_col

    def write(index: int, size: int, blocks: list[tuple[pa.Table, list[dict]]], rejects: list[dict]) -> None:
        table, all_rejects = join_blocks(blocks, rejects)
        write_part(parts, index, table, all_rejects)
        if progress:
            progress(size)

    if workers == 1:
        memo = new_memo(memo_bytes)
        for index, first_row, rows, rejects, size in todo:
            write(index, size, [score_block(first_row, rows, text_col, labeler, memo)], rejects)
        return
    gc.freeze()  # the loaded models stay out of the children's garbage collection: no copy-on-write
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    queue: deque[tuple[int, int, list[Future], list[dict]]] = deque()
    try:
        for index, first_row, rows, rejects, size in todo:
            futures = [pool.submit(_score_in_worker, first, block, text_col, memo_bytes) for first, block in split_rows(first_row, rows, workers)]
            queue.append((index, size, futures, rejects))
            while len(queue) > 1:  # one chunk ahead: the workers never wait on reading
                index, size, futures, rejects = queue.popleft()
                write(index, size, [f.result() for f in futures], rejects)
        while queue:
            index, size, futures, rejects = queue.popleft()
            write(index, size, [f.result() for f in futures], rejects)
    finally:
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


