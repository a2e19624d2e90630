import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.replies.matcher import CompiledRules, effective_rules
from nlp_service.replies.rules import Rule
from nlp_service.text.normalize import normalize


def R(id, match, priority=100, scope="global", enabled=True) -> Rule:
    return Rule.model_validate({"id": id, "match": match, "replies": ["ok"], "priority": priority, "scope": scope, "enabled": enabled})


def fired(rules, text, intent=None, conf=0.0):
    return [c.rule.id for c in CompiledRules(rules).match(normalize(text).text, intent, conf).candidates]


def test_any_all_exact_regex_and_intent() -> None:
    rules = [
        R("any", {"any": ["福袋", "抽奖"]}),
        R("all", {"all": ["尺码", "偏大"]}),
        R("exact", {"exact": ["111"]}),
        R("regex", {"regex": r"\d+号链接"}),
        R("intent", {"intent": "ask_size", "min_confidence": 0.6}),
    ]
    assert fired(rules, "什么时候抽奖") == ["any"]
    assert fired(rules, "尺码偏大吗") == ["all"]
    assert fired(rules, "尺码多少") == []
    assert fired(rules, "111") == ["exact"]
    assert fired(rules, "1111") == ["exact"]  # repeats compress to 111 before matching
    assert fired(rules, "要3号链接") == ["regex"]
    assert fired(rules, "穿什么", "ask_size", 0.7) == ["intent"]
    assert fired(rules, "穿什么", "ask_size", 0.5) == []


def test_conditions_combine_with_and() -> None:
    rules = [R("both", {"any": ["链接"], "intent": "ask_link", "min_confidence": 0.5})]
    assert fired(rules, "几号链接", "ask_link", 0.9) == ["both"]
    assert fired(rules, "几号链接", "complaint", 0.9) == []


@pytest.mark.parametrize("text", ["加微.信", "加 微 信", "加薇-信".replace("薇", "微"), "加❤微信", "加微信", "加微信"])
def test_evasion_forms_match(text) -> None:
    assert fired([R("wx", {"any": ["加微信"]})], text) == ["wx"]


def test_traditional_and_full_width_match() -> None:
    assert fired([R("coupon", {"any": ["优惠券"]})], "優惠券在哪") == ["coupon"]
    assert fired([R("vx", {"any": ["vx"]})], "加ＶＸ") == ["vx"]


def test_negative_word_vetoes() -> None:
    result = CompiledRules([R("ship", {"any": ["发货"], "none": ["太慢"]})]).match(normalize("发货太慢了").text)
    assert result.candidates == []
    assert result.rejected[0].reason == "veto" and "太慢" in result.rejected[0].detail


def test_priority_orders_candidates_and_disabled_rules_never_fire() -> None:
    rules = [R("late", {"any": ["福袋"]}, priority=50), R("early", {"any": ["福袋"]}, priority=5), R("off", {"any": ["福袋"]}, priority=1, enabled=False)]
    assert fired(rules, "福袋") == ["early", "late"]


def test_room_rule_overrides_global_rule_with_same_id() -> None:
    g = R("coupon", {"any": ["券"]})
    room = R("coupon", {"any": ["红包"]}, scope="room1")
    merged = effective_rules([g], [room])
    assert len(merged) == 1 and merged[0].scope == "room1"
    assert fired(merged, "红包在哪") == ["coupon"] and fired(merged, "券在哪") == []


def test_spans_point_into_the_matching_form() -> None:
    n = normalize("主播 福 袋几点开")
    cand = CompiledRules([R("a", {"any": ["福袋"]})]).match(n.text).candidates[0]
    start, end, term = cand.spans[0]
    assert term == "福袋" and n.original_slice(start, end) == "福 袋"


def test_intent_fallback_is_an_or_beside_the_keywords() -> None:
    rules = [R("coupon", {"any": ["优惠券"], "intents": {"ask_coupon": 0.6}, "none": ["退"]})]
    assert fired(rules, "优惠券在哪", "other", 0.9) == ["coupon"]  # keywords: the fast path
    assert fired(rules, "那个卷在哪里领", "ask_coupon", 0.9) == ["coupon"]  # no keyword, the model is sure
    assert fired(rules, "那个卷在哪里领", "ask_coupon", 0.5) == []  # below the threshold
    assert fired(rules, "退的卷呢", "ask_coupon", 0.9) == []  # a veto holds on both paths


def test_intent_with_keywords_stays_an_and() -> None:
    rules = [R("claim", {"any": ["中奖"], "intent": "ask_lottery", "min_confidence": 0.5})]
    assert fired(rules, "中奖了怎么领", "ask_lottery", 0.6) == ["claim"]
    assert fired(rules, "中奖了怎么领", "other", 0.9) == []
    assert fired(rules, "怎么领", "ask_lottery", 0.9) == []


@pytest.mark.parametrize("intents", [{"ask_nothing": 0.5}, {"ask_coupon": 0}, {"ask_coupon": 1.5}])
def test_intent_fallback_is_validated(intents) -> None:
    with pytest.raises(ValueError, match="intents"):
        R("bad", {"intents": intents})


class _FakeCost:
    """A clock in which every regex match costs ``each`` seconds (no real time is read)."""

    def __init__(self, each: float) -> None:
        self.now, self.each, self.calls = 0.0, each, 0

    def __call__(self) -> float:
        self.calls += 1
        if self.calls % 2 == 0:  # the second reading of a match: after it
            self.now += self.each
        return self.now


