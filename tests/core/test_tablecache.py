"""The start-up table cache: used when the sources are unchanged, rebuilt when they change
or when the cache file is damaged."""

import os

import pytest

from nlp_service.core.speedups import StrTable
from nlp_service.core.tablecache import cached_table, mapped_table


def test_cache_is_used_then_rebuilt_when_a_source_changes(tmp_path) -> None:
    source = tmp_path / "words.txt"
    source.write_text("a 1\n", encoding="utf-8")
    calls = []

    def build() -> dict[str, int]:
        calls.append(1)
        return {line.split()[0]: int(line.split()[1]) for line in source.read_text(encoding="utf-8").splitlines()}

    assert cached_table(tmp_path / "c", "t", [source], build) == {"a": 1}
    assert cached_table(tmp_path / "c", "t", [source], build) == {"a": 1}
    assert len(calls) == 1  # the second call read the cache
    source.write_text("a 1\nb 2\n", encoding="utf-8")
    os.utime(source, ns=(1, 1))  # a different mtime even on coarse clocks
    assert cached_table(tmp_path / "c", "t", [source], build) == {"a": 1, "b": 2}
    assert len(calls) == 2


def test_damaged_or_unwritable_cache_only_costs_a_rebuild(tmp_path) -> None:
    source = tmp_path / "s.txt"
    source.write_text("x", encoding="utf-8")
    (tmp_path / "c").mkdir()
    assert cached_table(tmp_path / "c", "t", [source], lambda: 1) == 1
    for written in (tmp_path / "c").glob("t-*.marshal"):
        written.write_bytes(b"\x00garbage")
    assert cached_table(tmp_path / "c", "t", [source], lambda: (1.5, None)) == (1.5, None)
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("", encoding="utf-8")
    assert cached_table(blocked, "t", [source], lambda: {"k": 2}) == {"k": 2}


def test_two_installs_sharing_a_cache_folder_keep_one_table_each(tmp_path) -> None:
    """Two virtualenvs (other paths to the same files) used to overwrite one cache file, so
    each start rebuilt the table the other had written."""
    first, second = tmp_path / "venv1" / "words.txt", tmp_path / "venv2" / "words.txt"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text("a 1\n", encoding="utf-8")
    calls = []

    def build() -> int:
        calls.append(1)
        return 1

    for source in (first, second, first, second):
        assert cached_table(tmp_path / "c", "t", [source], build) == 1
    assert len(calls) == 2


def test_segmenter_from_cache_equals_a_fresh_build(tmp_settings) -> None:
    from nlp_service.text import segment

    fresh = segment._load_segmenter(tmp_settings)  # builds jieba and writes the cache
    cached = segment._load_segmenter(tmp_settings)  # reads it
    assert cached._tokenizer is None and fresh._tokenizer is not None
    assert cached._unknown == fresh._unknown
    words = list(fresh.tokenizer.FREQ)[::20]  # word and prefix-only entries alike
    assert [cached.frequency(w) for w in words] == [fresh.frequency(w) for w in words]
    assert list(cached.cut("家人们上链接福袋几点开")) == list(fresh.tokenizer.cut("家人们上链接福袋几点开", HMM=False))


