"""Aggregation keeps its promise: every asker is named in exactly one reply, within the
rule's window of the question, or gets a definite reason in the reply log."""

import json
from collections import Counter
from pathlib import Path

import pytest

from nlp_service.api.services import Services
from nlp_service.replies import store
from nlp_service.replies.engine import Comment
from nlp_service.replies.limits import sweep
from nlp_service.replies.rules import Rule

NOW = 1764072600000
ROOT = Path(__file__).resolve().parents[2]
DEFINITE = {"mention_cap", "expired", "dropped_budget"}


@pytest.fixture
def svc(rclient, svc_settings):
    s = Services.start(svc_settings, rclient, poll=False)
    yield s
    s.close()


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


def check_promise(svc, asked: dict[str, int], outcomes, window_ms: int, room="room1") -> Counter:
    """Every asker held back is named once, within the window, or has a definite reason:
    at once in its response (mention_cap, budget), or later in the reply log (expired)."""
    named: Counter = Counter()
    for out, t in outcomes:
        if out.reply:
            for cid in out.reply["answers"]:
                named[cid] += 1
                assert t - asked[cid] <= window_ms, f"{cid} named {t - asked[cid]} ms after asking"
    log = final_log(svc, room)
    tally: Counter = Counter()
    for out, _ in outcomes:
        cid = out.comment.id
        later = log.get(cid, [])
        if out.reply:
            assert named[cid] == 1 and not later
            tally["reply"] += 1
        elif out.reason == "aggregated":
            assert (named[cid], later) in [(1, []), (1, ["named"]), (0, ["expired"])], (cid, named[cid], later)
            tally["named" if named[cid] else "expired"] += 1
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
    late = NOW + 10_050  # the window closed 50 ms ago; the next asker's reply names who still waits
    c = Comment("late", "room1", "ulate", "nlate", "福袋呢", late)
    asked["late"] = late
    outcomes.append((svc.engine.handle([c], now_ms=late)[0], late))
    tally = check_promise(svc, asked, outcomes, 10_000)
    assert tally["reply"] == 2 and tally["named"] == 4  # max_mentions - 1 waited, all within the window
    assert tally["mention_cap"] == 25
    assert outcomes[-1][0].reply["mentions"] == ["n1", "n2", "n3", "n4", "nlate"]


def test_stale_askers_are_never_carried_into_a_later_burst(svc) -> None:
    setup(svc, rule(window=1.0), budget_per_second=100)
    svc.engine.handle([Comment("a", "room1", "ua", "na", "福袋", NOW)], now_ms=NOW)
    assert svc.engine.handle([Comment("b", "room1", "ub", "nb", "福袋", NOW + 100)], now_ms=NOW + 100)[0].reason == "aggregated"
    later = svc.engine.handle([Comment("c", "room1", "uc", "nc", "福袋", NOW + 60_000)], now_ms=NOW + 60_000)[0]
    assert later.reply["mentions"] == ["nc"]
    assert final_log(svc)["b"] == ["expired"]


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
            outcomes += [(o, now) for o in svc.engine.handle(batch, now_ms=now)]
        window_ms = int(svc.settings.reply_window_seconds * 1000)
        sweep(svc.engine.limiter, "room1", rows[-1]["ts"] + window_ms + 1)  # the room goes quiet: settle who still waits
        tally = check_promise(svc, asked, outcomes, window_ms + 250)
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
