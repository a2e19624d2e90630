"""The ``nlp-service`` command. Thin: parses options and calls the library functions."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import click
import typer
from rich.console import Console
from typer.core import TyperArgument, TyperCommand, TyperGroup

from nlp_service.core.errors import NlpServiceError

if TYPE_CHECKING:
    from nlp_service.moderation.classifier import ModerationClassifier

RESUME_HINT = "interrupted: run the same command with --resume to continue after the last finished chunk"


class _Argument(TyperArgument):
    """An argument shown the way click shows one: its metavar (``FILE``, ``[TEXT]...``) in the
    usage line and the help, not typer's ``{input}`` and ``<path>``."""

    def _usage_display_name(self) -> str:
        name = self.metavar or self.name.upper()
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def _rich_display_name(self) -> str:
        return (self.metavar or self.name.upper()) + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: click.Context) -> str | None:
        return None


def _conventional(params: list[click.Parameter]) -> list[click.Parameter]:
    for param in params:
        if isinstance(param, TyperArgument) and not isinstance(param, _Argument):
            param.__class__ = _Argument
        elif isinstance(param, click.Option) and param.is_flag and param.metavar is None:
            param.metavar = ""  # a flag takes no value: no ``<bool>`` beside it
    return params


class _Command(TyperCommand):
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return _conventional(super().get_params(ctx))  # the help option is made here


class _Group(TyperGroup):
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return _conventional(super().get_params(ctx))


# Boxes, colours and rich tracebacks for a person at a terminal; plain click-style help and
# errors when the output goes to a pipe, a file or a log.
_TERMINAL = sys.stdout.isatty() and sys.stderr.isatty()
app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    help="The comment brain for live-stream e-commerce rooms.",
    context_settings={"help_option_names": ["-h", "--help"]},  # on every command too
    rich_markup_mode="rich" if _TERMINAL else None,
    pretty_exceptions_enable=_TERMINAL,
)
command = partial(app.command, cls=_Command)
err = Console(stderr=True)  # rich drops colour codes by itself when stderr is not a terminal


def _print_version(value: bool) -> None:
    if value:
        from nlp_service import __version__

        typer.echo(f"nlp-service {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """The comment brain for live-stream e-commerce rooms."""


def _fail(exc: Exception) -> None:
    from rich.markup import escape

    err.print(f"[red]error:[/red] {escape(str(exc))}")  # a message's [brackets] are text, not markup
    raise typer.Exit(2)


def _require(extra: str, *modules: str) -> None:
    """Serving installs what serving needs; training, archives, reports and Dask are extras
    (pyproject.toml). Say which one to install instead of a traceback."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        _fail(RuntimeError(f"this command needs {', '.join(missing)}: pip install 'nlp-service[{extra}]'"))


@command()
def analyze(
    texts: Annotated[list[str] | None, typer.Argument(help="comments; read one per line from stdin when omitted", metavar="TEXT")] = None,
    pretty: Annotated[bool, typer.Option(help="indent the JSON")] = False,
) -> None:
    """Analyse comments and print one JSON object per comment (JSON Lines)."""
    from nlp_service.analysis import Analyzer

    try:
        analyzer = Analyzer.load()
    except NlpServiceError as exc:
        _fail(exc)
    source = texts if texts else (line.rstrip("\n") for line in sys.stdin)
    for i, text in enumerate(source):
        try:
            out = analyzer.analyze(text).to_dict()
        except NlpServiceError as exc:
            out = {"index": i, "text": text, "error": {"type": getattr(exc, "reason", "error"), "message": str(exc)}}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2 if pretty else None))


@command()
def train(
    only: Annotated[str | None, typer.Option(help="train just one model", metavar="[sentiment|intent|moderation]")] = None,
) -> None:
    """Rebuild the model artifacts in models/ (deterministic) and their model cards."""
    _require("train", "sklearn")
    from nlp_service.classify import training
    from nlp_service.moderation.training import train_moderation

    steps = {"sentiment": training.train_sentiment, "intent": training.train_intent, "moderation": train_moderation}
    if only is not None and only not in steps:
        _fail(ValueError(f"--only must be one of {sorted(steps)}, got {only!r}"))
    try:
        for name, step in steps.items():
            if only in (None, name):
                result = step(log=err.print)
                for split_name, m in result.metrics.items():
                    if "accuracy" in m:
                        typer.echo(f"{name}: {split_name}: accuracy {m['accuracy']:.4f} macro-F1 {m['macro_f1']:.4f} (n={m['n']})")
                    else:  # moderation: per-category precision/recall at the chosen threshold
                        typer.echo(f"{name}: {split_name}: precision {m['precision']:.4f} recall {m['recall']:.4f} (n={m['support']})")
                typer.echo(f"{name}: weights hash {result.weights_hash}")
    except NlpServiceError as exc:
        _fail(exc)


