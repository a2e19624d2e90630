"""The embedded Redis dies with the process that started it, however that process ends."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import gone

ROOT = Path(__file__).resolve().parents[2]

# The service's own path to the embedded server: connect() with no REDIS_URL.
OWNER = """
import sys
from nlp_service.core.config import get_settings
from nlp_service.store.redis import connect
from nlp_service.store.embedded import embedded_pid
client = connect(get_settings())
client.incr("runs")
print(embedded_pid(client), client.socket_file, client.get("runs"), flush=True)
if sys.argv[1] == "wait":
    sys.stdin.read()  # until the test ends this process
else:
    sys.stdin.readline()  # exit once the test has seen the server running (communicate() closes stdin)
"""


def _wait_gone(pid: int, tries: int = 3000) -> bool:
    """Readiness poll for the watchdog's work (it runs after the owner died); the number of
    tries only guards against a hang."""
    for _ in range(tries):
        if gone(pid):
            return True
        time.sleep(0.01)
    return False


def _default_sigint() -> None:
    # A shell runs background jobs with SIGINT ignored, and Python keeps an ignored SIGINT
    # ignored; the owner here must see Ctrl-C as an interactive process would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run_owner(var_dir: Path, mode: str) -> tuple[subprocess.Popen, int, str, int]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["NLP_SERVICE_VAR_DIR"] = str(var_dir)
    proc = subprocess.Popen(
        [sys.executable, "-c", OWNER, mode], env=env, cwd=ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=_default_sigint,
    )  # fmt: skip
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    pid, socket_file, runs = line.split()
    return proc, int(pid), socket_file, int(runs)


@pytest.mark.parametrize("end", ["exit", "sigterm", "sigint", "sigkill"])
def test_embedded_server_stops_with_its_owner(tmp_path: Path, end: str) -> None:
    # The owner always waits on stdin, so the server is seen running before the owner ends;
    # "exit" then ends it by closing stdin (communicate), a normal end of the program.
    proc, pid, socket_file, _ = _run_owner(tmp_path / "var", "wait")
    try:
        assert not gone(pid)
        if end != "exit":
            proc.send_signal({"sigterm": signal.SIGTERM, "sigint": signal.SIGINT, "sigkill": signal.SIGKILL}[end])
        proc.communicate(timeout=60)
        if end == "sigkill":
            assert _wait_gone(pid)  # the watchdog stops it once the owner is gone
        else:
            # SIGTERM became a normal exit (status 143) and SIGINT a KeyboardInterrupt
            assert proc.returncode == {"exit": 0, "sigterm": 128 + signal.SIGTERM, "sigint": -signal.SIGINT}[end]
            assert gone(pid)  # stopped before the owner exited
        assert not Path(socket_file).parent.exists()  # its socket, config and log are removed too
    finally:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_data_survives_an_owner_killed_outright(tmp_path: Path) -> None:
    proc, pid, _, runs = _run_owner(tmp_path / "var", "wait")
    assert runs == 1
    proc.kill()
    proc.wait()
    assert _wait_gone(pid)
    proc, pid, _, runs = _run_owner(tmp_path / "var", "exit")
    proc.communicate(timeout=60)
    assert runs == 2 and gone(pid)  # the append-only file kept the first run's write
