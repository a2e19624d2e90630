"""The limits script's decisions parsed by pydantic-core (limits._loads, decode): the same
values as json.loads, and the same refusal, on random JSON and random text."""

from __future__ import annotations

import json
import math
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.replies import limits
from nlp_service.replies.limits import _loads, decode

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def _same(a: object, b: object) -> bool:
    """Equal, NaN included, and of the same types all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


def _outcome(parse, raw):
    try:
        return parse(raw)
    except ValueError:
        return ValueError


@hsettings(max_examples=500, deadline=None)
@given(value=_JSON, ascii_only=st.booleans(), as_bytes=st.booleans())
def test_as_json_loads_on_json(value, ascii_only: bool, as_bytes: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only)
    if as_bytes:
        try:
            raw = raw.encode()
        except UnicodeEncodeError:  # a lone surrogate: not UTF-8
            return
    assert _same(_outcome(_loads, raw), _outcome(json.loads, raw))


@hsettings(max_examples=500, deadline=None)
@given(raw=st.text(max_size=20) | st.sampled_from(['{"a":1,"a":2}', "[1,]", "1e400", "-0", " [1] ", "\ufeff[1]", '"\\ud800"', "NaN", "[Infinity]", '{"a":"\x01"}']))
def test_as_json_loads_on_any_text(raw: str) -> None:
    assert _same(_outcome(_loads, raw), _outcome(json.loads, raw))


@hsettings(max_examples=300, deadline=None)
@given(
    status=st.sampled_from(["reply", "aggregated", "budget", "user_cooldown"]), rule=st.one_of(st.none(), st.text(max_size=6)),
    variant=st.integers(0, 9), mentions=st.lists(st.text(max_size=5), max_size=3), named=st.lists(st.text(max_size=5), max_size=3),
    retry=st.booleans(), empty_as_object=st.booleans(), left_out=st.sets(st.sampled_from(["rule_id", "variant", "mentions", "named", "retry"])),
)  # fmt: skip
def test_decisions_as_before(status, rule, variant, mentions, named, retry, empty_as_object, left_out) -> None:
    # cjson writes an empty Lua table as {}: the script's empty lists may come as objects
    d = {"status": status, "rule_id": rule, "variant": variant, "mentions": mentions or ({} if empty_as_object else []), "named": named or ({} if empty_as_object else []), "retry": retry}
    raw = json.dumps({k: v for k, v in d.items() if k not in left_out}, ensure_ascii=False)
    with patch.object(limits, "_loads", json.loads):  # decode as it was: json.loads parsing
        before = decode(raw)
    assert decode(raw) == before


def test_refused_as_before() -> None:
    with pytest.raises(json.JSONDecodeError):
        decode("not json")