@command("eval")
def evaluate(
    data: Annotated[Path | None, typer.Option(help="a public text,label CSV to evaluate on (evaluation only)", metavar="FILE")] = None,
    baseline: Annotated[bool, typer.Option(help="score SnowNLP on the same rows")] = True,
    limit: Annotated[int | None, typer.Option(help="evaluate at most this many rows of --data", metavar="INTEGER")] = None,
    moderation_model: Annotated[bool, typer.Option(help="moderate with the trained classifier (off: word lists alone)")] = True,
) -> None:
    """Accuracy, macro-F1, per-class report and confusion matrix, ours beside SnowNLP;
    moderation precision/recall per category; with --data, a public set (a safe/offensive
    set such as COLD is scored for moderation, a positive/negative set for sentiment)."""
    _require("train", "sklearn", "snownlp")
    from nlp_service.classify import evaluate as ev

    if data is not None and _is_offensive_set(data):
        _eval_moderation_public(data, limit, moderation_model)
        return
    try:
        if data is None:
            sections = ev.evaluate_all(baseline=baseline, log=err.print)
        else:
            sections, counts = ev.evaluate_public(data, baseline=baseline, limit=limit)
            typer.echo(
                f"{data.name}: {counts['rows']} rows, {counts['dropped_in_training_data']} dropped because their "
                f"text is in our training data, {counts['evaluated']} evaluated"
            )
    except NlpServiceError as exc:
        _fail(exc)
    for title, m in sections:
        typer.echo(f"\n== {title}\naccuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  n={m['n']}")
        typer.echo(m["report"].rstrip())
        typer.echo(ev.format_confusion(m))
    if data is None:
        _eval_moderation_own(moderation_model)
    elif "neutral" in _labels_of(data):
        _eval_moderation_chatter(data, limit, moderation_model)


def _labels_of(path: Path) -> set[str]:
    """The distinct values of a CSV's ``label`` column (empty when it has none)."""
    import csv

    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return {(row.get("label") or "").strip() for row in csv.DictReader(fh)} - {""}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        _fail(exc)


def _is_offensive_set(path: Path) -> bool:
    return bool(_labels_of(path) & {"safe", "offensive"})


def _moderation_model(use: bool) -> ModerationClassifier | None:
    from nlp_service.core.config import get_settings
    from nlp_service.moderation.classifier import load

    model = load(get_settings().models_dir) if use else None
    err.print(f"moderation: {'word lists + classifier' if model else 'word lists alone'}")
    return model


def _eval_moderation_own(use_model: bool = True) -> None:
    from nlp_service.analysis import Analyzer
    from nlp_service.moderation.evaluate import evaluate_own

    try:
        result = evaluate_own(Analyzer.load(), classifier=_moderation_model(use_model))
    except NlpServiceError as exc:
        _fail(exc)
    typer.echo("\n== moderation · data/moderation/eval/labelled.tsv (written independently of the word lists)")
    typer.echo(f"{'category':15s} {'precision':>9s} {'recall':>7s} {'f1':>6s} {'support':>7s} {'evasion recall':>15s}")
    for c, m in result["categories"].items():
        ev_r = "-" if m["evasion_recall"] is None else f"{m['evasion_recall']:.3f} (n={m['evasion_support']})"
        typer.echo(f"{c:15s} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:6.3f} {m['support']:7d} {ev_r:>15s}")
    typer.echo(f"harmless comments flagged: {result['harmless_flagged']} of {result['harmless_total']} ({result['clean_flagged_share']:.1%}; target ≤ 5 %)")
    typer.echo(f"harmful comments flagged at all (flag recall): {result['flag_recall']:.3f} (target ≥ 0.90)")


def _eval_moderation_chatter(data: Path, limit: int | None, use_model: bool = True) -> None:
    from nlp_service.analysis import Analyzer
    from nlp_service.moderation.evaluate import evaluate_chatter

    try:
        result = evaluate_chatter(Analyzer.load(), data, limit, _moderation_model(use_model))
    except NlpServiceError as exc:
        _fail(exc)
    typer.echo(f"\n== moderation · chatter (label neutral) of {data.name}: {result['chatter_rows']} rows")
    typer.echo(f"flagged {result['flagged_share']:.2%} (target ≤ 2 %), blocked {result['blocked_share']:.2%} (target ≤ 0.2 %)")
    for ex in result["flagged"][:20]:
        typer.echo(f"  {ex['action']:6s} {','.join(ex['categories']):20s} {ex['text'][:60]}")


