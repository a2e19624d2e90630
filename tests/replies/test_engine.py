"""The reply path against a real Redis: limits across instances, aggregation, idempotency."""

from contextlib import contextmanager

import pytest

from nlp_service.live.services import Services
from nlp_service.live.types import Comment
from nlp_service.replies import store
from nlp_service.replies.rules import Rule
from nlp_service.store.version import state_version
from tests.roundtrips import counting_client
from tests.waiting import StateWatch

NOW = 1764072600000  # 2025-11-25 20:10 Asia/Shanghai


def lottery_rule(**kw) -> Rule:
    base = {"id": "lottery", "match": {"any": ["福袋"]}, "replies": ["福袋{lottery_time}开"], "limits": {"user_cooldown_seconds": 0}}
    base.update(kw)
    return Rule.model_validate(base)


@pytest.fixture
def services(sclient, svc_settings):
    made = []

    def make():
        s = Services.start(svc_settings, sclient, poll=False)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def setup_room(svc, *rules, variables=None, settings=None):
    for r in rules:
        store.save_rule(svc.client, svc.keys, r)
    store.set_variables(svc.client, svc.keys, "room1", variables or {"lottery_time": "8点"})
    if settings:
        store.set_room_settings(svc.client, svc.keys, "room1", settings)
    svc.state.refresh()


def C(i, text="福袋几点开", user=None, nick=None, room="room1", ts=NOW):
    user = user or f"u{i}"
    return Comment(f"m{i}", room, user, nick or f"n{i}", text, ts)


def test_reply_renders_variables_and_names_the_asker(services) -> None:
    svc = services()
    setup_room(svc, lottery_rule())
    out = svc.engine.handle([C(1)], now_ms=NOW)[0]
    assert out.reply == {"text": "@n1 福袋8点开", "rule_id": "lottery", "mentions": ["n1"], "answers": ["m1"]}


def test_burst_is_answered_once_naming_the_askers(services) -> None:
    svc = services()
    setup_room(svc, lottery_rule(), settings={"budget_per_second": 100})
    outs = svc.engine.handle([C(i) for i in range(1, 5)], now_ms=NOW)
    assert [o.reason for o in outs] == [None, "aggregated", "aggregated", "aggregated"]
    assert outs[0].reply["mentions"] == ["n1", "n2", "n3", "n4"]
    assert outs[0].reply["text"].startswith("@n1 @n2 @n3 @n4 ")


def test_askers_during_the_window_are_named_in_the_burst_when_it_closes(services) -> None:
    from nlp_service.store import actions

    svc = services()
    setup_room(svc, lottery_rule(limits={"window_seconds": 0.2, "user_cooldown_seconds": 0}), settings={"budget_per_second": 100})
    first = svc.engine.handle([C(1)], now_ms=NOW)[0]
    assert first.reply["mentions"] == ["n1"]
    assert svc.engine.handle([C(2)], now_ms=NOW + 50)[0].reason == "aggregated"
    assert svc.engine.handle([C(3)], now_ms=NOW + 100)[0].reason == "aggregated"
    assert svc.engine.post_due_bursts(now_ms=NOW + 200) == 1  # the poll thread, as the window closes
    [burst] = actions.read(svc.client, svc.keys, "room1", "0")
    assert burst.payload["text"] == "@n2 @n3 福袋8点开" and burst.payload["reply_to"] == ["m2", "m3"]
    later = svc.engine.handle([C(4)], now_ms=NOW + 250)[0]  # a new window: its own reply, nobody carried
    assert later.reply["mentions"] == ["n4"] and later.reply["answers"] == ["m4"]


def test_mentions_are_capped(services) -> None:
    svc = services()
    setup_room(svc, lottery_rule(), settings={"budget_per_second": 100, "max_mentions": 3})
    outs = svc.engine.handle([C(i) for i in range(1, 8)], now_ms=NOW)
    assert outs[0].reply["mentions"] == ["n1", "n2", "n3"]


