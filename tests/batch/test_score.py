"""Scoring archives: formats, columns, rejects, order with several workers, resume after a kill."""

import gc
import json
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from nlp_service.batch.score import OUTPUT_COLUMNS, ScoreOptions, score_file
from nlp_service.core.errors import DataFileError

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["几号链接", "质量太差了 再也不买了", "太好看了 已经回购", "加薇信领福利", "111", "福袋几点开", "😀😀", "Hello 主播"]


def archive(n: int = 200) -> list[dict]:
    return [{"id": f"c{i}", "room": "r1", "user": f"u{i % 7}", "text": TEXTS[i % len(TEXTS)] + ("" if i < len(TEXTS) else f" {i}"), "ts": 1764072600000 + i} for i in range(n)]


def write(path: Path, rows: list[dict]) -> Path:
    table = pa.Table.from_pylist(rows)
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    elif path.suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def read(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".csv":
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={"text": pa.string(), "id": pa.string()})).to_pylist()
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("src_ext", [".csv", ".jsonl", ".parquet"])
@pytest.mark.parametrize("dst_ext", [".csv", ".jsonl", ".parquet"])
def test_every_format_in_and_out(tmp_path, src_ext, dst_ext) -> None:
    src = write(tmp_path / f"in{src_ext}", archive(40))
    dst = tmp_path / f"out{dst_ext}"
    summary = score_file(src, dst, ScoreOptions(workers=1, chunk_rows=15))
    rows = read(dst)
    assert summary.rows == summary.scored == 40 and summary.rejected == 0
    assert [r["id"] for r in rows] == [f"c{i}" for i in range(40)]  # input columns kept, in order
    assert set(OUTPUT_COLUMNS) <= set(rows[0])
    by_text = {r["text"]: r for r in rows}
    assert by_text["几号链接"]["intent"] == "ask_link"
    assert by_text["加薇信领福利"]["moderation_action"] == "block"


def test_column_options_and_missing_column_error(tmp_path) -> None:
    rows = [{"msg": r["text"], "who": r["user"], "when": r["ts"]} for r in archive(10)]
    src = write(tmp_path / "in.jsonl", rows)
    with pytest.raises(DataFileError, match="columns found: msg, who, when"):
        score_file(src, tmp_path / "out.parquet", ScoreOptions(workers=1))
    with pytest.raises(DataFileError, match="--user-col 'nobody'"):
        score_file(src, tmp_path / "out.parquet", ScoreOptions(workers=1, text_col="msg", user_col="nobody"))
    summary = score_file(src, tmp_path / "out.parquet", ScoreOptions(workers=1, text_col="msg", user_col="who", time_col="when"))
    assert summary.scored == 10


