"""Queue grouping on a real Redis (and the cluster): a storm of one text in a room is one
item that holds every comment of it, exactly once; the window, the cap and the action bound
an item; a decision reaches every comment it holds and releases the group."""

import json
from collections.abc import Iterator

import pytest

from nlp_service.live.services import Services
from nlp_service.live.types import Comment
from nlp_service.moderation.feed import ModeratorFeed
from nlp_service.store import actions

NOW = 1764072600000
ROOM = "room1"
WINDOW_S = 300  # the default queue_group_seconds
STORM = ["骗子 钱收了不发货", "骗子 钱收了不发货???", "骗子 钱收了不发货😭", "骗子 钱收了不发货货", "骗子 钱收了不发货[发怒]"]


def C(i: int, text: str, user: str | None = None, ts: int = NOW, room: str = ROOM) -> Comment:
    return Comment(f"m{i}", room, user or f"u{i}", f"观众{i}", text, ts)


@pytest.fixture
def make(sclient, svc_settings) -> Iterator:
    """Services with settings overrides, both deployments; all closed after the test."""
    started: list[Services] = []

    def start(**update) -> Services:
        started.append(Services.start(svc_settings.model_copy(update=update), sclient, poll=False))
        return started[-1]

    yield start
    for s in started:
        s.close()


def items(svc) -> list:
    return svc.engine.queue.pull([ROOM], "alice", 100, 0, claim_ms=60_000)


def feed_actions(svc) -> list[actions.Action]:
    return actions.read(svc.client, svc.keys, ROOM, count=1000)


def test_a_storm_of_one_text_and_its_variants_is_one_item_with_every_comment(svc) -> None:
    outs = svc.engine.handle([C(i, STORM[i % len(STORM)], user=f"u{i % 4}", ts=NOW + i * 1000) for i in range(10)], now_ms=NOW)
    assert {o.moderation["action"] for o in outs} == {"review"}  # each comment is still flagged
    assert svc.client.xlen(svc.keys.mod_stream(ROOM)) == 1
    [item] = items(svc)
    assert item.repeats == 10 and item.repeat_users == 4
    assert [m["id"] for m in item.members] == [f"m{i}" for i in range(10)] and item.members[0] == item.record
    assert item.members[3]["text"] == STORM[3] and item.members[3]["nickname"] == "观众3"
    shown = item.to_dict()
    assert shown["repeats"] == 10 and shown["repeat_users"] == 4 and len(shown["members"]) == 10
    assert shown["comment"]["id"] == "m0" and shown["deliveries"] == 1  # the existing fields as they were
    # another text, and the same text in another room, are items of their own
    svc.engine.handle([C(20, "垃圾店 别买"), C(21, STORM[0], room="room2")], now_ms=NOW)
    assert [i.repeats for i in items(svc)] == [1]
    assert len(svc.engine.queue.pull(["room2"], "alice", 10, 0, claim_ms=60_000)) == 1


def test_a_lone_item_shows_itself_as_its_one_member(svc) -> None:
    svc.engine.handle([C(1, "主播就是个骗子 卖假货")], now_ms=NOW)
    [item] = items(svc)
    d = item.to_dict()
    assert (d["repeats"], d["repeat_users"], [m["id"] for m in d["members"]]) == (1, 1, ["m1"])


def test_retries_and_the_spool_never_count_a_comment_twice(svc) -> None:
    batch = [C(i, STORM[0], ts=NOW + i) for i in range(3)]
    for _ in range(3):  # the bot retries the whole batch, and single comments
        svc.engine.handle(batch, now_ms=NOW)
        svc.engine.handle([batch[1], batch[1]], now_ms=NOW)
    svc.engine.spool.append([{"room": ROOM, "comment_id": "m2", "user": "u2", "record": {"id": "m2", "room": ROOM, "user": "u2"}, "moderation": {"action": "review", "categories": ["fraud_claim"]}}])
    assert svc.replay_spool() == 0
    [item] = items(svc)
    assert item.repeats == 3 and item.repeat_users == 3 and [m["id"] for m in item.members] == ["m0", "m1", "m2"]


