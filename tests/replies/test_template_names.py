"""A template's names are parsed once (rules.template_names, Rule.variables): the same
names as parsing it each time, and the same refusal of a malformed one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.replies.render import burst_body
from nlp_service.replies.rules import BUILTIN_VARIABLES, Rule, template_names, template_variables

# template-like text: names, braces (balanced or not), format specs, CJK
_PIECES = st.sampled_from(["{nickname}", "@{nickname}", "{coupon_code}", "{room}", "{price}", "{", "}", "{{", "}}", "{x:>3}", "{x!r}", "{1}", "券码", " ", "a"])
_TEMPLATES = st.lists(_PIECES, max_size=8).map("".join) | st.text(max_size=30)


def _parse(text: str) -> set[str] | type[ValueError]:
    try:
        return template_variables(text)
    except ValueError:
        return ValueError


@hsettings(max_examples=500, deadline=None)
@given(text=_TEMPLATES, again=st.booleans())
def test_names_as_parsed_each_time(text: str, again: bool) -> None:
    expected = _parse(text)
    for _ in range(2 if again else 1):  # parsed, then remembered
        if expected is ValueError:
            with pytest.raises(ValueError):
                template_names(text)
        else:
            assert template_names(text) == expected


@hsettings(max_examples=200, deadline=None)
@given(replies=st.lists(st.lists(st.sampled_from(["{nickname}", "{coupon_code}", "{room}", "{question}", "{price}", "好", "@{nickname}"]), min_size=1, max_size=5).map("".join), min_size=1, max_size=3))
def test_rule_variables_and_burst_body_as_before(replies: list[str]) -> None:
    rule = Rule(id="r", match={"any": ["券"]}, replies=replies)
    values = {"coupon_code": "LIVE", "price": "9", "room": "r1", "question": "q"}
    for i, text in enumerate(replies):
        assert rule.variables(i) == template_variables(text) - BUILTIN_VARIABLES
        if not rule.variables(i) - values.keys():
            names_asker = "nickname" in template_variables(text)  # burst_body as it read before
            body = text.replace("@{nickname}", "{nickname}").format_map({**values, "nickname": "@ann"}) if names_asker else text.format_map(values)
            assert burst_body(text, values, "ann") == (body, names_asker)
