"""The readings index mapped from the start-up cache: the same reading as the table for every
code point, and rebuilt when pypinyin's data files change."""

import pytest

from nlp_service.core import config
from nlp_service.moderation import readings


def test_reading_equals_the_table_for_every_code_point_around_the_blocks() -> None:
    table = readings.reading_table()
    for cp in range(0x3000, 0xA100):
        assert readings.reading(chr(cp)) == table.get(chr(cp), ""), hex(cp)
    assert readings.reading("") == readings.reading("微信") == readings.reading("a") == ""


@pytest.fixture
def fresh_index(tmp_path, settings, monkeypatch):
    """The index built in a temporary cache from a stand-in table and stand-in data files."""
    folder = tmp_path / "pypinyin"
    folder.mkdir()
    for name in ("pinyin_dict.json", "phrases_dict.json"):
        (folder / name).write_text("{}", encoding="utf-8")
    memos = (readings._reading_index, readings.reading, readings.reading_table)
    monkeypatch.setattr(config, "get_settings", lambda: settings.model_copy(update={"cache_dir": tmp_path / "cache"}))
    monkeypatch.setattr(readings, "_pypinyin_folder", lambda: folder)
    for memo in memos:
        memo.cache_clear()
    yield folder
    for memo in memos:
        memo.cache_clear()  # the next test reads the real table again


def _index_with(monkeypatch, table: dict[str, str]) -> tuple:
    monkeypatch.setattr(readings, "reading_table", lambda: table)
    readings._reading_index.cache_clear()
    return readings._reading_index()


def test_a_changed_pypinyin_data_file_rebuilds_the_index(fresh_index, monkeypatch) -> None:
    index, names = _index_with(monkeypatch, {"微": "wei", "信": "xin", "㐀": "qiu"})
    assert names[index[ord("微") - 0x3400]] == "wei" and names[index[ord("一") - 0x3400]] == ""
    index, names = _index_with(monkeypatch, {"微": "mei"})  # same files: the mapped index, not this table
    assert names[index[ord("微") - 0x3400]] == "wei"
    (fresh_index / "pinyin_dict.json").write_text('{"19968": "yi"}', encoding="utf-8")  # pypinyin upgraded
    index, names = _index_with(monkeypatch, {"微": "mei"})
    assert names[index[ord("微") - 0x3400]] == "mei" and names[index[ord("信") - 0x3400]] == ""