@pytest.mark.skipif(StrTable is None, reason="the compiled extension is missing (test_speedups.py fails for that)")
def test_mapped_table_is_read_in_place_then_rebuilt_when_a_source_changes_or_the_file_is_damaged(tmp_path) -> None:
    source = tmp_path / "words.txt"
    source.write_text("上链接 1.5\n福袋 -2.25\n", encoding="utf-8")
    calls = []

    def build() -> tuple[dict[str, float | None], float]:
        calls.append(1)
        pairs = [line.split() for line in source.read_text(encoding="utf-8").splitlines()]
        return {w: float(v) for w, v in pairs} | {"上": None}, -9.5

    def lookups(table) -> list:
        return [table.get(w, "missing") for w in ("上链接", "福袋", "上", "没有")]

    first, extra = mapped_table(tmp_path / "c", "t", [source], build)
    again, extra_again = mapped_table(tmp_path / "c", "t", [source], build)
    assert len(calls) == 1 and extra == extra_again == -9.5  # the second call mapped the file
    assert lookups(first) == lookups(again) == [1.5, -2.25, None, "missing"]
    source.write_text("上链接 3.0\n", encoding="utf-8")
    os.utime(source, ns=(1, 1))
    changed, _ = mapped_table(tmp_path / "c", "t", [source], build)
    assert len(calls) == 2 and lookups(changed) == [3.0, "missing", None, "missing"]
    for written in (tmp_path / "c").glob("t-*.mapped"):
        data = written.read_bytes()
        written.write_bytes(data[:-8])  # cut short: the table's layout no longer adds up
    repaired, _ = mapped_table(tmp_path / "c", "t", [source], build)
    assert len(calls) == 3 and lookups(repaired) == [3.0, "missing", None, "missing"]
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("", encoding="utf-8")
    assert lookups(mapped_table(blocked, "t", [source], build)[0]) == [3.0, "missing", None, "missing"]


def test_without_the_extension_a_mapped_table_is_the_marshalled_dict(tmp_path, monkeypatch) -> None:
    from nlp_service.core import tablecache

    monkeypatch.setattr(tablecache, "StrTable", None)
    source = tmp_path / "words.txt"
    source.write_text("上链接 1.5\n", encoding="utf-8")
    calls = []

    def build() -> tuple[dict[str, float | None], float]:
        calls.append(1)
        return {"上链接": 1.5, "上": None}, -9.5

    first = tablecache.mapped_table(tmp_path / "c", "t", [source], build)
    again = tablecache.mapped_table(tmp_path / "c", "t", [source], build)
    assert first == again == ({"上链接": 1.5, "上": None}, -9.5) and len(calls) == 1  # the second from the cache
    assert list((tmp_path / "c").glob("t-*.marshal")) and not list((tmp_path / "c").glob("t-*.mapped"))


def test_keyword_idf_from_the_mapped_cache_equals_jiebas_table(tmp_settings) -> None:
    from nlp_service.text import keywords

    idf, median = keywords._read_idf()
    keywords._load_tables.cache_clear()
    fresh = keywords.get_tables(tmp_settings)  # builds and writes the cache
    keywords._load_tables.cache_clear()
    cached = keywords.get_tables(tmp_settings)  # reads it
    keywords._load_tables.cache_clear()
    words = [*list(idf)[::50], "不是一个词", "上链接"]
    for tables in (fresh, cached):
        assert tables.median_idf == median
        assert [tables.idf.get(w, median) for w in words] == [idf.get(w, median) for w in words]


def test_mapped_blocks_are_read_in_place_aligned_and_rebuilt_when_damaged(tmp_path) -> None:
    """``mapped``: the blocks come back byte for byte, each at an 8-byte boundary, with the
    extra value; a stale or damaged file (or a ``load`` that refuses it) means a rebuild."""
    import numpy as np

    from nlp_service.core.tablecache import mapped

    source = tmp_path / "s.txt"
    source.write_text("x", encoding="utf-8")
    blocks = [b"abc", np.arange(5, dtype=np.float64).tobytes(), b""]
    builds = []

    def build():
        builds.append(1)
        return "built", blocks, (5,)

    def load(blobs, extra):
        assert all(np.frombuffer(b, np.uint8).ctypes.data % 8 == 0 for b in blobs if len(b))
        assert np.frombuffer(blobs[1], np.float64).reshape(extra).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
        return [bytes(b) for b in blobs]

    assert mapped(tmp_path / "c", "t", [source], "m", load, build) == "built"
    assert mapped(tmp_path / "c", "t", [source], "m", load, build) == blocks
    assert len(builds) == 1
    (written,) = (tmp_path / "c").glob("t-*.m")
    written.write_bytes(written.read_bytes()[:-8])  # truncated
    assert mapped(tmp_path / "c", "t", [source], "m", load, build) == "built"
    assert mapped(tmp_path / "c", "t", [source], "m", lambda _b, _e: np.zeros(3).reshape(2, 2), build) == "built"  # load refused it
    assert len(builds) == 3
