"""Archive scoring on a Dask cluster, partition by partition (``--engine dask``).

``score_dask(ddf)`` adds the same columns as the local engine to a Dask DataFrame; each
worker process loads the analyzer once. ``score_file_dask`` reads CSV / JSONL / Parquet
with Dask, scores on the cluster (a ``distributed.LocalCluster`` when no scheduler address
is given) and streams the partitions, in order, into one output file of the same format
as the local engine writes. Rows that cannot be scored keep their columns with empty
labels and a ``reject_reason``.
"""

from __future__ import annotations

import time
from pathlib import Path

from nlp_service.batch.io import Writer, detect_format
from nlp_service.batch.score import OUTPUT_COLUMNS, ScoreSummary, check_columns

_memo = None  # per worker process: labels of the texts it has seen (bounded, made on first use)


def _score_partition(pdf, text_col: str):
    global _memo
    from nlp_service.batch.labels import new_memo
    from nlp_service.batch.score import load_labeler, score_rows

    if _memo is None:
        _memo = new_memo()
    rows = pdf.to_dict("records")
    for i, r in enumerate(rows):
        r["__row__"] = i
    scored, rejects = score_rows([dict(r) for r in rows], text_col, load_labeler(), _memo)
    out = pdf.copy()
    reasons = {r["row"]: r["reason"] for r in rejects}
    labels = iter(scored)
    columns = {c: [] for c in OUTPUT_COLUMNS}
    columns["reject_reason"] = []
    for i in range(len(rows)):
        if i in reasons:
            for c in OUTPUT_COLUMNS:
                columns[c].append(None)
            columns["reject_reason"].append(reasons[i])
        else:
            s = next(labels)
            for c in OUTPUT_COLUMNS:
                columns[c].append(s[c])
            columns["reject_reason"].append(None)
    for c, values in columns.items():
        out[c] = values
    return out


def score_dask(ddf, text_col: str = "text"):
    """The Dask DataFrame with sentiment, intent, keywords and moderation columns added."""
    import pandas as pd

    meta = ddf._meta.copy()
    for c, kind in zip(OUTPUT_COLUMNS, (object, float, object, float, object, object, object), strict=True):
        meta[c] = pd.Series([], dtype=kind)
    meta["reject_reason"] = pd.Series([], dtype=object)
    return ddf.map_partitions(_score_partition, text_col, meta=meta)


def read_dask(src: Path, fmt: str, text_col: str, blocksize: str = "16MB"):
    import dask.dataframe as dd

    if fmt == "parquet":
        return dd.read_parquet(str(src))
    if fmt == "csv":
        return dd.read_csv(str(src), blocksize=blocksize, dtype={text_col: "object"}, keep_default_na=False)
    return dd.read_json(str(src), lines=True, blocksize=blocksize)


def score_file_dask(src: Path, dst: Path, text_col: str = "text", scheduler: str | None = None, in_format: str | None = None, out_format: str | None = None, workers: int = 2) -> ScoreSummary:
    """Score ``src`` into ``dst`` on a Dask cluster; partitions are written in order."""
    import pyarrow as pa
    from distributed import Client, LocalCluster

    from nlp_service.batch.score import ScoreOptions

    started = time.perf_counter()
    fmt_in, fmt_out = detect_format(src, in_format), detect_format(dst, out_format)
    check_columns(src, fmt_in, ScoreOptions(text_col=text_col))
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    summary = ScoreSummary(output=str(dst))
    try:
        scored = score_dask(read_dask(src, fmt_in, text_col), text_col)
        writer = Writer(dst, fmt_out)
        futures = client.compute(scored.to_delayed())
        for fut in futures:  # in partition order: the output keeps the input order
            part = fut.result()
            ok = part["reject_reason"].isna()
            summary.scored += int(ok.sum())
            summary.rejected += int((~ok).sum())
            summary.chunks += 1
            table = pa.Table.from_pandas(part[ok].drop(columns=["reject_reason"]), preserve_index=False)
            if table.num_rows:
                writer.write(table)
        writer.close()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    summary.rows = summary.scored + summary.rejected
    summary.seconds = time.perf_counter() - started
    return summary
