"""The Dask engine on a real distributed.LocalCluster with 2 workers agrees with the local engine."""

import pyarrow.parquet as pq
from distributed import Client, LocalCluster

from nlp_service.batch import demo
from nlp_service.batch.dask_engine import score_file_dask
from nlp_service.batch.score import ScoreOptions, score_file


def test_dask_and_local_engines_give_the_same_labels(tmp_path) -> None:
    archive = tmp_path / "archive.csv"
    demo.write_archive(archive, rows=3000, rooms=2)
    local = tmp_path / "local.parquet"
    score_file(archive, local, ScoreOptions(workers=1))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster):
        summary = score_file_dask(archive, tmp_path / "dask.parquet", scheduler=cluster.scheduler_address)
    assert summary.scored == pq.read_metadata(local).num_rows
    cols = ["id", "sentiment", "sentiment_score", "intent", "intent_confidence", "keywords", "moderation_action", "moderation_categories"]
    a = pq.read_table(local, columns=cols).to_pylist()
    b = pq.read_table(tmp_path / "dask.parquet", columns=cols).to_pylist()
    assert a == b
