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
