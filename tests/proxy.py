"""One address in front of several service instances, as compose.yaml's nginx puts it: a
round-robin TCP proxy on loopback for the tests (each new connection goes to the next
instance; ``to(i)`` sends the next connections to instance ``i``, so a test can say which
instance made a change and which one must see it). Bytes are copied both ways by two
threads per connection; ``close()`` stops the listener and every connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class RoundRobinProxy:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self.served: list[int] = []  # the instance each accepted connection went to, in order
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # the accept loop looks at _stopping this often
        self.port = self._listener.getsockname()[1]
        self._next = 0
        self._pinned: int | None = None
        self._stopping = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._start(self._accept)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @contextmanager
    def to(self, index: int) -> Iterator[None]:
        """New connections made inside the block go to instance ``index``."""
        self._pinned = index
        try:
            yield
        finally:
            self._pinned = None

    def _start(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(t)
        t.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._pinned is not None:
                index = self._pinned
            else:
                index, self._next = self._next, (self._next + 1) % len(self.backends)
            self.served.append(index)
            try:
                upstream = socket.create_connection(self.backends[index], timeout=30)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            self._start(_pump, client, upstream)
            self._start(_pump, upstream, client)

    def close(self) -> None:
        self._stopping.set()
        self._listener.close()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in threads:
            t.join(timeout=10)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass
