"""`nlp-service serve --workers N`: one master loads and forks N workers (api/prefork.py).

Started for real (a subprocess with the embedded Redis), so the tests see what an operator
sees: N workers that are children of the master, /metrics summing them all, a worker that
dies replaced, and SIGTERM or SIGINT leaving no process behind (workers and Redis alike).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess

import httpx
import psutil
import pytest

from tests.processes import gone, poll, serve_env, start_serve


def _workers(master: psutil.Process) -> list[psutil.Process]:
    """The forked workers: children that run the master's own command line."""
    cmd = master.cmdline()
    found = []
    for child in master.children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and child.cmdline() == cmd:
                found.append(child)
        except psutil.Error:  # ended (or a zombie not yet reaped) while we looked
            continue
    return found


@pytest.fixture
def prefork(tmp_path):
    proc, url, log = start_serve(tmp_path, serve_env(tmp_path), "--workers", "2")
    master = psutil.Process(proc.pid)

    def ready() -> bool:
        try:
            return proc.poll() is not None or (httpx.get(url + "/readyz", timeout=1).status_code == 200 and len(_workers(master)) == 2)
        except (httpx.HTTPError, psutil.Error):
            return False

    try:
        poll(ready)
        log.seek(0)
        output = log.read()
        assert proc.poll() is None, output
        redis_pid = int(re.search(r"embedded Redis \(pid (\d+)\)", output).group(1))
        yield proc, master, url, redis_pid, log
    finally:
        if proc.poll() is None:
            proc.kill()  # only after a failed assertion: the tests stop it themselves
            proc.wait(timeout=30)
        log.close()


def _stops_cleanly(proc: subprocess.Popen, workers: list[psutil.Process], redis_pid: int, signum: int) -> None:
    proc.send_signal(signum)
    assert proc.wait(timeout=60) == 0
    assert all(gone(w.pid) for w in workers)  # no worker left behind
    assert gone(redis_pid)  # and the embedded Redis stopped after them


def test_workers_are_forked_after_loading_and_metrics_sum_them(prefork) -> None:
    proc, master, url, redis_pid, log = prefork
    workers = _workers(master)
    assert len(workers) == 2 and all(w.ppid() == master.pid for w in workers)
    for _ in range(30):  # a new connection each: the kernel hands them to either worker
        assert httpx.get(url + "/healthz").status_code == 200
    text = httpx.get(url + "/metrics").text
    served = re.search(r'nlp_http_requests_total\{method="GET",route="/healthz",status="200"\} (\d+)', text)
    assert served and float(served.group(1)) == 30  # summed over the workers, whichever served
    log.seek(0)
    assert "forked 2 workers after loading" in log.read()
    _stops_cleanly(proc, workers, redis_pid, signal.SIGTERM)


def _port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def test_each_worker_accepts_on_a_socket_of_its_own_and_connections_spread(prefork) -> None:
    proc, master, url, redis_pid, _log = prefork
    port = _port_of(url)
    workers = _workers(master)
    listening = [[os.readlink(f"/proc/{w.pid}/fd/{c.fd}") for c in w.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.laddr.port == port] for w in workers]
    assert all(len(inodes) == 1 for inodes in listening) and listening[0] != listening[1]  # each its own socket (SO_REUSEPORT)
    # 32 connections held open: a shared socket let the first worker awake take nearly all;
    # spread by the kernel's hash, all 32 on one worker has a chance of 2 ** -31
    conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(32)]
    try:
        def held() -> list[int]:
            return [sum(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port for c in w.net_connections("tcp")) for w in workers]

        assert poll(lambda: sum(held()) == 32)
        assert min(held()) > 0
    finally:
        for conn in conns:
            conn.close()
    _stops_cleanly(proc, workers, redis_pid, signal.SIGTERM)


def test_a_dead_worker_is_replaced_and_sigint_stops_everything(prefork) -> None:
    proc, master, url, redis_pid, _log = prefork
    first, second = _workers(master)
    first.kill()
    assert poll(lambda: first.pid not in {w.pid for w in _workers(master)} and len(_workers(master)) == 2)
    assert httpx.get(url + "/readyz").status_code == 200
    workers = _workers(master)
    assert second.pid in {w.pid for w in workers}
    # the replacement took over the dead worker's socket: connections hashed to it are served
    for _ in range(30):  # a new connection each
        assert httpx.get(url + "/healthz", timeout=30).status_code == 200
    _stops_cleanly(proc, workers, redis_pid, signal.SIGINT)