def test_bad_rows_go_to_rejects_and_the_run_goes_on(tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": "a", "text": "几号链接"}), "{broken", json.dumps({"id": "b", "text": ""}), json.dumps({"id": "c", "text": 42}), json.dumps({"id": "d", "text": "已拍"})]
    src.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "e", "text": "\xff\xfe"}\n')
    summary = score_file(src, tmp_path / "out.jsonl", ScoreOptions(workers=1))
    assert summary.scored == 2 and summary.rejected == 4
    rejects = [json.loads(x) for x in Path(summary.rejects_file).read_text(encoding="utf-8").splitlines()]
    assert [r["row"] for r in rejects] == [2, 3, 4, 6]
    assert "JSON" in rejects[0]["reason"] and "empty" in rejects[1]["reason"] and "int" in rejects[2]["reason"] and "UTF-8" in rejects[3]["reason"]


def test_several_workers_keep_the_input_order_and_agree_with_one(tmp_path) -> None:
    src = write(tmp_path / "in.parquet", archive(600))
    thresholds = gc.get_threshold()
    one = score_file(src, tmp_path / "one.parquet", ScoreOptions(workers=1, chunk_rows=100))
    two = score_file(src, tmp_path / "two.parquet", ScoreOptions(workers=2, chunk_rows=100))
    assert gc.get_threshold() == thresholds  # the run's own thresholds end with it
    assert one.scored == two.scored == 600
    assert pq.read_table(tmp_path / "one.parquet").equals(pq.read_table(tmp_path / "two.parquet"))


def test_chunks_with_nothing_new_and_several_workers(tmp_path) -> None:
    rows = archive(8) * 50  # after the first chunk, every text has been labelled already
    for i, r in enumerate(rows):
        r["id"] = f"c{i}"
    src = write(tmp_path / "in.parquet", rows)
    one = score_file(src, tmp_path / "one.parquet", ScoreOptions(workers=1, chunk_rows=40))
    two = score_file(src, tmp_path / "two.parquet", ScoreOptions(workers=2, chunk_rows=40))
    assert one.scored == two.scored == 400 and one.chunks == 10
    assert pq.read_table(tmp_path / "one.parquet").equals(pq.read_table(tmp_path / "two.parquet"))


KILLED_RUN = """
import os, signal, sys
from pathlib import Path
from nlp_service.batch.score import ScoreOptions, score_file
written = []
def progress(size):
    written.append(size)
    if len(written) == 3:  # killed right after its third part, whatever the machine's speed
        os.kill(os.getpid(), signal.SIGKILL)
score_file(Path(sys.argv[1]), Path(sys.argv[2]), ScoreOptions(workers=1, chunk_rows=200), progress)
"""


def test_resume_after_a_killed_run_gives_the_same_file(tmp_path) -> None:
    src = write(tmp_path / "in.parquet", archive(3000))
    clean = tmp_path / "clean.parquet"
    score_file(src, clean, ScoreOptions(workers=1, chunk_rows=200))
    dst = tmp_path / "out.parquet"
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(src), str(dst)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    parts = tmp_path / "out.parquet.parts"
    assert len(list(parts.glob("*.parquet"))) == 3 and not dst.exists()
    cmd = [sys.executable, "-m", "nlp_service.cli", "score", str(src), "-o", str(dst), "--workers", "1", "--chunk-rows", "200", "--quiet"]
    out = subprocess.run([*cmd, "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["chunks_resumed"] == 3
    assert pq.read_table(dst).equals(pq.read_table(clean))
    assert dst.read_bytes() == clean.read_bytes()  # the resumed parts appended first, then the rest: the same file
    assert not list(tmp_path.glob("*.tmp"))  # the killed run's unfinished output was written over, then put in place


def test_an_interrupted_run_leaves_its_parts_and_no_output(tmp_path) -> None:
    src = write(tmp_path / "in.csv", archive(900))
    dst = tmp_path / "out.parquet"
    for workers in (1, 2):
        chunks_done: list[int] = []

        def interrupt_after_two(n: int, done: list[int] = chunks_done) -> None:
            done.append(n)
            if len(done) == 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            score_file(src, dst, ScoreOptions(workers=workers, chunk_rows=200), progress=interrupt_after_two)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.parquet.parts"]  # no output, no .tmp
        assert len(list((tmp_path / "out.parquet.parts").glob("*.parquet"))) == 2
    summary = score_file(src, dst, ScoreOptions(workers=2, chunk_rows=200, resume=True))
    assert summary.chunks_resumed == 2 and summary.rows == 900
    clean = tmp_path / "clean.parquet"
    score_file(src, clean, ScoreOptions(workers=2, chunk_rows=200))
    assert dst.read_bytes() == clean.read_bytes()


PEAK_RSS = """
import resource, sys
from pathlib import Path
from nlp_service.batch.score import ScoreOptions, score_file
score_file(Path(sys.argv[1]), Path(sys.argv[2]), ScoreOptions(workers=1, chunk_rows=5000))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_memory_stays_flat_as_the_file_grows(tmp_path) -> None:
    from nlp_service.batch import demo

    peaks = {}
    for rows in (20_000, 200_000):
        src = tmp_path / f"a{rows}.parquet"
        demo.write_archive(src, rows=rows, rooms=2)
        out = subprocess.run([sys.executable, "-c", PEAK_RSS, str(src), str(tmp_path / f"o{rows}.parquet")], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        peaks[rows] = int(out.stdout.split()[-1])  # KiB
    # ten times the rows, about the same memory (chunks stream; only the label memo grows, bounded)
    assert peaks[200_000] < peaks[20_000] * 1.25, peaks


def test_bad_csv_rows_go_to_rejects_and_an_empty_file_is_a_named_error(tmp_path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b'text,id\n\xff bad,1\nhello,1,extra\nok,2\n111,3\n"unclosed,4\n')
    summary = score_file(src, tmp_path / "out.jsonl", ScoreOptions(workers=1))
    assert summary.scored == 2 and summary.rejected == 3  # nothing lost: 5 rows in, 5 accounted for
    assert [r["text"] for r in read(tmp_path / "out.jsonl")] == ["ok", "111"]
    reasons = [json.loads(x)["reason"] for x in Path(summary.rejects_file).read_text(encoding="utf-8").splitlines()]
    assert "UTF-8" in reasons[0] and all("malformed CSV row" in r for r in reasons[1:])
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataFileError, match="empty.csv cannot be read as CSV"):
        score_file(empty, tmp_path / "o.parquet", ScoreOptions(workers=1))


def test_labels_memo_is_bounded_by_bytes_on_long_distinct_texts(analyzer) -> None:
    from nlp_service.batch.labels import LABELS_COST, Labeler, new_memo
    from nlp_service.moderation.lexicon import Lexicon

    labeler = Labeler(analyzer, Lexicon({"abuse": ["蠢货"]}))
    bound = 100_000
    memo = new_memo(bound)
    texts = [f"{i}号链接什么时候发货" * 180 for i in range(30)]  # ~1,900 characters, all distinct
    for t in texts:
        assert isinstance(labeler.label_memo(t, memo), tuple)
        assert memo.bytes <= bound
    assert LABELS_COST(texts[0]) > 7_000 and 0 < len(memo) <= bound // LABELS_COST(texts[0]) < len(texts)
    assert texts[-1] in memo and texts[0] not in memo  # the oldest went first


def test_labels_from_several_workers_equal_the_chunk_labelled_in_one_process(tmp_path, analyzer) -> None:
    """Each worker labels the distinct texts that hash to it and sends back Arrow columns; put
    back in order and spread to the rows they give the table and rejects of one process (row
    numbers, order, a failed label in either group, the reader's rejects)."""
    from nlp_service.batch.chunks import (
        join_groups,
        label_chunk,
        label_texts,
        prepare_chunk,
        split_texts,
        spread_labels,
    )
    from nlp_service.batch.labels import Labeler, new_memo
    from nlp_service.moderation.lexicon import Lexicon

    labeler = Labeler(analyzer, Lexicon({"abuse": ["蠢货"]}))
    texts = [r["text"] for r in archive(57)] + TEXTS
    texts[3], texts[40] = "", "   "  # empty after normalising: failed labels
    batch = pa.RecordBatch.from_pydict({"id": [f"c{i}" for i in range(len(texts))], "text": [t.encode() for t in texts[:20]] + [b"\xff\xfe"] + [t.encode() for t in texts[21:]]})
    reader_rejects = [{"row": None, "reason": "malformed CSV row", "raw": "x"}, {"row": 30, "reason": "malformed CSV row", "raw": "y"}]

    def chunk():
        return prepare_chunk(0, 11, batch, list(reader_rejects), "text")

    whole = label_chunk(chunk(), lambda t: labeler.label_memo(t, new_memo()), "text")
    for groups in (1, 2, 3, 8):
        c = chunk()
        positions = split_texts(c.distinct, groups)
        assert sorted(i for pos in positions for i in pos.tolist()) == list(range(len(c.distinct)))
        results = [label_texts([c.distinct[i] for i in pos.tolist()], lambda t: labeler.label_memo(t, new_memo())) for pos in positions]
        joined = spread_labels(c, *join_groups(positions, results, len(c.distinct)))
        assert joined[0].equals(whole[0]) and joined[1] == whole[1]
    assert [r["row"] for r in whole[1]] == [14, 30, 31, 51, None]
    assert split_texts(["几号链接"] * 3, 4)[hash("几号链接") % 4].tolist() == [0, 1, 2]  # a text always has one worker


def test_int64_array_equals_pa_array_and_shares_the_memory() -> None:
    import numpy as np

    from nlp_service.batch.chunks import int64_array

    for values in (np.array([3, 0, 2, 2], dtype=np.int32), np.arange(5, dtype=np.int64)[::-1], np.zeros(0, dtype=np.int64)):
        got = int64_array(values)
        assert got.equals(pa.array(values, pa.int64())) and got.type == pa.int64()
    values = np.arange(4, dtype=np.int64)
    assert np.shares_memory(np.frombuffer(int64_array(values).buffers()[1], dtype=np.int64), values)


def test_split_texts_gives_each_text_the_group_of_its_python_hash() -> None:
    from nlp_service.batch.chunks import split_texts

    texts = [f"{TEXTS[i % len(TEXTS)]}{i}" for i in range(2000)] + ["", "😀"]
    assert any(hash(t) < 0 for t in texts)  # numpy's % must agree with Python's on these too
    for groups in (2, 3, 8):
        expected = [[i for i, t in enumerate(texts) if hash(t) % groups == g] for g in range(groups)]
        assert [pos.tolist() for pos in split_texts(texts, groups)] == expected


NO_PANDAS_RUN = """
import sys
from pathlib import Path
from nlp_service.batch.score import ScoreOptions, score_file
score_file(Path(sys.argv[1]), Path(sys.argv[2]), ScoreOptions(workers=2, chunk_rows=100))
print(*(m in sys.modules for m in ("yaml", "numpy.ma", "pyarrow.dataset")))
print("redis" in sys.modules, "pandas" in sys.modules)
"""


def test_the_scorer_never_imports_pandas_and_writes_what_it_writes_with_pandas_loaded(tmp_path) -> None:
    import pandas  # noqa: F401 - loaded in this process: pyarrow's pandas paths are live here

    rows = archive(300)
    rows[7]["text"] = "😀 [捂脸] ＶＸ 加薇信 蠢货 12345678901"
    src = write(tmp_path / "in.csv", rows)
    out = subprocess.run([sys.executable, "-c", NO_PANDAS_RUN, str(src), str(tmp_path / "bare.parquet")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "False"  # ~0.25 s of CPU per process saved (batch/nopandas.py)
    assert out.stdout.split()[-2] == "False"  # the base word lists load without the Redis client (~0.1 s)
    # nor what only other commands use: the standard answers' YAML, numpy's masked arrays
    # (pa.array on a numpy array checks for one: chunks.int64_array), Arrow's datasets (pq.read_table)
    assert out.stdout.split()[-5:-2] == ["False"] * 3, out.stdout
    score_file(src, tmp_path / "with.parquet", ScoreOptions(workers=1, chunk_rows=100))
    assert pq.read_table(tmp_path / "bare.parquet").equals(pq.read_table(tmp_path / "with.parquet"))
    for ext in (".csv", ".jsonl"):
        score_file(src, tmp_path / f"out{ext}", ScoreOptions(workers=2, chunk_rows=100))
        assert len(read(tmp_path / f"out{ext}")) == 300


def test_a_label_equals_the_analysis_and_moderation_it_is_made_of(analyzer, settings) -> None:
    """Labeler.label (the analyzer's memo skipped when it is off, the tuple made by
    tuple.__new__) gives the Labels of analyze + moderate, field for field and of the same
    types, on every labelled comment, with the full word lists and the classifier."""
    from nlp_service.batch.labels import Labeler, Labels, load_labeler
    from nlp_service.classify import datasets
    from nlp_service.moderation.detect import moderate

    shared = load_labeler()
    for labeler in (shared, Labeler(analyzer, shared.lexicon, shared.classifier)):
        for text, _, _ in datasets.danmaku(settings.labelled_dir):
            a = analyzer.analyze(text)
            m = moderate(a, shared.lexicon, classifier=shared.classifier)
            expected = Labels(a.sentiment.label, a.sentiment.score, a.intent.label, a.intent.confidence, tuple(a.keywords), m.action, tuple(m.categories))
            got = labeler.label(text)
            assert type(got) is Labels and got == expected
            assert [type(v) for v in got] == [type(v) for v in expected]
    assert shared.label("   ") == Labeler(analyzer, shared.lexicon).label("   ") and isinstance(shared.label("   "), str)


def test_labels_of_a_batch_equal_the_labels_one_by_one(analyzer) -> None:
    """label_memo_all then label_columns (score's path) gives label_texts's table and
    failures, with repeats, failed texts and the empty batch."""
    from nlp_service.batch.chunks import label_columns, label_texts
    from nlp_service.batch.labels import Labeler, new_memo
    from nlp_service.moderation.lexicon import Lexicon

    labeler = Labeler(analyzer, Lexicon({"abuse": ["蠢货"]}))
    texts = [r["text"] for r in archive(40)] + TEXTS + ["", "蠢货 主播", "   ", TEXTS[0]]
    for batch in (texts, texts[:1], []):
        one = label_texts(batch, lambda t: labeler.label_memo(t, new_memo()))
        whole = label_columns(labeler.label_memo_all(batch, new_memo()))
        assert whole[0].equals(one[0]) and whole[0].schema == one[0].schema and whole[1] == one[1]
