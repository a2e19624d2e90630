"""The live path's stages on their own: decide, explain, apply, flood memory, bursts."""

from __future__ import annotations

import datetime as dt

from nlp_service.live.apply import apply_decision, apply_flood
from nlp_service.live.bursts import BurstSchedule
from nlp_service.live.decide import Skip, select, usable_variants
from nlp_service.live.explain import Gates, considered
from nlp_service.live.flood import FloodMemory
from nlp_service.live.reasons import NO_MATCH
from nlp_service.live.screen import Plan, flood_moderation, queue_record
from nlp_service.live.types import Comment, Matched, Outcome
from nlp_service.moderation.queue import QueueEntry
from nlp_service.replies.limits import Decision
from nlp_service.replies.matcher import Candidate, MatchResult, Rejected
from nlp_service.replies.rules import Rule

NOON = int(dt.datetime(2025, 11, 25, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp() * 1000)


def R(id: str, priority: int = 100, **extra) -> Rule:
    return Rule.model_validate({"id": id, "match": {"any": ["福袋"]}, "replies": ["ok"], "priority": priority, **extra})


def result(*rules: Rule, rejected: tuple[Rejected, ...] = ()) -> MatchResult:
    return MatchResult(candidates=[Candidate(r) for r in rules], rejected=list(rejected))


# --- decide ---------------------------------------------------------------------------------
def test_select_takes_the_first_candidate_that_fits_and_keeps_the_skips_as_data() -> None:
    upset_only = R("upset", 1, when_sentiment=["negative"])
    evening = R("evening", 2, schedule={"windows": [{"start": "20:00", "end": "20:30"}]})
    needs_code = R("coupon", 3, replies=["口令{coupon_code}", "{coupon_code}/{link}"])
    plain = R("plain", 4)
    sel = select(result(upset_only, evening, needs_code, plain), "neutral", {}, NOON)
    assert sel.chosen is not None and sel.chosen.rule.id == "plain"
    assert sel.variants == (0,)
    assert sel.reason == ""
    assert sel.skipped == (
        Skip("upset", "sentiment", sentiment="neutral", allowed=("negative",)),
        Skip("evening", "schedule"),
        Skip("coupon", "missing_variable", missing=("coupon_code", "link")),
    )


def test_skip_details_are_the_sentences_the_dry_run_shows() -> None:
    assert Skip("upset", "sentiment", sentiment="neutral", allowed=("negative", "neutral")).detail() == "upset: sentiment neutral is not one of negative, neutral"
    assert Skip("evening", "schedule").detail() == "evening: outside its schedule"
    assert Skip("coupon", "missing_variable", missing=("a", "b")).detail() == "coupon: variable(s) not set: a, b"


def test_the_reason_is_the_last_schedule_or_variable_skip_and_never_sentiment() -> None:
    evening = R("evening", 1, schedule={"windows": [{"start": "20:00", "end": "20:30"}]})
    needs_code = R("coupon", 2, replies=["口令{coupon_code}"])
    upset_only = R("upset", 3, when_sentiment=["negative"])
    assert select(result(evening, needs_code, upset_only), "neutral", {}, NOON).reason == "missing_variable"
    assert select(result(needs_code, evening), "neutral", {}, NOON).reason == "schedule"
    assert select(result(upset_only), "neutral", {}, NOON).reason == NO_MATCH
    assert select(result(), "neutral", {}, NOON).reason == NO_MATCH


def test_usable_variants_names_what_the_others_lack() -> None:
    rule = R("r", replies=["{a}", "plain", "{a}{b}"])
    assert usable_variants(rule, {"b": "x"}) == ([1], {"a"})
    assert usable_variants(rule, {"a": "1", "b": "2"}) == ([0, 1, 2], set())


# --- explain --------------------------------------------------------------------------------
def test_considered_lists_rejected_skipped_outranked_and_disabled_rules() -> None:
    upset_only = R("upset", 1, when_sentiment=["negative"])
    chosen, later, tie = R("chosen", 5), R("later", 9), R("tie", 5)
    vetoed = Rejected(R("vetoed", 3), "veto", "退")
    sel = select(result(upset_only, chosen, tie, later, rejected=(vetoed,)), "positive", {}, NOON)
    assert considered(sel, [R("off", 7)]) == [
        {"rule_id": "vetoed", "priority": 3, "outcome": "veto", "detail": "退"},
        {"rule_id": "upset", "priority": 1, "outcome": "sentiment", "detail": "upset: sentiment positive is not one of negative"},
        {"rule_id": "tie", "priority": 5, "outcome": "lower_priority", "detail": ""},
        {"rule_id": "later", "priority": 9, "outcome": "lower_priority", "detail": ""},
        {"rule_id": "off", "priority": 7, "outcome": "disabled", "detail": ""},
    ]


def test_a_rule_id_that_reads_like_a_reason_is_not_mistaken_for_one() -> None:
    # the dry run used to parse the sentence back: "schedule" anywhere in it meant a schedule skip
    picky = R("schedule_info", 1, when_sentiment=["negative"])
    [row] = considered(select(result(picky), "neutral", {}, NOON), [])
    assert row["outcome"] == "sentiment"


def test_gates_name_the_limits_whose_end_time_is_still_ahead() -> None:
    gates = Gates(rule_window=1_500.0, user_cooldown=900.0, room_budget=None, rotation=4)
    assert gates.closed(1_000) == ["rule_window_open"]
    assert gates.closed(800) == ["rule_window_open", "user_cooldown"]
    assert gates.closed(2_000) == []


# --- apply ----------------------------------------------------------------------------------
def _matched(rule: Rule, values: dict | None = None) -> Matched:
    return Matched(0, Candidate(rule), tuple(range(len(rule.replies))), values or {})


def test_apply_renders_the_reply_with_the_named_askers() -> None:
    out = Outcome(Comment("m1", "room1", "u1", "小鱼", "福袋几点开"))
    apply_decision(out, _matched(R("lottery", replies=["福袋{lottery_time}开"]), {"lottery_time": "8点"}), Decision("reply", "lottery", 0, ["小鱼", "阿杰"], ["m1", "m2"]))
    assert out.reply == {"text": "@小鱼 @阿杰 福袋8点开", "rule_id": "lottery", "mentions": ["小鱼", "阿杰"], "answers": ["m1", "m2"]}
    assert out.reason is None


def test_apply_gives_the_limit_as_the_reason_when_there_is_no_reply() -> None:
    out = Outcome(Comment("m1", "room1", "u1", "", "福袋"))
    apply_decision(out, _matched(R("lottery")), Decision("user_cooldown"))
    assert (out.reply, out.reason) == (None, "user_cooldown")


def test_a_flood_keeps_the_other_categories_and_an_earlier_reason() -> None:
    assert flood_moderation(("ad_contact", "flood")) == {"action": "block", "categories": ["flood", "ad_contact"]}
    out = Outcome(Comment("m1", "room1", "u1", "", "x"), moderation={"action": "review", "categories": ["complaint"]})
    apply_flood(out)
    assert out.moderation == {"action": "block", "categories": ["flood", "complaint"]} and out.reason == "moderation"
    own = Outcome(Comment("m2", "room1", "bot", "", "x"), reason="own_bot")
    apply_flood(own)
    assert own.reason == "own_bot"


# --- screen ---------------------------------------------------------------------------------
def test_plan_sorts_a_batch_by_room_and_by_what_redis_must_do() -> None:
    plan = Plan()
    assert not plan.needs_redis
    entry = QueueEntry("m1", "u1", queue_record(Comment("m1", "r", "u1", "", "来了"), "来了"), None)
    plan.defer("r", entry)
    assert not plan.needs_redis  # the recorder takes it later
    plan.observe("r", 0, entry)
    assert plan.needs_redis and plan.observed["r"][0].entry.digest == entry.record["digest"] != ""


def test_the_queue_record_digest_is_of_the_normalised_text() -> None:
    a = queue_record(Comment("m1", "r", "u", "", "加微.信"), "加微信")
    b = queue_record(Comment("m2", "r", "u", "", "加 微 信"), "加微信")
    assert a["digest"] == b["digest"] and a["text"] != b["text"]


# --- flood memory and bursts (injected clock) -----------------------------------------------
def test_flood_memory_remembers_within_the_window_only() -> None:
    now = [100.0]
    memory = FloodMemory(60, clock=lambda: now[0])
    assert memory.check("r", "u", "d") == (False, False)
    assert memory.check("r", "u", "d") == (True, False)
    now[0] += 61
    assert memory.check("r", "u", "d") == (False, False)
    memory.mark("r", "u", "d")
    assert memory.check("r", "u", "d") == (True, True)
    assert memory.check("r", "u", "other") == (False, False)
    now[0] += 61
    assert memory.check("r", "u", "d") == (False, False)


def test_flood_memory_is_bounded_and_forgets_the_oldest_first() -> None:
    memory = FloodMemory(60, clock=lambda: 0.0, max_seen=3)
    for user in "abcd":
        memory.check("r", user, "d")
    assert memory.check("r", "a", "d") == (False, False)  # pushed out by d
    assert memory.check("r", "d", "d") == (True, False)


def test_burst_schedule_hands_out_due_rooms_once() -> None:
    bursts = BurstSchedule()
    assert bursts.next_due() is None and bursts.take_due(10**12) == []
    bursts.add("a", 1_000)
    bursts.add("a", 3_000)
    bursts.add("b", 2_000)
    assert bursts.next_due() == 1_000
    assert bursts.take_due(1_500) == ["a"]
    assert bursts.take_due(1_500) == []
    assert bursts.next_due() == 2_000
    assert sorted(bursts.take_due(5_000)) == ["a", "b"]
    assert bursts.next_due() is None