def test_room_budget_limits_replies_and_counts_the_losers(services) -> None:
    svc = services()
    other = Rule.model_validate({"id": "coupon", "match": {"any": ["券"]}, "replies": ["券在小黄车"], "limits": {"user_cooldown_seconds": 0}})
    setup_room(svc, lottery_rule(), other)  # default budget: one reply a second
    outs = svc.engine.handle([C(1), C(2, text="券在哪领")], now_ms=NOW)
    assert outs[0].reply is not None
    assert outs[1].reply is None and outs[1].reason == "budget"
    assert int(svc.client.hget(svc.keys.counters("room1"), "budget")) == 1


def test_cooldowns_hold_across_two_instances(services) -> None:
    a, b = services(), services()
    setup_room(a, lottery_rule(limits={"user_cooldown_seconds": 60}), settings={"budget_per_second": 100})
    b.state.refresh()
    assert a.engine.handle([C(1)], now_ms=NOW)[0].reply is not None
    # the rule's window is open on instance b too
    assert b.engine.handle([C(2)], now_ms=NOW)[0].reason == "aggregated"
    # and the same user is in cooldown on b
    assert b.engine.handle([C(3, user="u1")], now_ms=NOW)[0].reason == "user_cooldown"


def test_retry_of_the_same_comment_id_is_idempotent(services) -> None:
    svc = services()
    setup_room(svc, lottery_rule())
    first = svc.engine.handle([C(1)], now_ms=NOW)[0]
    again = svc.engine.handle([C(1)], now_ms=NOW)[0]
    assert again.reply == first.reply
    assert svc.client.hget(svc.keys.counters("room1"), "reply") == "1"  # no second limit taken


def test_schedule_with_a_fixed_clock(services) -> None:
    svc = services()
    setup_room(svc, lottery_rule(schedule={"timezone": "Asia/Shanghai", "windows": [{"start": "20:00", "end": "20:30"}]}))
    assert svc.engine.handle([C(1, ts=NOW + 3600_000)], now_ms=NOW)[0].reason == "schedule"
    assert svc.engine.handle([C(2, ts=NOW)], now_ms=NOW)[0].reply is not None


def test_missing_variable_skips_the_rule_and_falls_through(services) -> None:
    svc = services()
    needs = lottery_rule(id="needs_code", priority=1, replies=["券码{coupon_code}"])
    setup_room(svc, needs, lottery_rule(priority=5))
    out = svc.engine.handle([C(1)], now_ms=NOW)[0]
    assert out.reply["rule_id"] == "lottery"
    store.delete_rule(svc.client, svc.keys, "global", "lottery")
    svc.state.refresh()
    assert svc.engine.handle([C(2)], now_ms=NOW)[0].reason == "missing_variable"


def test_rotation_cycles_through_variants(services) -> None:
    svc = services()
    setup_room(svc, lottery_rule(replies=["A", "B", "C"], limits={"window_seconds": 0.001, "user_cooldown_seconds": 0}), settings={"budget_per_second": 100})
    texts = [svc.engine.handle([C(i)], now_ms=NOW + 20 * i)[0].reply["text"].split(" ")[-1] for i in range(3)]
    assert texts == ["A", "B", "C"]


def test_no_reply_to_banned_users_or_the_bot_itself(services) -> None:
    svc = services()
    setup_room(svc, lottery_rule(), settings={"bot_user": "bot-self", "budget_per_second": 100})
    svc.client.hset(svc.keys.banned("room1"), "troll", NOW + 60_000)
    assert svc.engine.handle([C(1, user="bot-self")], now_ms=NOW)[0].reason == "own_bot"
    assert svc.engine.handle([C(2, user="troll")], now_ms=NOW)[0].reason == "banned"


