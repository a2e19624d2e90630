import pytest
from pydantic import ValidationError

from nlp_service.core.errors import InvalidRuleError
from nlp_service.replies.matcher import CompiledRules
from nlp_service.replies.rules import Rule, dump_rules_yaml, parse_rules_yaml, template_variables


def rule(**kw) -> Rule:
    base = {"id": "r", "match": {"any": ["福袋"]}, "replies": ["ok"]}
    base.update(kw)
    return Rule.model_validate(base)


def test_keywords_are_normalised_when_saved() -> None:
    r = rule(match={"any": ["優惠券", "ＶＸ"], "none": ["退 款"]})
    assert r.match.any == ["优惠券", "vx"]
    assert r.match.none == ["退款"]


@pytest.mark.parametrize(
    "bad",
    [
        {"match": {}},  # no condition
        {"match": {"intent": "ask_everything"}},
        {"match": {"regex": "(unclosed"}},
        {"replies": []},
        {"replies": ["{coupon_code"]},
        {"replies": ["{0}"]},
        {"id": "has space"},
        {"scope": "bad/room"},
        {"schedule": {"timezone": "Mars/Base", "windows": [{"start": "20:00", "end": "21:00"}]}},
        {"unknown_field": 1},
    ],
)
def test_invalid_rules_are_rejected_with_a_reason(bad) -> None:
    with pytest.raises(ValueError):
        rule(**bad)


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\w+\s?)+$", r"(a|aa)+$", r"^(a+)+b"])
def test_catastrophic_regex_is_rejected_when_saved(pattern) -> None:
    # decided by the pattern's shape, so the answer is the same on any machine
    with pytest.raises(ValueError, match="backtracks"):
        rule(match={"regex": pattern})


def test_a_plain_regex_is_accepted_when_saved() -> None:
    assert rule(match={"regex": r"(几|多少)号?链接"}).match.regex == r"(几|多少)号?链接"


def test_regex_matching_is_bounded_at_run_time() -> None:
    # Bypass save-time validation (as an old stored rule might) and prove the time bound holds.
    r = Rule.model_construct(**{**rule().model_dump(), "match": rule().match.model_copy(update={"regex": r"(x+x+)+y", "any": []})})
    compiled = CompiledRules([r], regex_timeout=0.01)
    result = compiled.match("x" * 5000)
    assert result.candidates == [] and result.regex_timeouts == 1
    assert result.rejected[0].reason == "regex_timeout"


def test_template_variables() -> None:
    assert template_variables("{nickname} 券码 {coupon_code}") == {"nickname", "coupon_code"}
    assert rule(replies=["{nickname} 券码 {coupon_code}"]).variables(0) == {"coupon_code"}


def test_yaml_round_trip_and_errors() -> None:
    rules = [rule(id="a"), rule(id="b", scope="room1", priority=5)]
    again = parse_rules_yaml(dump_rules_yaml(rules))
    assert [r.model_dump() for r in again] == [r.model_dump() for r in rules]
    with pytest.raises(InvalidRuleError, match="rule #0"):
        parse_rules_yaml("- id: x\n  match: {}\n  replies: [a]\n")
    with pytest.raises(InvalidRuleError, match="does not parse"):
        parse_rules_yaml("rules: [\n")
    with pytest.raises(InvalidRuleError, match="must be a list"):
        parse_rules_yaml("just text")


def test_schedule_window_in_shanghai_time() -> None:
    r = rule(schedule={"timezone": "Asia/Shanghai", "windows": [{"start": "20:00", "end": "20:30"}]})
    at_2010 = 1764072600000  # 2025-11-25 20:10 +08:00
    assert r.schedule.active(at_2010)
    assert not r.schedule.active(at_2010 + 30 * 60 * 1000)
    overnight = rule(schedule={"windows": [{"start": "23:00", "end": "01:00"}]})
    assert overnight.schedule.active(1764084600000)  # 23:30 +08:00


def test_stored_rules_leave_unused_new_fields_out() -> None:
    import json

    from nlp_service.replies.store import _stored

    plain = Rule.model_validate({"id": "a", "match": {"any": ["福袋"]}, "replies": ["x"]})
    data = json.loads(_stored(plain))
    assert "when_sentiment" not in data and "intents" not in data["match"]  # readable one release back
    fancy = Rule.model_validate({"id": "b", "match": {"intents": {"ask_price": 0.6}}, "replies": ["x"], "when_sentiment": ["neutral"]})
    assert Rule.model_validate_json(_stored(fancy)) == fancy


def test_hostile_yaml_is_refused_cheaply() -> None:
    from nlp_service.core.errors import InvalidRuleError
    from nlp_service.replies.rules import parse_rules_yaml

    deep = "[" * 50_000 + "]" * 50_000
    with pytest.raises(InvalidRuleError, match="nested deeper"):
        parse_rules_yaml(deep)
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    with pytest.raises(InvalidRuleError, match="aliases"):
        parse_rules_yaml(bomb)
    ok = "rules:\n  - id: a\n    match: {any: [链接]}\n    replies: [在小黄车]\n"
    assert [r.id for r in parse_rules_yaml(ok)] == ["a"]


@pytest.mark.parametrize(
    "window",
    [
        {"start": "23:53:59Z", "end": "23:59"},  # a zone on a local time
        {"start": "20:00+08:00", "end": "21:00"},
        {"start": "20:00", "end": "21:00", "days": [7]},  # not a weekday
        {"start": "20:00", "end": "21:00", "days": [-1]},
        {"start": "20:00", "end": "21:00", "days": []},
        {"start": "20:00", "end": "21:00", "days": [1, 1]},
    ],
)
def test_schedule_windows_are_local_times_on_real_weekdays(window) -> None:
    with pytest.raises(ValidationError):
        Rule.model_validate({"id": "r", "match": {"any": ["x"]}, "replies": ["y"], "schedule": {"windows": [window]}})
