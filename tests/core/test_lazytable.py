"""LazyTable.translate (one dict lookup a character in C) equals str.translate through the
same table, for a toy table, for the three tables of the comment path and with the C path off."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.classify import datasets
from nlp_service.core import lazytable
from nlp_service.core.lazytable import LazyTable
from nlp_service.moderation import patterns, readings
from nlp_service.text import normalize


class _Upper(LazyTable):
    def __missing__(self, cp: int) -> str:
        value = self[cp] = chr(cp).upper()[:1]
        return value


class _Odd(LazyTable):
    """Values str.translate accepts but translate_memo leaves to it: None, an int, two characters."""

    def __missing__(self, cp: int) -> object:
        value = self[cp] = {0: None, 1: ord("#"), 2: "<>"}.get(cp % 5, chr(cp))
        return value


def _tables() -> list[LazyTable]:
    return [_Upper(), normalize._simple_table, patterns._fold_table, readings._sound_table]


_texts = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FFFF, blacklist_categories=("Cs",)), max_size=40)


@hsettings(max_examples=300, deadline=None)
@given(_texts)
def test_translate_equals_str_translate_on_random_unicode(text: str) -> None:
    assert _Upper().translate(text) == text.translate(_Upper())  # each filled its own way
    for table in _tables()[1:]:
        assert table.translate(text) == text.translate(table)


@hsettings(max_examples=100, deadline=None)
@given(_texts)
def test_values_other_than_one_character_fall_back_to_str_translate(text: str) -> None:
    table = _Odd()
    assert table.translate(text) == text.translate(_Odd())


def test_the_projects_comments_translate_alike(settings) -> None:
    texts = [t for t, _, _ in datasets.danmaku(settings.labelled_dir)]
    for table in _tables()[1:]:
        for text in texts:
            assert table.translate(text) == text.translate(table)


def test_without_the_extension_it_is_str_translate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lazytable, "translate_memo", None)
    table = _Upper()
    assert table.translate("abc好😀") == "ABC好😀"
    assert sorted(table) == [ord(c) for c in "abc好😀"]
