"""Commands on the live service: ``serve`` the HTTP API, ``replay`` a recorded room into it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nlp_service.cli.base import _fail, command, err


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

