"""Aggregation keeps its promise: every asker is named in exactly one reply (its response,
or the burst posted on the room's action feed when the window closes), within the rule's
window of the question, or gets a definite reason."""

import json
from collections import Counter
from pathlib import Path

from nlp_service.live.services import Services
from nlp_service.live.types import Comment
from nlp_service.replies import store
from nlp_service.replies.rules import Rule
from nlp_service.store import actions

NOW = 1764072600000
ROOT = Path(__file__).resolve().parents[2]
DEFINITE = {"mention_cap", "dropped_budget"}


def rule(rule_id="lottery", word="福袋", window=10.0) -> Rule:
    return Rule.model_validate({"id": rule_id, "match": {"any": [word]}, "replies": ["答" + rule_id], "limits": {"window_seconds": window, "user_cooldown_seconds": 0}})


def setup(svc, *rules, **settings):
    for r in rules:
        store.save_rule(svc.client, svc.keys, r)
    store.set_room_settings(svc.client, svc.keys, "room1", settings)
    svc.state.refresh()


def final_log(svc, room="room1") -> dict[str, list[str]]:
    statuses: dict[str, list[str]] = {}
    for _, fields in svc.client.xrange(svc.keys.reply_log(room)):
        statuses.setdefault(fields["id"], []).append(fields["status"])
    return statuses


def bursts(svc, room="room1") -> list[dict]:
    return [a.to_dict() for a in actions.read(svc.client, svc.keys, room, "0", 1000) if a.kind == "post_text" and a.payload.get("source") == "burst"]


def settle(svc, until_ms: int) -> None:
    """What the poll thread does: post each burst when it falls due, up to ``until_ms``."""
    while (due := svc.engine.next_burst_due()) is not None and due <= until_ms:
        svc.engine.post_due_bursts(now_ms=due)


def check_promise(svc, asked: dict[str, int], outcomes, window_ms: int, room="room1") -> Counter:
    """Every asker held back is named once, within the window, or has a definite reason:
    at once in its response (mention_cap, budget), or in the reply log (dropped_budget
    when its burst fell due while the room budget was spent)."""
    named: Counter = Counter()
    for out, t in outcomes:
        if out.reply:
            for cid in out.reply["answers"]:
                named[cid] += 1
                assert t - asked[cid] <= window_ms, f"{cid} named {t - asked[cid]} ms after asking"
    for b in bursts(svc, room):
        assert b["text"].startswith(" ".join("@" + m for m in b["mentions"]))
        for cid in b["reply_to"]:
            named[cid] += 1
            # a burst waits for a spent budget up to half a window (limits.py)
            assert b["at"] - asked[cid] <= 1.5 * window_ms, f"{cid} named by a burst {b['at'] - asked[cid]} ms after asking"
    log = final_log(svc, room)
    tally: Counter = Counter()
    for out, _ in outcomes:
        cid = out.comment.id
        later = log.get(cid, [])
        if out.reply:
            assert named[cid] == 1 and not later
            tally["reply"] += 1
        elif out.reason == "aggregated":
            assert (named[cid], later) in [(1, []), (1, ["named"]), (0, ["dropped_budget"])], (cid, named[cid], later)
            tally["named" if named[cid] else "dropped_budget"] += 1
        elif out.reason in {"mention_cap", "budget"}:
            assert named[cid] == 0 and not later, (cid, later)
            tally["dropped_budget" if out.reason == "budget" else "mention_cap"] += 1
        else:
            assert named[cid] == 0
    return tally


