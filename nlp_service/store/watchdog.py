"""Stops an embedded redis-server when the process that owns it dies, however it dies.

Also the one place that knows how to stop the server: ``store/embedded.py`` calls
:func:`stop` when its process ends normally. Run by it as ``python watchdog.py PID SOCKET TEMP_DIR`` with its stdin
a pipe whose other end only the owner holds. The read returns when the pipe closes: the
owner stopped the server itself (then there is nothing left to do) or died without doing
so (SIGKILL, OOM killer). Standard library only: it must start fast and import nothing of
the service.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sys
import time

STOP_WAIT_SECONDS = 10.0


def is_redis(pid: int) -> bool:
    """The pid is still that redis-server (not gone, not a zombie, not a reused pid)."""
    if not os.path.isdir("/proc/self"):  # no procfs (macOS): the pid exists, launchd reaps
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # it exists, owned by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                return False
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"redis-server" in f.read()
    except (OSError, IndexError):
        return False


def _shutdown(socket_file: str) -> None:
    # a raw socket rather than redis-py: the client retries with backoff when the server
    # hangs up, which is exactly what SHUTDOWN does (3.7 s per stop, measured)
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
        s.settimeout(2)
        s.connect(socket_file)
        s.sendall(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
        s.recv(1024)  # the server closes the connection as it goes


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while is_redis(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def stop(pid: int, socket_file: str | None, temp_dir: str | None) -> None:
    """SHUTDOWN NOSAVE (the append-only file keeps the writes), SIGKILL if the server is
    still there after that, then remove its temporary directory."""
    if is_redis(pid):
        if socket_file:
            _shutdown(socket_file)
            _wait_gone(pid)
        if is_redis(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
    if temp_dir:
        shutil.rmtree(temp_dir, ignore_errors=True)


def main(pid: int, socket_file: str, temp_dir: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # outlive the owner long enough to clean up
    sys.stdin.buffer.read()  # returns when the owner closes the pipe or dies
    stop(pid, socket_file, temp_dir)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
