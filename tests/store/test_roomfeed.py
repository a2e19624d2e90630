"""store/roomfeed.py: a feed entry's JSON is the text ``json.dumps`` wrote."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.store.roomfeed import records_json

_VALUES = st.one_of(st.none(), st.text(), st.integers(min_value=-(10**30), max_value=10**30), st.booleans(), st.lists(st.text(), max_size=3))


def _dumps(records: list[dict]) -> str:
    return json.dumps(records, ensure_ascii=False, separators=(",", ":"))


@hsettings(max_examples=400, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=8), _VALUES, max_size=12), max_size=8))
def test_records_json_is_json_dumps_text(records: list[dict]) -> None:
    assert records_json(records) == _dumps(records)


def test_a_feed_record_and_what_pydantic_core_refuses() -> None:
    record = {"id": "b1", "user": "u1", "nickname": "小鱼", "text": 'a\x00\x1f\x7f\u2028"\\\n\t😀中', "ts": 1764072600000, "sentiment": "neutral",
              "intent": "ask_lottery", "action": "pass", "categories": [], "reply": None, "rule_id": None, "reason": "no_match"}  # fmt: skip
    assert records_json([record, record]) == _dumps([record, record])
    lone = [{"text": "\ud800x"}]  # a lone surrogate: json.dumps writes it, as before
    assert records_json(lone) == _dumps(lone)