def test_a_rooms_regex_budget_is_spent_then_its_regexes_are_skipped_with_a_reason() -> None:
    from nlp_service.replies.matcher import REGEX_BUDGET, RegexBudget

    compiled = CompiledRules([R("link", {"regex": "(几|多少)号?链接"})])
    text = normalize("几号链接").text
    budget = RegexBudget(0.010, clock=_FakeCost(0.004))  # 10 ms; each match "costs" 4 ms
    results = [compiled.match(text, budget=budget) for _ in range(5)]
    assert [len(r.candidates) for r in results] == [1, 1, 1, 0, 0]  # 4 + 4 + 4 > 10: the rest skipped
    assert [r.regex_skipped for r in results] == [0, 0, 0, 1, 1]
    assert results[3].rejected[0].reason == REGEX_BUDGET
    nothing = compiled.match(text, budget=RegexBudget(0))  # a budget of 0: no regex runs at all
    assert nothing.candidates == [] and nothing.regex_skipped == 1
    assert compiled.match(text).candidates  # without a budget (the dry run): the per-match bound only


class _ScanAll(CompiledRules):
    """The matcher as it was: every rule looked at for every comment."""

    def _to_check(self, hits, intent, confidence):
        return range(len(self.rules))


def _summary(result) -> tuple:
    return ([(c.rule.id, c.spans, c.intent, c.confidence) for c in result.candidates],
            [(r.rule.id, r.reason, r.detail) for r in result.rejected], result.regex_timeouts)


def test_skipping_rules_without_a_chance_changes_no_result() -> None:
    import json
    from pathlib import Path

    from nlp_service.classify.labels import INTENTS
    from nlp_service.replies.rules import parse_rules_yaml

    root = Path(__file__).resolve().parents[2]
    seed = parse_rules_yaml((root / "data/rules/seed_rules.yaml").read_text(encoding="utf-8"))
    rules = [*seed, R("unkeyed-regex", {"regex": r"\d+号"}), R("intents", {"intents": {"ask_price": 0.3}}),
             R("veto", {"any": ["链接"], "none": ["不要"]}), R("exact", {"exact": ["111"]})]
    fast, slow = CompiledRules(rules), _ScanAll(rules)
    texts = [json.loads(line)["text"] for line in (root / "data/replay/sample_room.jsonl").open(encoding="utf-8")][:600]
    texts += ["不要链接", "3号", "111", "多少钱"]
    for text in texts:
        norm = normalize(text).text
        for intent, conf in [(None, 0.0), *((i, c) for i in INTENTS for c in (0.2, 0.95)), ("ask_price", 2.5)]:
            assert _summary(fast.match(norm, intent, conf)) == _summary(slow.match(norm, intent, conf)), (text, intent, conf)


def _to_check_as_it_was(compiled: CompiledRules, hits, intent, confidence):
    """_to_check before the rules without keyword hits were listed once per intent."""
    from nlp_service.replies.matcher import UNLISTED_INTENT

    if intent is not None and confidence >= UNLISTED_INTENT:
        return list(range(len(compiled.rules)))
    todo = set(hits).union(compiled._unkeyed)
    if intent is not None:
        todo.update(compiled._by_intent.get(intent, ()))
    return sorted(todo)


_INTENT_LABELS = ["ask_price", "ask_link", "complaint"]
_MATCH = st.fixed_dictionaries(
    {},
    optional={
        "any": st.lists(st.sampled_from(["福袋", "链接", "尺码"]), min_size=1, max_size=2, unique=True),
        "all": st.lists(st.sampled_from(["偏大", "偏小"]), min_size=1, max_size=2, unique=True),
        "intents": st.dictionaries(st.sampled_from(_INTENT_LABELS), st.floats(0.01, 1), min_size=1, max_size=2),
        "exact": st.lists(st.sampled_from(["111", "好"]), min_size=1, max_size=1),
    },
).filter(bool)


@hsettings(max_examples=300, deadline=None)
@given(
    matches=st.lists(_MATCH, min_size=1, max_size=6),
    hits=st.sets(st.integers(0, 5)),
    intent=st.one_of(st.none(), st.sampled_from([*_INTENT_LABELS, "unlisted"])),
    confidence=st.one_of(st.floats(0, 1), st.just(2.5)),
)
def test_rules_to_check_as_they_were(matches, hits, intent, confidence) -> None:
    compiled = CompiledRules([R(f"r{i}", m, priority=i) for i, m in enumerate(matches)])
    hits = {i: {0: []} for i in hits if i < len(matches)}
    for _ in range(2):  # the listed rules are never changed by a match
        assert list(compiled._to_check(hits, intent, confidence)) == _to_check_as_it_was(compiled, hits, intent, confidence)


@hsettings(max_examples=200, deadline=None)
@given(
    matches=st.lists(_MATCH, min_size=1, max_size=6),
    texts=st.lists(st.lists(st.sampled_from(["福袋", "链接", "尺码", "偏大", "偏小", "111", "好", "的"]), max_size=4).map("".join), min_size=1, max_size=6),
    intent=st.one_of(st.none(), st.sampled_from([*_INTENT_LABELS, "unlisted"])),
    confidence=st.one_of(st.floats(0, 1), st.just(2.5)),
)
def test_a_kept_match_is_the_match(matches, texts, intent, confidence) -> None:
    compiled = CompiledRules([R(f"r{i}", m, priority=i) for i, m in enumerate(matches)])
    for text in texts * 2:  # each text matched, then answered from the memo
        kept = compiled.match(text, intent, confidence)
        assert _summary(kept) == _summary(compiled._match(text, intent, confidence, None))
        assert compiled.match(text, intent, confidence) is kept


def test_rules_with_a_regex_are_matched_every_time() -> None:
    compiled = CompiledRules([R("link", {"regex": "(几|多少)号?链接"})])
    assert compiled.match("几号链接") is not compiled.match("几号链接")