def test_a_burst_of_thirty_users_names_each_once_or_gives_a_reason(svc) -> None:
    setup(svc, rule(window=10.0), budget_per_second=100, max_mentions=5)
    outcomes, asked = [], {}
    for i in range(30):  # 30 users over 2 s, one request each
        t = NOW + i * 70
        c = Comment(f"m{i}", "room1", f"u{i}", f"n{i}", "福袋几点开", t)
        asked[c.id] = t
        outcomes.append((svc.engine.handle([c], now_ms=t)[0], t))
    assert svc.engine.next_burst_due() == NOW + 10_000  # when the first reply's window closes
    assert svc.engine.post_due_bursts(now_ms=NOW + 10_000) == 1  # the poll thread posts it
    late = NOW + 10_050  # a new question after the window: a new reply, nobody carried over
    c = Comment("late", "room1", "ulate", "nlate", "福袋呢", late)
    asked["late"] = late
    outcomes.append((svc.engine.handle([c], now_ms=late)[0], late))
    [burst] = bursts(svc)
    assert burst["mentions"] == ["n1", "n2", "n3", "n4", "n5"] and burst["text"] == "@n1 @n2 @n3 @n4 @n5 答lottery"
    assert outcomes[-1][0].reply["mentions"] == ["nlate"]  # never padded with earlier askers
    tally = check_promise(svc, asked, outcomes, 10_050)
    assert tally["reply"] == 2 and tally["named"] == 5 and tally["mention_cap"] == 24


def test_a_quiet_room_gets_its_burst_when_the_window_closes(svc) -> None:
    setup(svc, rule(window=1.0), budget_per_second=100)
    svc.engine.handle([Comment("a", "room1", "ua", "na", "福袋", NOW)], now_ms=NOW)
    assert svc.engine.handle([Comment("b", "room1", "ub", "nb", "福袋", NOW + 100)], now_ms=NOW + 100)[0].reason == "aggregated"
    assert svc.engine.post_due_bursts(now_ms=NOW + 999) == 0  # the window is still open
    assert svc.engine.post_due_bursts(now_ms=NOW + 1000) == 1  # the poll thread's chore
    [burst] = bursts(svc)
    assert burst["reply_to"] == ["b"] and burst["at"] == NOW + 1000 and final_log(svc)["b"] == ["named"]
    later = svc.engine.handle([Comment("c", "room1", "uc", "nc", "福袋", NOW + 60_000)], now_ms=NOW + 60_000)[0]
    assert later.reply["mentions"] == ["nc"] and len(bursts(svc)) == 1  # b is never carried into a later reply
    assert svc.engine.post_due_bursts(now_ms=NOW + 61_000) == 0


def test_a_burst_waits_for_the_budget_up_to_half_a_window(svc) -> None:
    setup(svc, rule("lottery", "福袋", window=4.0), budget_per_second=0.5)  # one message per 2 s
    svc.engine.handle([Comment("a", "room1", "ua", "na", "福袋", NOW)], now_ms=NOW)
    svc.engine.handle([Comment("b", "room1", "ub", "nb", "福袋", NOW + 100)], now_ms=NOW + 100)
    svc.engine.handle([Comment("c", "room1", "uc", "nc", "别的 福袋", NOW + 3500)], now_ms=NOW + 3500)  # waits too
    store.save_rule(svc.client, svc.keys, rule("coupon", "券", window=1.0))
    svc.state.refresh()
    assert svc.engine.handle([Comment("d", "room1", "ud", "nd", "券呢", NOW + 3000)], now_ms=NOW + 3000)[0].reply  # spends the budget to NOW + 5000
    assert svc.engine.post_due_bursts(now_ms=NOW + 4000) == 0  # due, but the budget is spent: it waits
    assert svc.engine.next_burst_due() == NOW + 5000
    assert svc.engine.post_due_bursts(now_ms=NOW + 5000) == 1
    [burst] = bursts(svc)
    assert burst["reply_to"] == ["b", "c"] and burst["at"] == NOW + 5000


def test_a_burst_that_falls_due_on_a_spent_budget_is_dropped_with_a_reason(svc) -> None:
    setup(svc, rule("lottery", "福袋", window=1.0), rule("coupon", "券", window=5.0), budget_per_second=0.5)  # one message per 2 s
    svc.engine.handle([Comment("a", "room1", "ua", "na", "福袋", NOW)], now_ms=NOW)
    assert svc.engine.handle([Comment("b", "room1", "ub", "nb", "福袋", NOW + 100)], now_ms=NOW + 100)[0].reason == "aggregated"
    svc.engine.post_due_bursts(now_ms=NOW + 1000)  # the budget is spent until NOW + 2000,
    assert bursts(svc) == [] and final_log(svc)["b"] == ["dropped_budget"]  # past half a window
    assert int(svc.client.hget(svc.keys.counters("room1"), "final:dropped_budget")) == 1


