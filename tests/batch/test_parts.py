"""Part files: written plainly, assembled into the same output file as parts written the
default way (compressed, dictionary-encoded, with statistics), which they replaced."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nlp_service.batch.parts import Assembly, write_part


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
        assert Assembly(parts, dst, fmt).finish()[:2] == (558, 4)
        outputs.append((dst.read_bytes(), dst.with_name("out.rejects.jsonl").read_bytes()))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][0]) > 100


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_parts_appended_as_they_finish_give_the_file_assembled_at_the_end(tmp_path, fmt) -> None:
    """score's Assembly appends each part once it and the ones before it are written (a
    resumed run's parts first): the same output and rejects as assembling them all at the end."""
    sizes = (300, 1, 0, 257, 40)
    outputs = []
    for name in ("end", "streamed"):
        parts = tmp_path / name / "out.parts"
        parts.mkdir(parents=True)
        dst = tmp_path / name / f"out.{fmt}"
        assembly = Assembly(parts, dst, fmt) if name == "streamed" else None
        for index in (0, 1, 3, 2, 4):  # 3 finishes before 2: it waits for it
            write_part(parts, index, _chunk(index, sizes[index]), [{"row": index, "reason": "why", "raw": "原文"}])
            if assembly is not None:
                assembly.add_ready()
                assert not dst.exists() and not dst.with_name("out.rejects.jsonl").exists()  # in place only when finished
        counts = (assembly or Assembly(parts, dst, fmt)).finish()  # streamed, or all at the end
        assert counts[:2] == (598, 5) and not parts.exists()
        outputs.append((dst.read_bytes(), dst.with_name("out.rejects.jsonl").read_bytes()))
    assert outputs[0] == outputs[1]


def test_an_abandoned_assembly_leaves_the_parts_and_no_output(tmp_path) -> None:
    parts = tmp_path / "out.parts"
    parts.mkdir()
    dst = tmp_path / "out.parquet"
    assembly = Assembly(parts, dst, "parquet")
    write_part(parts, 0, _chunk(0, 20), [])
    assembly.add_ready()
    assembly.abandon()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parts"]
    assert [p.name for p in parts.iterdir() if p.suffix == ".parquet"] == ["000000.parquet"]
