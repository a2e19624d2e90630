"""Part files: written plainly, assembled into the same output file as parts written the
default way (compressed, dictionary-encoded, with statistics), which they replaced."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nlp_service.batch.parts import assemble, write_part


def _chunk(index: int, rows: int) -> pa.Table:
    return pa.table(
        {
            "text": [f"第{index}段 评论 {i % 7}" if i % 11 else None for i in range(rows)],
            "ts": list(range(index * rows, (index + 1) * rows)),
            "sentiment": [("positive", "neutral", "negative")[i % 3] for i in range(rows)],
            "sentiment_score": [i / 7 for i in range(rows)],
            "keywords": [["主播", f"词{i % 5}"] if i % 4 else [] for i in range(rows)],
            "moderation_categories": [None if i % 9 == 0 else ["abuse"] * (i % 2) for i in range(rows)],
        }
    )


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_plain_parts_assemble_to_the_same_file(tmp_path, fmt) -> None:
    outputs = []
    for name, write in (("plain", write_part), ("default", None)):
        parts = tmp_path / name / "out.parts"
        parts.mkdir(parents=True)
        for index, rows in enumerate((300, 1, 0, 257)):
            table, rejects = _chunk(index, rows), [{"row": index, "reason": "why", "raw": "原文"}]
            if write is not None:
                write(parts, index, table, rejects)
            else:  # the parts as they were written before
                write_part(parts, index, table, rejects)
                pq.write_table(table, parts / f"{index:06d}.parquet")
        dst = tmp_path / name / f"out.{fmt}"
        assert assemble(parts, dst, fmt)[:2] == (558, 4)
        outputs.append((dst.read_bytes(), dst.with_name("out.rejects.jsonl").read_bytes()))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][0]) > 100