def test_a_budget_limited_room_drops_with_reasons(svc) -> None:
    rules = [rule("lottery", "福袋"), rule("coupon", "券"), rule("link", "链接")]
    setup(svc, *rules, budget_per_second=1)
    texts = ["福袋几点", "券在哪", "链接呢", "福袋呢", "券呢"]
    batch = [Comment(f"m{i}", "room1", f"u{i}", f"n{i}", t, NOW) for i, t in enumerate(texts)]
    outs = svc.engine.handle(batch, now_ms=NOW)
    assert [o.reason for o in outs] == [None, "budget", "budget", "aggregated", "budget"]
    tally = check_promise(svc, {c.id: NOW for c in batch}, [(o, NOW) for o in outs], 10_000)
    assert tally == Counter({"reply": 1, "named": 1, "dropped_budget": 3})
    assert int(svc.client.hget(svc.keys.counters("room1"), "final:dropped_budget")) == 3
    assert svc.client.xlen(svc.keys.reply_log("room1")) == 0  # every outcome was in the response


def test_replaying_the_sample_room_keeps_every_promise(rclient, svc_settings, settings) -> None:
    svc = Services.start(svc_settings.model_copy(update={"seed_rules_path": settings.seed_rules_file}), rclient, poll=False)
    try:
        store.set_variables(svc.client, svc.keys, "room1", {"lottery_time": "8点", "coupon_code": "LIVE20", "current_link": "3", "courier": "顺丰", "price": "99元"})
        svc.state.refresh()
        rows = [json.loads(line) for line in (ROOT / "data/replay/sample_room.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        outcomes, asked, i = [], {}, 0
        while i < len(rows):  # batches of 250 ms of the recording, on the recording's clock
            t0, batch = rows[i]["ts"], []
            while i < len(rows) and rows[i]["ts"] - t0 < 250:
                r = rows[i]
                batch.append(Comment(r["id"], "room1", r["user"], r["nickname"], r["text"], r["ts"]))
                asked[r["id"]] = r["ts"]
                i += 1
            now = batch[-1].ts
            settle(svc, now)  # the poll thread posts bursts as they fall due, between batches
            outcomes += [(o, now) for o in svc.engine.handle(batch, now_ms=now)]
        window_ms = int(svc.settings.reply_window_seconds * 1000)
        settle(svc, rows[-1]["ts"] + 3_600_000)  # the room goes quiet: the last bursts are posted
        tally = check_promise(svc, asked, outcomes, window_ms)
        assert tally["reply"] > 0 and tally["named"] > 0
        print("sample room through the engine:", dict(tally))
    finally:
        svc.close()


def test_report_counts_answered_named_and_not_named_apart(tmp_path) -> None:
    from nlp_service.batch.report import _answered

    log = [
        {"id": "q1", "reply": {"text": "@a @b x", "answers": ["q2", "q1"]}, "reason": None},
        {"id": "q2", "reply": None, "reason": "aggregated"},  # named in q1's reply
        {"id": "q3", "reply": None, "reason": "aggregated"},  # waited, never named
        {"id": "q4", "reply": None, "reason": "budget"},
        {"id": "q5", "reply": None, "reason": "mention_cap"},
        {"id": "c1", "reply": None, "reason": "no_match"},
    ]
    path = tmp_path / "replies.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in log), encoding="utf-8")
    got = _answered(path, {"q1", "q2", "q3", "q4", "q5"})
    assert got["answered"] == 2 and got["answered_by_own_reply"] == 1 and got["aggregated_and_named"] == 1
    assert got["aggregated_or_limited_not_named"] == 3 and got["answered_share"] == 0.4