def test_an_item_holds_at_most_queue_group_max_comments_then_a_new_one_opens(make) -> None:
    svc = make(queue_group_max=3)
    svc.engine.handle([C(i, STORM[0], ts=NOW + i) for i in range(7)], now_ms=NOW)
    got = items(svc)
    assert [i.repeats for i in got] == [3, 3, 1]
    assert [[m["id"] for m in i.members] for i in got] == [["m0", "m1", "m2"], ["m3", "m4", "m5"], ["m6"]]


def test_the_window_runs_from_the_last_comment_of_the_item_on_comment_time(svc) -> None:
    step = WINDOW_S * 1000
    # each comment within the window of the one before: one item, however long the storm
    svc.engine.handle([C(i, STORM[0], ts=NOW + i * step) for i in range(4)], now_ms=NOW)
    # a pause longer than the window: a new item
    svc.engine.handle([C(9, STORM[0], ts=NOW + 3 * step + step + 1)], now_ms=NOW)
    assert [i.repeats for i in items(svc)] == [4, 1]


def test_a_comment_stamped_out_of_order_joins_and_keeps_the_later_time(svc) -> None:
    step = WINDOW_S * 1000
    svc.engine.handle([C(1, STORM[0], ts=NOW + step), C(2, STORM[0], ts=NOW)], now_ms=NOW)
    svc.engine.handle([C(3, STORM[0], ts=NOW + 2 * step)], now_ms=NOW)  # within the window of the later one
    assert [i.repeats for i in items(svc)] == [3]


def test_window_zero_turns_grouping_off(make) -> None:
    svc = make(queue_group_seconds=0)
    svc.engine.handle([C(i, STORM[0], ts=NOW + i) for i in range(3)], now_ms=NOW)
    assert [i.repeats for i in items(svc)] == [1, 1, 1]
    assert svc.client.hlen(svc.keys.mod_members(ROOM)) == 0


def test_a_block_never_joins_a_review_item(svc) -> None:
    # one user's storm: the first three are review (fraud_claim), then flood blocks them
    outs = [svc.engine.handle([C(i, "骗子 还没发货", user="angry", ts=NOW + i)], now_ms=NOW)[0] for i in range(6)]
    assert [o.moderation["action"] for o in outs] == ["review"] * 3 + ["block"] * 3
    svc.engine.recorder.flush()
    got = items(svc)
    assert [(i.moderation["action"], i.repeats) for i in got] == [("review", 3), ("block", 3)]
    assert got[1].moderation["categories"][0] == "flood"


def test_a_decision_reaches_every_comment_and_releases_the_group(svc) -> None:
    svc.engine.handle([C(i, STORM[i], user=f"u{i % 2}", ts=NOW + i) for i in range(3)], now_ms=NOW)
    q = svc.engine.queue
    [item] = items(svc)
    decision, applied = q.decide(item.item_id, "alice", "delete", "造谣", now_ms=NOW + 10)
    assert applied and decision["repeats"] == 3 and decision["repeat_users"] == 2
    hidden = [a.payload["comment_id"] for a in feed_actions(svc) if a.kind == "hide_comment"]
    assert hidden == ["m0", "m1", "m2"]
    [(_, audit)] = svc.client.xrange(svc.keys.audit_stream(ROOM))
    assert audit["repeats"] == "3" and audit["users"] == "2"
    assert svc.client.hlen(svc.keys.mod_members(ROOM)) == 0  # the members are done with
    # a repeat applies nothing more
    assert q.decide(item.item_id, "bob", "delete")[1] is False and len(feed_actions(svc)) == 3
    # the next comment of the storm opens a new item (the old one was decided)
    svc.engine.handle([C(5, STORM[0], ts=NOW + 20)], now_ms=NOW)
    [fresh] = items(svc)
    assert fresh.item_id != item.item_id and fresh.repeats == 1


def test_a_ban_bans_every_user_of_the_item(svc) -> None:
    svc.engine.handle([C(i, STORM[0], user=f"u{i % 3}", ts=NOW + i) for i in range(5)], now_ms=NOW)
    [item] = items(svc)
    svc.engine.queue.decide(item.item_id, "alice", "ban", "水军", ban_seconds=600, now_ms=NOW)
    assert sorted(svc.client.hgetall(svc.keys.banned(ROOM))) == ["u0", "u1", "u2"]
    kinds = [(a.kind, a.payload.get("user"), a.payload.get("comment_id")) for a in feed_actions(svc)]
    assert kinds == [("ban_user", "u0", None), ("ban_user", "u1", None), ("ban_user", "u2", None),
                     *(("hide_comment", f"u{i % 3}", f"m{i}") for i in range(5))]  # fmt: skip


