"""The part files of a scoring run: each chunk is written as ``<index>.parquet`` (renamed into
place only when complete, so ``resume`` can trust any part it finds) with its rejects beside it;
at the end the parts are concatenated in order into the output file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from nlp_service.batch.io import Writer

# A part is read back once, by :func:`assemble`, and deleted: it is written plainly (no
# compression, no dictionary pages, no statistics), which the final file still has. Encoding a
# chunk twice (part, then output) was ~6 k instructions a row of the main process; the table
# read back is the same either way, so the output file is byte-identical (tested).
_PART_OPTIONS = {"compression": "none", "use_dictionary": False, "write_statistics": False}


def write_part(parts: Path, index: int, table: pa.Table, rejects: list[dict]) -> None:
    part = parts / f"{index:06d}"
    pq.write_table(table, part.with_suffix(".parquet.tmp"), **_PART_OPTIONS)
    with part.with_suffix(".rejects.jsonl").open("w", encoding="utf-8") as fh:
        for r in rejects:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    part.with_suffix(".parquet.tmp").replace(part.with_suffix(".parquet"))  # the part is done only now


def assemble(parts: Path, dst: Path, fmt_out: str) -> tuple[int, int, Path]:
    """Concatenate the parts in order into the final file, and the rejects beside it; returns
    (rows scored, rows rejected, the rejects file)."""
    scored = rejected = 0
    tmp = dst.with_name(dst.name + ".tmp")
    writer = Writer(tmp, fmt_out)
    rejects_path = dst.with_name(dst.stem + ".rejects.jsonl")
    schema = None
    with rejects_path.open("w", encoding="utf-8") as rej:
        for part in sorted(parts.glob("*.parquet")):
            with pq.ParquetFile(part) as fh:  # read_table would import pyarrow.dataset (~10 ms) for one plain file
                table = fh.read()
            if table.num_rows:
                if schema is None:
                    schema = table.schema
                elif table.schema != schema:
                    table = _conform(table, schema)
                writer.write(table)
            scored += table.num_rows
            rejects_file = part.with_name(part.name.replace(".parquet", ".rejects.jsonl"))
            if rejects_file.exists():
                for line in rejects_file.read_text(encoding="utf-8").splitlines():
                    rej.write(line + "\n")
                    rejected += 1
    writer.close()
    tmp.replace(dst)
    shutil.rmtree(parts, ignore_errors=True)
    return scored, rejected, rejects_path


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table[f.name]
            try:
                col = col.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                col = pa.array([None if v is None else str(v) for v in col.to_pylist()], f.type if pa.types.is_string(f.type) else pa.string())
        else:
            col = pa.nulls(table.num_rows, f.type)
        cols.append(col)
    return pa.table(cols, schema=schema) if all(c.type == f.type for c, f in zip(cols, schema, strict=True)) else pa.table(cols, names=schema.names)

