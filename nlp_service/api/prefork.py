"""``nlp-service serve --workers N``: load once, bind once, fork N uvicorn servers.

uvicorn's own ``--workers`` spawns fresh interpreters, and each loaded jieba's table, the
models, the word lists and pypinyin's dictionaries again (about 380 MB a worker before the
tables moved to C). Here one master process loads everything the workers only read (the
analyzer, the moderation classifier, the base word lists, the standard answers), binds the
listening socket, and then forks: the workers share those pages copy-on-write. The C
tables and the numpy arrays stay shared because reading them writes nothing;
``gc.freeze()`` before the fork keeps the collector from writing into the headers of the
Python objects (reference counts still dirty the pages of objects a worker touches).

Each worker listens on a socket of its own, all bound to the same port with ``SO_REUSEPORT``,
so the kernel spreads new connections over the workers by their addresses. With one shared
socket, whichever worker woke first accepted everything pending: 29 of wrk's 32 connections
went to one worker of two, which then carried the load alone while the other idled. A dead
worker's socket stays open in the master, and its replacement takes it over (connections that
arrive meanwhile wait in its backlog). Where the platform has no ``SO_REUSEPORT``, or for a
Unix socket or an inherited descriptor, the workers share uvicorn's one socket as before.

The master serves nothing itself. SIGTERM or SIGINT to it: SIGTERM to every worker
(uvicorn's graceful shutdown: in-flight requests finish), a wait of ``grace_seconds``,
SIGKILL for what is left, every worker reaped; then it returns. A worker that dies on its
own is replaced (at most ``max_restarts`` a minute, then the master stops: a worker that
cannot start would otherwise be forked forever). A worker asks the kernel for SIGTERM when
the master dies (``PR_SET_PDEATHSIG``), so a killed master leaves no worker behind.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nlp_service.analysis import Analyzer
from nlp_service.core.config import Settings
from nlp_service.core.metrics import multiprocess_values
from nlp_service.moderation.classifier import load as load_classifier
from nlp_service.moderation.detect import moderate
from nlp_service.moderation.lists import load_base_lexicon, load_replies

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("uvicorn.error")  # the server's own log, formatted like uvicorn's lines

_PR_SET_PDEATHSIG = 1
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
# Comments that walk every loaded table once (normalisation memo, pinyin readings, keyword
# weights), so that what they fill is filled in the master and shared too.
_WARM_UP = ("主播晚上好，几号链接？", "福袋几点开", "加薇信领福利 vx123456", "这衣服质量太差了，避雷", "666 哈哈哈哈 👍")


def preload(settings: Settings) -> Analyzer:
    """Load everything a worker reads (cached where the loaders cache) and warm it up."""
    analyzer = Analyzer.load(settings)
    lexicon = load_base_lexicon(settings.data_dir)
    replies = load_replies(settings.data_dir)
    classifier = load_classifier(settings.models_dir)
    for text in _WARM_UP:
        moderate(analyzer.analyze(text), lexicon, replies, classifier=classifier)
    return analyzer


@dataclass
class Prefork:
    """The master: :meth:`run` forks the workers and supervises them until told to stop."""

    settings: Settings
    host: str
    port: int
    workers: int
    uvicorn_options: dict = field(default_factory=lambda: {"log_level": "info"})  # uvicorn.Config keywords, as serve passes them
    # "module:function" of the app factory (it takes settings and analyzer): serve passes the
    # console's, which adds pages to this API; a string, so this layer never imports the one above
    app_factory: str = "nlp_service.api.app:create_app"
    grace_seconds: float = 30.0
    max_restarts: int = 5  # per minute
    poll_seconds: float = 0.2
    children: dict[int, socket.socket] = field(default_factory=dict)  # pid → the socket it accepts on
    stopping: bool = False
    _restarts: list[float] = field(default_factory=list)
    _factory: Callable[..., object] | None = None  # the imported app_factory (run)
    _sockets: list[socket.socket] = field(default_factory=list)  # one per worker, or one shared (run)

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT; returns the exit status (0, or 1 after a crash loop)."""
        import uvicorn

        if self.workers > 1 and not multiprocess_values():
            raise RuntimeError("set PROMETHEUS_MULTIPROC_DIR (core/multiproc.enable_multiprocess) before importing the app")
        from uvicorn.importer import import_from_string

        self._factory = import_from_string(self.app_factory)  # imported once here, shared by the workers
        analyzer = preload(self.settings)
        self._sockets = listening_sockets(uvicorn.Config(self.app_factory, host=self.host, port=self.port, **self.uvicorn_options), self.workers)
        gc.collect()
        gc.freeze()  # everything loaded so far lives as long as the processes
        previous = {s: signal.signal(s, self._on_signal) for s in _STOP_SIGNALS}
        status = 0
        try:
            for i in range(self.workers):
                self._fork(self._sockets[i % len(self._sockets)], analyzer)
            log.info("nlp-service: master %d forked %d workers after loading", os.getpid(), self.workers)
            status = self._supervise(analyzer)
        finally:
            self._stop_all()
            for s, handler in previous.items():
                signal.signal(s, handler)
            for sock in self._sockets:
                sock.close()
        return status

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stopping = True
        self._signal_all(signal.SIGTERM)

    def _signal_all(self, signum: int) -> None:
        for pid in list(self.children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def _fork(self, sock: socket.socket, analyzer: Analyzer) -> None:
        master = os.getpid()
        # Signals wait until the worker has its own handlers: one that reached the copy of the
        # master's handler in the new worker would be swallowed there (and the worker live on).
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the master's code (os._exit)
            self.children = {}
            for other in self._sockets:  # the other workers' sockets are theirs to accept on
                if other is not sock:
                    other.close()
            for s in _STOP_SIGNALS:
                signal.signal(s, signal.SIG_DFL)  # uvicorn installs its own while serving
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # one sent meanwhile ends it now
            status = 1
            try:
                status = self._worker(sock, analyzer, master)
            except BaseException:  # noqa: BLE001 - logged, then the worker exits
                log.exception("nlp-service worker %d failed", os.getpid())
            finally:
                os._exit(status)  # not sys.exit: the master's atexit hooks (embedded Redis) are not ours
        self.children[pid] = sock
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def _worker(self, sock: socket.socket, analyzer: Analyzer, master: int) -> int:
        import uvicorn

        _die_with_parent()
        if os.getppid() != master:  # the master died between fork and prctl
            return 0
        config = uvicorn.Config(self._factory(self.settings, analyzer=analyzer), host=self.host, port=self.port, **self.uvicorn_options)
        try:
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            from nlp_service.api.accesslog import flush_all

            flush_all()  # access lines of the last loop turn: os._exit runs no atexit hook
        return 0

    def _supervise(self, analyzer: Analyzer) -> int:
        while not self.stopping:
            for pid in list(self.children):
                done, status = os.waitpid(pid, os.WNOHANG)
                if not done:
                    continue
                sock = self.children.pop(pid)  # the replacement takes over the dead worker's socket
                if self.stopping:
                    break
                now = time.monotonic()
                self._restarts = [t for t in self._restarts if now - t < 60] + [now]
                if len(self._restarts) > self.max_restarts:
                    log.error("nlp-service: workers keep dying (%d in a minute); stopping", len(self._restarts))
                    return 1
                log.warning("nlp-service: worker %d ended (status %d); forking a new one", pid, status)
                self._fork(sock, analyzer)
            time.sleep(self.poll_seconds)
        return 0

    def _stop_all(self) -> None:
        """SIGTERM, a grace period, SIGKILL; every worker reaped."""
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        while self.children:
            for pid in list(self.children):
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    del self.children[pid]
            if not self.children:
                break
            if time.monotonic() > deadline:
                self._signal_all(signal.SIGKILL)
                deadline = float("inf")  # SIGKILL cannot be ignored: the next rounds reap them
            time.sleep(0.05)


def listening_sockets(config: uvicorn.Config, workers: int) -> list[socket.socket]:
    """One socket per worker, bound to the same address with ``SO_REUSEPORT`` (the kernel
    balances new connections over them); uvicorn's one socket where that cannot be (one
    worker, no ``SO_REUSEPORT``, a Unix socket or a descriptor). Logs uvicorn's line."""
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT") or config.uds is not None or config.fd is not None:
        return [config.bind_socket()]
    ipv6 = ":" in config.host
    sockets: list[socket.socket] = []
    port = config.port
    try:
        for _ in range(workers):
            sock = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((config.host, port))
            port = sock.getsockname()[1]  # port 0: the others join the port the first one got
            sock.set_inheritable(True)
    except OSError as exc:  # as uvicorn's bind_socket answers an address in use
        from uvicorn.main import STARTUP_FAILURE

        for sock in sockets:
            sock.close()
        log.error(exc)
        sys.exit(STARTUP_FAILURE)
    address = "%s://[%s]:%d" if ipv6 else "%s://%s:%d"
    log.info(f"Uvicorn running on {address} (Press CTRL+C to quit)", "https" if config.is_ssl else "http", config.host, port)
    return sockets


def _die_with_parent() -> None:
    """Ask Linux for SIGTERM when the master dies (no effect elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