def test_rule_change_reaches_a_second_instance_without_restart(services, svc_settings) -> None:
    a = services()
    b = Services.start(svc_settings, a.client, poll=True)  # polls like a real instance
    watch = StateWatch(b.state)
    try:
        setup_room(a, lottery_rule())
        assert watch.reaches(state_version(a.client, a.keys))
        assert b.engine.dry_run(C(1))["fired"]["would_reply"] == "@n1 福袋8点开"
        store.save_rule(a.client, a.keys, lottery_rule(replies=["新的回复"]))
        assert watch.reaches(state_version(a.client, a.keys))  # b's poller saw it, no restart
        assert b.engine.dry_run(C(1))["fired"]["would_reply"] == "@n1 新的回复"
    finally:
        b.close()


def test_dry_run_explains_and_consumes_nothing(services) -> None:
    svc = services()
    veto = Rule.model_validate({"id": "vetoed", "priority": 1, "match": {"any": ["福袋"], "none": ["几点"]}, "replies": ["x"]})
    low = lottery_rule(id="low", priority=500)
    setup_room(svc, lottery_rule(), veto, low)
    report = svc.engine.dry_run(C(1, text="福 袋几点开"))
    assert report["fired"]["rule_id"] == "lottery"
    assert report["fired"]["spans"][0]["original"] == "福 袋"
    outcomes = {c["rule_id"]: c["outcome"] for c in report["considered"]}
    assert outcomes == {"vetoed": "veto", "low": "lower_priority"}
    assert svc.client.hgetall(svc.keys.counters("room1")) == {}
    assert svc.engine.handle([C(2)], now_ms=NOW)[0].reply is not None  # nothing was consumed


def test_seed_rules_load_once(rclient, svc_settings, settings) -> None:
    seeded = svc_settings.model_copy(update={"seed_rules_path": settings.seed_rules_file})
    first = Services.start(seeded, rclient, poll=False)
    ids = {r.id for r in store.list_rules(rclient, first.keys)}
    assert {"lottery", "coupon", "link", "size", "shipping", "free_shipping", "returns"} <= ids
    store.delete_rule(rclient, first.keys, "global", "coupon")
    Services.start(seeded, rclient, poll=False)  # a restart must not bring it back
    assert "coupon" not in {r.id for r in store.list_rules(rclient, first.keys)}


