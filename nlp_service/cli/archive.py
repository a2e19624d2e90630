"""Commands on archives: ``score`` one (locally or on Dask), ``report`` on it, write a
``demo-archive``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from nlp_service.cli.base import _fail, _require, command, err
from nlp_service.core.errors import NlpServiceError

RESUME_HINT = "interrupted: run the same command with --resume to continue after the last finished chunk"


@command()
def score(
    input: Annotated[Path, typer.Argument(help="archive: .csv, .jsonl or .parquet", metavar="FILE")],
    output: Annotated[Path, typer.Option("-o", "--output", help="scored file: .csv, .jsonl or .parquet", metavar="FILE")],
    format: Annotated[str | None, typer.Option("--format", help="input format when the extension does not say", metavar="[csv|jsonl|parquet]")] = None,
    output_format: Annotated[str | None, typer.Option(help="output format when the extension does not say", metavar="[csv|jsonl|parquet]")] = None,
    text_col: Annotated[str, typer.Option(help="column with the comment text", metavar="TEXT")] = "text",
    time_col: Annotated[str, typer.Option(help="column with the comment time", metavar="TEXT")] = "ts",
    room_col: Annotated[str, typer.Option(help="column with the room", metavar="TEXT")] = "room",
    user_col: Annotated[str, typer.Option(help="column with the user", metavar="TEXT")] = "user",
    workers: Annotated[int, typer.Option(help="processes; 0: every core", envvar="NLP_SERVICE_WORKERS", metavar="INTEGER")] = 0,
    chunk_rows: Annotated[int, typer.Option(help="rows per chunk", min=100, metavar="INTEGER")] = 20_000,
    resume: Annotated[bool, typer.Option(help="continue an interrupted run, skipping finished chunks")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    engine: Annotated[Literal["local", "dask"], typer.Option(help="local (processes on this machine) or dask", metavar="[local|dask]")] = "local",
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (tcp://host:8786); none starts a local cluster", metavar="URL")] = None,
) -> None:
    """Label every comment of an archive (sentiment, intent, keywords, moderation)."""
    _require("batch", "pyarrow")
    import atexit
    import gc
    import os

    from nlp_service.batch.score import ScoreOptions, score_file

    # Wind-down: the interpreter's finalisation runs full collections over everything still
    # loaded (models, word lists, the label memo): ~70 ms of a 0.6 s run on a small archive.
    # Frozen objects are skipped by those passes (and still freed); atexit runs it only when
    # the process ends, so an in-process caller (tests, CliRunner) keeps its collector.
    atexit.unregister(gc.freeze)  # once per process, however many runs
    atexit.register(gc.freeze)

    if engine == "dask":
        _require("dask", "dask", "distributed")
        from nlp_service.batch.dask_engine import score_file_dask

        try:
            summary = score_file_dask(input, output, text_col, scheduler, format, output_format, workers or os.cpu_count() or 1)
        except NlpServiceError as exc:
            _fail(exc)
        typer.echo(json.dumps(summary.to_dict(), ensure_ascii=False))
        return

    options = ScoreOptions(
        text_col=text_col, time_col=time_col, room_col=room_col, user_col=user_col, in_format=format,
        out_format=output_format, chunk_rows=chunk_rows, workers=workers or os.cpu_count() or 1, resume=resume,
    )  # fmt: skip
    show = not quiet and err.is_terminal
    try:
        if show:
            import time

            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            total = _count_rows(input)
            columns = (TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]} rows/s"),
                       TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())  # fmt: skip
            started = time.perf_counter()
            with Progress(*columns, console=err, transient=False) as bar:
                task = bar.add_task("score", total=total, rate="-")

                def advance(n: int) -> None:
                    bar.advance(task, n)
                    done = bar.tasks[0].completed
                    bar.update(task, rate=f"{done / max(1e-9, time.perf_counter() - started):,.0f}")

                summary = score_file(input, output, options, progress=advance)
        else:
            summary = score_file(input, output, options)
    except NlpServiceError as exc:
        _fail(exc)
    except KeyboardInterrupt:  # finished chunks are on disk: say how to keep them
        err.print(RESUME_HINT, highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None  # 128 + SIGINT, as a shell reports it
    typer.echo(json.dumps(summary.to_dict(), ensure_ascii=False))


@command()
def report(
    scored: Annotated[Path, typer.Argument(help="output of `nlp-service score`", metavar="FILE")],
    output: Annotated[Path, typer.Option("-o", "--output", help="report.html (report.json is written beside it)", metavar="FILE")] = Path("report.html"),
    replies: Annotated[Path | None, typer.Option(help="reply log: JSONL of /v1/reply results (id, reply, reason)", metavar="FILE")] = None,
    format: Annotated[str | None, typer.Option("--format", help="format of the scored file when the extension does not say", metavar="[csv|jsonl|parquet]")] = None,
    time_col: Annotated[str, typer.Option(help="column with the comment time", metavar="TEXT")] = "ts",
    room_col: Annotated[str, typer.Option(help="column with the room", metavar="TEXT")] = "room",
    user_col: Annotated[str, typer.Option(help="column with the user", metavar="TEXT")] = "user",
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone of the clock times in the report", metavar="TEXT")] = "Asia/Shanghai",
) -> None:
    """Write a self-contained HTML report with charts, and report.json with the same figures."""
    _require("report", "pyarrow", "plotly")
    from nlp_service.batch.report import write_report

    try:
        data = write_report(scored, output, replies, format, time_col=time_col, room_col=room_col, user_col=user_col, tz=tz)
    except (NlpServiceError, OSError) as exc:
        _fail(exc)
    typer.echo(json.dumps({"html": str(output), "json": str(output.with_suffix(".json")), "summary": data["summary"]}, ensure_ascii=False))


@command("demo-archive")
def demo_archive(
    output: Annotated[Path, typer.Option("-o", "--output", help=".parquet, .csv or .jsonl", metavar="FILE")],
    rows: Annotated[int, typer.Option(help="about this many comments", min=1000, metavar="INTEGER")] = 200_000,
    rooms: Annotated[int, typer.Option(min=1, max=8, help="rooms in the archive", metavar="INTEGER")] = 3,
    seed: Annotated[int, typer.Option(help="random seed: the same seed writes the same archive", metavar="INTEGER")] = 7,
) -> None:
    """Write a realistic synthetic archive (two hours, a few rooms, planted events)."""
    _require("batch", "pyarrow")
    from nlp_service.batch import demo

    try:
        n = demo.write_archive(output, rows=rows, rooms=rooms, seed=seed)
    except NlpServiceError as exc:
        _fail(exc)
    typer.echo(json.dumps({"output": str(output), "rows": n, "rooms": rooms, "minutes": demo.MINUTES,
                           "events": {"product_launch": demo.LAUNCH_MINUTE, "coupon": demo.COUPON_MINUTE,
                                      "lottery": demo.LOTTERY_MINUTE, "shipping_complaints": demo.COMPLAINT_SPIKE_MINUTE}}))


def _count_rows(path: Path) -> int | None:
    """Rows in the archive for the progress bar (cheap for Parquet; a byte scan otherwise)."""
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        with path.open("rb") as fh:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        return max(0, lines - (1 if path.suffix.lower() == ".csv" else 0))
    except OSError:
        return None

