"""/metrics with several workers: every worker's counts are summed (multiprocess mode)."""

import os
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families


def _run(code: str, env: dict) -> str:
    return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True, timeout=60).stdout


def test_counts_of_two_worker_processes_are_summed(tmp_path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (2, 3):  # two "workers", each counting on its own
        _run(f"from nlp_service.core import metrics; metrics.COMMENTS.inc({n}); metrics.REPLY_BATCH.observe(4)", env)
    out = _run("import sys; from nlp_service.core.metrics import exposition; sys.stdout.write(exposition()[0].decode())", env)
    samples = {s.name: s.value for f in text_string_to_metric_families(out) for s in f.samples if not s.labels.get("le")}
    assert samples["nlp_comments_total"] == 5
    assert samples["nlp_reply_batch_comments_count"] == 2


def test_one_process_reads_its_own_registry() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    out = _run(
        "import sys; from nlp_service.core import metrics; metrics.COMMENTS.inc(7); sys.stdout.write(metrics.exposition()[0].decode())",
        env,
    )
    samples = {s.name: s.value for f in text_string_to_metric_families(out) for s in f.samples}
    assert samples["nlp_comments_total"] == 7


def test_a_forked_worker_writes_its_own_values_with_the_cached_process_id(tmp_path) -> None:
    """The process id prometheus-client checks on every update is cached (core/metrics._Pid) and
    renewed at a fork: a master that counted, then forked workers that count, gives one file per
    process and the sum of all (a stale id would make the workers write the master's file)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    code = """
import os, sys
from prometheus_client import values
from nlp_service.core import metrics
metrics.COMMENTS.inc(1)
children = []
for n in (2, 3):
    pid = os.fork()
    if pid == 0:
        ok = metrics._Pid.get() == os.getpid() and values.ValueClass is not values.MutexValue
        metrics.COMMENTS.inc(n)
        metrics.HTTP_LATENCY.labels("POST", "/v1/reply").observe(0.003)
        os._exit(0 if ok else 3)
    children.append(pid)
statuses = [os.waitpid(pid, 0)[1] for pid in children]
sys.stdout.write(repr((os.getpid(), children, statuses)))
"""
    master, children, statuses = eval(_run(code, env))  # noqa: S307 - our own subprocess's repr
    assert statuses == [0, 0]
    assert sorted(p.name for p in tmp_path.glob("counter_*.db")) == sorted(f"counter_{pid}.db" for pid in [master, *children])
    out = _run("import sys; from nlp_service.core.metrics import exposition; sys.stdout.write(exposition()[0].decode())", env)
    samples = {(s.name, s.labels.get("le")): s.value for f in text_string_to_metric_families(out) for s in f.samples}
    assert samples["nlp_comments_total", None] == 6
    assert samples["nlp_http_request_seconds_count", None] == 2
    assert samples["nlp_http_request_seconds_bucket", "0.005"] == 2