@contextmanager
def own_server_services(svc_settings, tmp_path):
    """Services on a redis-server of their own, through a client that counts what it sends:
    (services, a plain client of that server, the round-trip counter). Scripts are
    server-wide: another suite on a shared server could flush or load them in between."""
    import redis

    from tests.processes import own_redis_server

    with own_redis_server(tmp_path) as (port, _):
        own = redis.Redis(port=port, decode_responses=True)
        counted, trips = counting_client(own)
        svc = Services.start(svc_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"}), counted, poll=False)
        try:
            setup_room(svc, lottery_rule())
            yield svc, own, trips
        finally:
            svc.close()
            own.close()


def test_one_round_trip_per_batch_and_scripts_reload_after_a_flush(svc_settings, tmp_path) -> None:
    # What the engine sent is read from its own client, not from the server's command stats.
    with own_server_services(svc_settings, tmp_path) as (svc, own, trips):
        own.script_flush()  # as after a Redis restart: the server has forgotten every script
        trips.reset()
        out = svc.engine.handle([Comment("f1", "room1", "u1", "n1", "福袋几点开", NOW), Comment("f2", "room1", "u2", "n2", "主播是个傻逼", NOW)], NOW)
        assert out[0].reply["text"] == "@n1 福袋8点开"  # NOSCRIPT: scripts loaded, failed commands resent
        assert out[1].moderation["action"] == "block"
        assert trips.sent_command("SCRIPT", "LOAD") and not trips.sent_command("SCRIPT", "EXISTS")  # redis-py's per-execute check is gone
        assert trips.count > 2  # the room's first load, the batch, the script loads, the resend
        trips.reset()
        out = svc.engine.handle([Comment("f3", "room1", "u3", "n3", "福袋什么时候开", NOW + 60_000), Comment("f4", "room1", "u4", "n4", "主播是个傻逼", NOW + 60_000)], NOW + 60_000)
        assert out[0].reply["text"] == "@n3 福袋8点开" and out[1].moderation["action"] == "block"
        assert trips.count == 1  # a reply and a flagged comment: one pipeline, one round trip
        assert not trips.sent_command("SCRIPT", "EXISTS") and not trips.sent_command("SCRIPT", "LOAD")  # loaded once
        assert trips.sent_command("EVALSHA")


def test_a_room_takes_its_deferred_comments_and_its_batch_in_one_script_call(svc_settings, tmp_path) -> None:
    """The recorder's deferred comments of a room ride the room's script call in the next
    batch that needs Redis (replies/room_script.py): one EVALSHA for the room, and the
    deferred comment is recorded as its own call would have recorded it."""
    from nlp_service.store.pipeline import _scripts

    with own_server_services(svc_settings, tmp_path) as (svc, own, trips):
        for lua in _scripts.values():  # loaded before counting: no NOSCRIPT resend
            own.script_load(lua)
        svc.engine.handle([C(1, "今天天气不错")], NOW)  # no rule, not flagged: deferred (no background flush)
        trips.reset()
        out = svc.engine.handle([C(2)], NOW)
        assert out[0].reply is not None and trips.count == 1
        assert trips.sent.count(b"EVALSHA") == 1
        assert own.lrange(svc.keys.recent("room1", "u1"), 0, -1)  # the deferred comment, recorded


@pytest.mark.parametrize("template", ["福袋{lottery_time}开", "@{nickname} 福袋{lottery_time}开", "{nickname}，福袋{lottery_time}开"])
def test_dry_run_shows_the_text_the_bot_posts(services, template) -> None:
    svc = services()
    setup_room(svc, lottery_rule(replies=[template, "第二句{nickname}"]))
    predicted = svc.engine.dry_run(C(1, nick="问价"))["fired"]
    out = svc.engine.handle([C(1, nick="问价")], now_ms=NOW)[0]
    assert predicted["would_reply"] == out.reply["text"]
    assert predicted["mentions"] == out.reply["mentions"] == ["问价"]
    assert out.reply["text"].count("@问价") == 1


def test_template_nickname_and_aggregated_askers_are_each_mentioned_once(services) -> None:
    svc = services()
    setup_room(svc, lottery_rule(replies=["@{nickname} 福袋{lottery_time}开"]), settings={"budget_per_second": 100})
    outs = svc.engine.handle([C(1), C(2), C(3)], now_ms=NOW)
    text = outs[0].reply["text"]
    assert sorted(outs[0].reply["mentions"]) == ["n1", "n2", "n3"]
    assert all(text.count("@" + n) == 1 for n in ("n1", "n2", "n3"))


def test_a_rooms_spent_regex_budget_skips_its_regexes_in_the_batch_and_no_other_rooms(services, monkeypatch) -> None:
    from nlp_service.core import metrics
    from nlp_service.live import screen
    from nlp_service.replies.matcher import RegexBudget

    class CostlyRegex(RegexBudget):  # each match costs a whole second, on a fake clock
        def __init__(self, seconds: float) -> None:
            ticks = iter(range(10**6))
            super().__init__(seconds, clock=lambda: (next(ticks) + 1) // 2 * 1.0)  # 0, 1, 1, 2, 2, …

    monkeypatch.setattr(screen, "RegexBudget", CostlyRegex)
    svc = services()
    svc.settings = svc.engine.settings = svc.settings.model_copy(update={"regex_room_batch_seconds": 1.5})
    link = Rule.model_validate({"id": "link", "match": {"regex": "几号链接"}, "replies": ["{current_link}号链接"], "limits": {"user_cooldown_seconds": 0}})
    setup_room(svc, link, variables={"current_link": "3"})
    store.set_variables(svc.client, svc.keys, "room2", {"current_link": "5"})
    svc.state.refresh()
    before = metrics.REGEX_SKIPPED._value.get()
    batch = [C(i, "几号链接", room="room1") for i in range(4)] + [C(9, "几号链接", room="room2")]
    out = svc.engine.handle(batch, now_ms=NOW)
    # room1: two matches spend its 1.5 s (1 s each), the rest of its regexes in the batch are skipped
    assert [o.reason or "replied" for o in out[:4]] == ["replied", "aggregated", "regex_budget", "regex_budget"]
    assert out[4].reply is not None and "5号链接" in out[4].reply["text"]  # room2 has a budget of its own
    assert metrics.REGEX_SKIPPED._value.get() - before == 2
    again = svc.engine.handle([C(10, "几号链接", room="room1")], now_ms=NOW)  # the next batch: a new budget
    assert again[0].reason != "regex_budget"


def test_a_room_whose_script_redis_refuses_fails_alone_in_the_shared_round_trip(services) -> None:
    svc = services()
    setup_room(svc, lottery_rule())
    store.set_variables(svc.client, svc.keys, "room2", {"lottery_time": "9点"})
    svc.state.refresh()
    # room2's keys hold the wrong types: its limits and queue scripts get WRONGTYPE from Redis
    svc.client.rpush(svc.keys.counters("room2"), "x")
    svc.client.set(svc.keys.mod_stream("room2"), "x")
    flagged = "主播是骗子 卖假货"
    batch = [C(1), C(2, room="room2"), C(3, flagged), C(4, flagged, room="room2")]
    out = svc.engine.handle(batch, now_ms=NOW)
    assert out[0].reply is not None and out[1].reason == "store_unavailable"  # room1 answered, room2 alone not
    assert svc.client.hget(svc.keys.counters("room1"), "reply") == "1"
    assert svc.client.xlen(svc.keys.mod_stream("room1")) == 1  # room1's flagged comment is queued
    assert svc.engine.spool.pending()  # room2's is kept in the spool, not lost
    again = svc.engine.handle([C(1)], now_ms=NOW)[0]  # room1's answer stands: the retry gets it, nothing spent twice
    assert again.reply == out[0].reply and svc.client.hget(svc.keys.counters("room1"), "reply") == "1"


def test_one_unreadable_rule_or_key_record_cannot_stop_rules_keys_and_revocations(services) -> None:
    from nlp_service.core import metrics
    from nlp_service.store import apikeys

    a, b = services(), services()
    setup_room(a, lottery_rule())
    raw, record = apikeys.create_key(a.client, a.keys, "bot1", "bot", ["room1"])
    before = metrics.STATE_ERRORS._value.get()
    # written by hand or by an older release: a rule that no longer validates, a key record that is not JSON
    a.client.hset(a.keys.rules("_global"), "broken", '{"id": "broken", "match": 5}')
    a.client.hset(a.keys.api_keys(), "0" * 64, "not json")
    store.save_rule(a.client, a.keys, lottery_rule(replies=["新的回复{lottery_time}"]))  # a change to propagate
    assert apikeys.revoke_key(a.client, a.keys, record.key_id)
    b.state.refresh()
    b.reload_keys()
    assert "新的回复8点" in b.engine.handle([C(1)], now_ms=NOW)[0].reply["text"]  # the change reached b
    assert apikeys.hash_key(raw) not in b.api_keys and b.api_keys  # and the revocation did; the good keys loaded
    assert metrics.STATE_ERRORS._value.get() > before  # the bad records were counted
    unreadable: list[dict[str, str]] = []
    listed = store.list_rules(a.client, a.keys, None, unreadable)  # the admin listing skips and names it
    assert [r.id for r in listed] == ["lottery"] and unreadable == [{"scope": "global", "id": "broken"}]
