"""Score a whole comment archive: every row gets sentiment, intent, keywords and moderation.

The input is read in chunks. Per chunk, Arrow finds the distinct texts; worker processes
(forked once the models are loaded) label them, each the texts that hash to it, and send
the labels back as Arrow columns; Arrow spreads them back to the rows. Each chunk is
written as a Parquet part file next to the output, so memory stays flat, all cores work,
and order is kept by part number. The final file is written from the parts, in order, as
they are finished (while the workers label the next chunks); ``resume`` skips the parts already written, so an interrupted run finishes with the same
file an uninterrupted one would have produced.
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

import numpy as np
import pyarrow as pa

from nlp_service.batch.chunks import (
    Chunk,
    join_groups,
    label_columns,
    prepare_chunk,
    split_texts,
    spread_labels,
)
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
from nlp_service.batch.parts import Assembly, write_part
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


def _label_in_worker(texts: list[str], memo_bytes: int) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Worker side: the labels of distinct texts (by the labeler the worker inherited) as
    Arrow columns, remembered in the worker's memo (a text always comes to the same worker)."""
    global _worker_memo
    if _worker_memo is None:
        _worker_memo = new_memo(memo_bytes)
    labeler, memo = load_labeler(), _worker_memo
    return label_columns(labeler.label_memo_all(texts, memo))


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
        assembly = Assembly(parts, dst, fmt_out)
        try:
            assembly.add_ready()  # the parts a resumed run finished before
            _run(todo, options, parts, progress, assembly.add_ready)
            summary.scored, summary.rejected, rejects_path = assembly.finish()
        except BaseException:
            assembly.abandon()
            raise
    summary.rows = summary.scored + summary.rejected
    summary.rejects_file = str(rejects_path)
    summary.seconds = time.perf_counter() - started
    return summary


def _run(todo, options: ScoreOptions, parts: Path, progress: Callable[[int], None] | None, on_part: Callable[[], None]) -> None:
    """Label the chunks in order. The main process reads, dedupes and writes (Arrow does the
    per-row work); the workers, forked after the models are loaded (no start-up cost, shared
    memory), each label the chunk's distinct texts that hash to it (the same worker for a text
    in every chunk, so its memo labels it once) and send back Arrow columns, while the next
    chunk is read."""
    labeler = load_labeler()
    workers = max(1, options.workers)
    settings = get_settings()
    memo_bytes = settings.batch_memo_bytes // workers  # the run's budget, shared out
    thresholds = gc.get_threshold()
    # the label memo holds a tuple per distinct text: with Python's default thresholds a
    # full collection walked all of them every ~70,000 allocations (the forked workers inherit this)
    gc.set_threshold(*settings.gc_thresholds)
    try:
        _label_chunks(todo, labeler, workers, memo_bytes, options.text_col, parts, progress, on_part)
    finally:
        gc.set_threshold(*thresholds)


def _label_chunks(
    todo, labeler: Labeler, workers: int, memo_bytes: int, text_col: str, parts: Path,
    progress: Callable[[int], None] | None, on_part: Callable[[], None],
) -> None:  # fmt: skip
    """:func:`_run`'s loop over the chunks, in this process (one worker) or in a forked pool;
    ``on_part`` after each part is written (the output appends it while the workers label on)."""

    def write(chunk: Chunk, size: int, per_text: tuple[pa.Table, list[tuple[int, str]]]) -> None:
        table, rejects = spread_labels(chunk, *per_text)
        write_part(parts, chunk.index, table, rejects)
        on_part()
        if progress:
            progress(size)

    if workers == 1:
        memo = new_memo(memo_bytes)
        for index, first_row, rows, rejects, size in todo:
            chunk = prepare_chunk(index, first_row, rows, rejects, text_col)
            write(chunk, size, label_columns(labeler.label_memo_all(chunk.distinct, memo)))
        return
    gc.freeze()  # the loaded models stay out of the children's garbage collection: no copy-on-write
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    # With fork the pool starts every worker at its first submit: a no-op starts them now, so
    # they are up while the first chunk is read instead of after (~10 ms of a small run)
    pool.submit(int)
    queue: deque[tuple[Chunk, int, list[np.ndarray], list[Future]]] = deque()

    def finish() -> None:
        chunk, size, positions, futures = queue.popleft()
        write(chunk, size, join_groups(positions, [f.result() for f in futures], len(chunk.distinct)))

    try:
        for index, first_row, rows, rejects, size in todo:
            chunk = prepare_chunk(index, first_row, rows, rejects, text_col)
            positions = split_texts(chunk.distinct, workers)
            futures = [pool.submit(_label_in_worker, [chunk.distinct[i] for i in pos.tolist()], memo_bytes) for pos in positions]
            queue.append((chunk, size, positions, futures))
            while len(queue) > 2:  # two chunks ahead: the workers never wait on reading
                finish()
        while queue:
            finish()
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