def test_approving_a_block_shows_every_comment_again_and_a_reply_is_posted_once(svc) -> None:
    ad = "加薇❤看更多款 主页有"
    svc.engine.handle([C(i, ad, ts=NOW + i) for i in range(3)] + [C(10 + i, STORM[0], ts=NOW + i) for i in range(2)], now_ms=NOW)
    block, review = sorted(items(svc), key=lambda i: i.moderation["action"])
    assert block.moderation["action"] == "block" and block.repeats == 3 and review.repeats == 2
    q = svc.engine.queue
    q.decide(block.item_id, "alice", "approve")
    q.decide(review.item_id, "alice", "reply", reply_text="家人们放心，今天下单48小时内发货")
    got = feed_actions(svc)
    assert [(a.kind, a.payload.get("comment_id")) for a in got[:3]] == [("unhide_comment", f"m{i}") for i in range(3)]
    [post] = got[3:]
    assert post.kind == "post_text" and post.payload["reply_to"] == ["m10", "m11"]


def test_a_comment_that_joins_while_the_decision_is_made_is_decided_too(svc, monkeypatch) -> None:
    svc.engine.handle([C(i, STORM[0], ts=NOW + i) for i in range(2)], now_ms=NOW)
    q = svc.engine.queue
    [item] = items(svc)
    read = q._members
    late = iter([C(7, STORM[0], ts=NOW + 5)])

    def read_then_one_joins(room, firsts):
        out = read(room, firsts)
        for c in late:  # once: between the decision's read and its script
            svc.engine.handle([c], now_ms=NOW)
        return out

    monkeypatch.setattr(q, "_members", read_then_one_joins)
    decision, applied = q.decide(item.item_id, "alice", "delete")
    assert applied and decision["repeats"] == 3
    assert [a.payload["comment_id"] for a in feed_actions(svc)] == ["m0", "m1", "m7"]


def test_an_alert_with_the_stream_id_of_a_grouped_item_is_decided_alone(svc) -> None:
    svc.engine.handle([C(i, STORM[0], ts=NOW + i) for i in range(2)], now_ms=NOW)
    [item] = items(svc)
    sid = item.item_id.split("~")[-1]
    urgent = svc.keys.urgent_stream(ROOM)
    svc.client.xgroup_create(urgent, "moderators", id="0", mkstream=True)
    svc.client.xadd(urgent, {"record": json.dumps({"id": "mood_spike:1", "room": ROOM, "user": ""}), "moderation": json.dumps({"action": "review", "categories": ["mood_spike"]})}, id=sid)
    [alert] = svc.engine.queue.pull([ROOM], "bob", 1, 0, claim_ms=60_000, urgent_only=True)
    assert alert.repeats == 1 and alert.to_dict()["members"] == [alert.record]
    decision, applied = svc.engine.queue.decide(alert.item_id, "bob", "approve")
    assert applied and decision["repeats"] == 1
    assert svc.client.hget(svc.keys.mod_members(ROOM), f"{sid}:n") == "2"  # the storm's item is untouched
    svc.engine.handle([C(5, STORM[0], ts=NOW + 5)], now_ms=NOW)
    assert svc.engine.queue.decide(item.item_id, "alice", "delete")[0]["repeats"] == 3


def test_what_a_moderator_holds_shows_the_count(svc) -> None:
    svc.engine.handle([C(i, STORM[0], user=f"u{i % 2}", ts=NOW + i) for i in range(4)], now_ms=NOW)
    alice = ModeratorFeed(svc.engine.queue, [ROOM], "alice", 60_000, 3)
    new, _ = alice.step(0)
    assert [(i["repeats"], i["repeat_users"], len(i["members"])) for i in new] == [(4, 2, 4)]
    [held] = alice.resume()
    assert held["repeats"] == 4 and [m["id"] for m in held["members"]] == ["m0", "m1", "m2", "m3"]