def _eval_moderation_public(data: Path, limit: int | None, use_model: bool = True) -> None:
    from nlp_service.analysis import Analyzer
    from nlp_service.moderation.evaluate import evaluate_offensive

    try:
        result = evaluate_offensive(Analyzer.load(), data, limit, _moderation_model(use_model))
    except NlpServiceError as exc:
        _fail(exc)
    typer.echo(f"== moderation · {data.name} (evaluation only), {result['rows']} rows")
    typer.echo(json.dumps({k: v for k, v in result.items() if k != "rows"}, ensure_ascii=False, indent=2))


@command()
def serve(
    host: Annotated[str, typer.Option(envvar="NLP_SERVICE_HOST", help="address to listen on (0.0.0.0: every interface)", metavar="TEXT")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="NLP_SERVICE_PORT", help="TCP port", metavar="INTEGER")] = 8000,
    workers: Annotated[int, typer.Option(envvar="NLP_SERVICE_WORKERS", min=1, help="worker processes", metavar="INTEGER")] = 1,
) -> None:
    """Start the HTTP API (uvicorn). Without REDIS_URL an embedded Redis is started first.
    With several workers, one master loads everything and forks them (api/prefork.py)."""
    import os
    import shutil

    from nlp_service.core.config import get_settings
    from nlp_service.core.multiproc import enable_multiprocess

    settings = get_settings()
    metrics_dir = settings.var_dir / "metrics" / str(os.getpid())
    if workers > 1:  # /metrics sums every worker's values; set before prometheus-client is imported
        enable_multiprocess(metrics_dir)

    from nlp_service.store.embedded import embedded_pid, stop_embedded
    from nlp_service.store.redis import connect, embedded_url

    if not settings.redis_url:
        client = connect(settings)  # start the embedded server once, share it with workers
        url = embedded_url(client)
        if url:
            os.environ["REDIS_URL"] = url
            get_settings.cache_clear()
        err.print(f"embedded Redis (pid {embedded_pid(client)}) at {url} (data in {settings.var_dir})")
    from nlp_service.api.server import PROTOCOL  # httptools with a bound on request heads (431)

    APP = "nlp_service.console.app:create_app"  # the /v1 API with the console pages
    status = 0
    options = {"log_level": "info", "http": PROTOCOL}  # uvicorn's options, the same for one worker and for N
    try:
        if workers > 1:
            from nlp_service.api.prefork import Prefork

            status = Prefork(get_settings(), host, port, workers, uvicorn_options=options, app_factory=APP).run()
        else:
            import uvicorn

            uvicorn.run(APP, factory=True, host=host, port=port, **options)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        stop_embedded()  # after the workers are gone (also on exit or SIGTERM: store/embedded.py)
    if status:
        raise typer.Exit(status)


@command()
def replay(
    file: Annotated[Path, typer.Argument(help="JSONL comments: id, room, user, nickname, text, ts", metavar="FILE")],
    room: Annotated[str | None, typer.Option(help="send every comment to this room", metavar="TEXT")] = None,
    speed: Annotated[float, typer.Option(help="1 = real time, 10 = ten times faster, 0 = as fast as possible", metavar="FLOAT")] = 10.0,
    url: Annotated[str, typer.Option(envvar="NLP_SERVICE_URL", help="the running service", metavar="URL")] = "http://127.0.0.1:8000",
    key: Annotated[str, typer.Option(envvar="NLP_SERVICE_API_KEY", help="a bot or admin key", metavar="TEXT")] = "",
    quiet: Annotated[bool, typer.Option(help="print only the summary")] = False,
    log: Annotated[Path | None, typer.Option(help="write every result (id, reply, reason) as JSONL: the reply log for `report --replies`", metavar="FILE")] = None,
) -> None:
    """Stream a recorded room through a running service and print the bot's replies."""
    import datetime as dt

    from nlp_service import replay as rp

    if not key:
        _fail(ValueError("give an API key with --key or NLP_SERVICE_API_KEY"))
    try:
        comments = rp.read_comments(file, room)
    except (OSError, ValueError) as exc:
        _fail(exc)
    summary = rp.ReplaySummary()
    log_file = log.open("w", encoding="utf-8") if log else None
    with rp.connect(url, key) as http:
        for comment, reply in rp.replay(comments, http, speed=speed, summary=summary, log=log_file):
            if not quiet:
                when = dt.datetime.fromtimestamp(comment.get("ts", 0) / 1000).strftime("%H:%M:%S")
                typer.echo(f"[{when}] {comment.get('nickname') or comment['user']}: {comment['text']}\n    bot → {reply['text']}")
    if log_file:
        log_file.close()
    typer.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))


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
    import os

    from nlp_service.batch.score import ScoreOptions, score_file

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


if __name__ == "__main__":  # pragma: no cover
    app()
