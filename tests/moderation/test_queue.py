"""The moderation queue on a real Redis: exactly once, one moderator per item, reclaim,
idempotent decisions, stats, trimming, bans, flood, and the spool across a Redis restart."""

import json

import pytest
import redis

from nlp_service.live.services import Services
from nlp_service.live.types import Comment
from tests.processes import free_port, start_redis_server

NOW = 1764072600000


def C(i, text="主播就是个骗子 卖假货", user=None, room="room1"):
    return Comment(f"m{i}", room, user or f"u{i}", f"n{i}", text, NOW)


def test_flagged_comment_is_queued_exactly_once_even_when_retried(svc) -> None:
    first = svc.engine.handle([C(1)], now_ms=NOW)[0]
    assert first.moderation["action"] == "review" and "fraud_claim" in first.moderation["categories"]
    svc.engine.handle([C(1)], now_ms=NOW)  # the bot retries
    svc.engine.handle([C(1), C(1)], now_ms=NOW)
    assert svc.client.xlen(svc.keys.mod_stream("room1")) == 1
    assert svc.engine.handle([C(2, text="几号链接")], now_ms=NOW)[0].moderation["action"] == "pass"
    assert svc.client.xlen(svc.keys.mod_stream("room1")) == 1


def test_item_goes_to_one_moderator_and_carries_context(svc) -> None:
    svc.engine.handle([C(0, text="几号链接", user="u1"), C(1, user="u1")], now_ms=NOW)
    q = svc.engine.queue
    got = q.pull(["room1"], "alice", 10, 0, claim_ms=60_000)
    assert len(got) == 1
    item = got[0]
    assert item.record["text"] == "主播就是个骗子 卖假货"
    terms = item.moderation["terms"]
    assert any(t["term"] == "骗子" and item.record["text"][t["start"] : t["end"]] == "骗子" for t in terms)
    assert item.moderation["suggested_reply"]
    assert [c["text"] for c in q.recent_comments("room1", "u1")] == ["主播就是个骗子 卖假货", "几号链接"]
    assert q.pull(["room1"], "bob", 10, 0, claim_ms=60_000) == []


def test_undecided_item_comes_back_to_another_moderator(svc) -> None:
    svc.engine.handle([C(1)], now_ms=NOW)
    q = svc.engine.queue
    [item] = q.pull(["room1"], "alice", 1, 0, claim_ms=60_000)
    assert q.pull(["room1"], "bob", 1, 0, claim_ms=60_000) == []  # alice still has it
    # alice dropped it: a claim window of 0 says "her time is up" without waiting for it
    [again] = q.pull(["room1"], "bob", 1, 0, claim_ms=0)
    assert again.item_id == item.item_id and again.delivered == 2


def test_decision_acks_audits_and_is_idempotent(svc) -> None:
    svc.engine.handle([C(1)], now_ms=NOW)
    q = svc.engine.queue
    [item] = q.pull(["room1"], "alice", 1, 0, claim_ms=60_000)
    decision, applied = q.decide(item.item_id, "alice", "reply", "standard answer", reply_text="放心 正品")
    assert applied and decision["action"] == "reply"
    again, applied_again = q.decide(item.item_id, "bob", "delete", "changed my mind")
    assert not applied_again and again == decision
    audit = svc.client.xrange(svc.keys.audit_stream("room1"))
    assert len(audit) == 1 and audit[0][1]["moderator"] == "alice" and audit[0][1]["action"] == "reply"
    stats = q.stats("room1")
    assert stats["pending"] == 0 and stats["depth"] == 0 and stats["decisions"] == {"alice": 1}
    with pytest.raises(KeyError):
        q.decide("room1~1-1", "alice", "approve")
    with pytest.raises(ValueError, match="ban_seconds"):
        q.decide(item.item_id, "alice", "ban")


def test_stats_depth_and_oldest_age(svc) -> None:
    svc.engine.handle([C(i, text=f"骗子{i}号") for i in range(3)], now_ms=NOW)
    q = svc.engine.queue
    q.pull(["room1"], "alice", 1, 0, claim_ms=60_000)
    first_id = svc.client.xrange(svc.keys.mod_stream("room1"), count=1)[0][0]
    queued_ms = int(first_id.split("-")[0])  # stream ids carry the time the item was queued
    stats = q.stats("room1", now_ms=queued_ms + 5000)
    assert stats["depth"] == 3 and stats["pending"] == 1 and stats["undelivered"] == 2
    assert stats["oldest_age_seconds"] == 5.0


def test_trim_never_drops_pending_or_undelivered_items(svc) -> None:
    svc.engine.handle([C(i, text=f"骗子{i}号") for i in range(4)], now_ms=NOW)
    q = svc.engine.queue
    items = q.pull(["room1"], "alice", 2, 0, claim_ms=60_000)
    q.decide(items[0].item_id, "alice", "approve")  # items[1] stays pending, two undelivered
    removed = q.trim("room1")
    assert removed == 1
    remaining = [sid for sid, _ in svc.client.xrange(svc.keys.mod_stream("room1"))]
    assert len(remaining) == 3
    rest = q.pull(["room1"], "bob", 10, 0, claim_ms=60_000)
    assert len(rest) == 2


def test_ban_blocks_the_user_without_analysis(svc) -> None:
    svc.engine.handle([C(1, user="troll")], now_ms=NOW)
    q = svc.engine.queue
    [item] = q.pull(["room1"], "alice", 1, 0, claim_ms=60_000)
    q.decide(item.item_id, "alice", "ban", "repeated accusations", ban_seconds=3600, now_ms=NOW)
    svc.state.version = -1  # force a reload, as the ban's version bump would
    out = svc.engine.handle([C(2, text="几号链接", user="troll")], now_ms=NOW + 1000)[0]
    assert out.reason == "banned" and out.analysis is None and out.moderation["action"] == "block"
    svc.engine.recorder.flush()  # bookkeeping of comments that need no answer is deferred (≤ 20 ms)
    assert q.recent_comments("room1", "troll")[0]["text"] == "几号链接"  # still recorded


def test_flood_is_blocked_and_queued(svc) -> None:
    outs = [svc.engine.handle([C(i, text="福袋福袋", user="spammer")], now_ms=NOW)[0] for i in range(5)]
    assert [o.moderation["action"] for o in outs] == ["pass", "pass", "pass", "block", "block"]
    assert outs[3].moderation["categories"] == ["flood"]
    svc.engine.recorder.flush()  # the known flooder's next comment is blocked locally, queued by the recorder
    stream = svc.client.xrange(svc.keys.mod_stream("room1"))
    assert len(stream) == 1 and json.loads(stream[0][1]["moderation"])["categories"] == ["flood"]
    [item] = svc.engine.queue.pull(["room1"], "alice", 10, 0, claim_ms=60_000)  # one item per flood
    assert item.repeats == 2 and item.repeat_users == 1 and [m["id"] for m in item.members] == ["m3", "m4"]


def test_spool_keeps_flagged_comments_while_redis_is_down(svc_settings, tmp_path) -> None:
    port = free_port()
    server = start_redis_server(port, tmp_path, "--appendonly", "yes")
    url = f"redis://127.0.0.1:{port}/0"
    settings = svc_settings.model_copy(update={"redis_url": url})
    client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=10)  # a stopped server refuses at once
    svc = Services.start(settings, client, poll=False)
    try:
        svc.engine.handle([C(1)], now_ms=NOW)
        server.terminate()
        server.wait()
        outs = svc.engine.handle([C(2, text="骗子 假货"), C(3, text="几号链接"), C(4, text="加薇信领福利")], now_ms=NOW)
        assert [o.moderation["action"] for o in outs] == ["review", "pass", "block"]  # still answering
        assert svc.engine.spool.pending()
        server = start_redis_server(port, tmp_path, "--appendonly", "yes")
        assert svc.replay_spool() == 2
        svc.engine.spool.append([{"room": "room1", "comment_id": "m2", "user": "u2", "record": {"id": "m2"}, "moderation": {"action": "review", "categories": []}}])
        assert svc.replay_spool() == 0  # replayed again (e.g. after a crash): still exactly once
        ids = [json.loads(f["record"])["id"] for _, f in client.xrange(svc.keys.mod_stream("room1"))]
        assert ids == ["m1", "m2", "m4"]
    finally:
        svc.close()
        server.terminate()
        server.wait()


def test_flood_is_counted_across_two_instances(rclient, svc_settings) -> None:
    a = Services.start(svc_settings, rclient, poll=False)
    b = Services.start(svc_settings, rclient, poll=False)
    try:
        actions = []
        for i in range(5):
            svc = a if i % 2 == 0 else b
            actions.append(svc.engine.handle([C(i, text="福袋福袋", user="spammer")], now_ms=NOW)[0].moderation["action"])
        assert actions == ["pass", "pass", "pass", "block", "block"]
    finally:
        a.close()
        b.close()


def test_instances_trim_decided_items_periodically(svc) -> None:
    svc.engine.handle([C(i, text=f"骗子{i}号") for i in range(3)], now_ms=NOW)
    q = svc.engine.queue
    for item in q.pull(["room1"], "alice", 2, 0, claim_ms=60_000):
        q.decide(item.item_id, "alice", "approve")
    assert svc.trim_queues(every_seconds=0) == 2
    assert svc.client.xlen(svc.keys.mod_stream("room1")) == 1  # the undelivered one stays


def test_comments_that_need_no_answer_cost_no_round_trip_until_the_recorder_flushes(svc) -> None:
    svc.engine.handle([C(1, text="来了来了", user="quiet")], now_ms=NOW)
    assert svc.client.llen(svc.keys.recent("room1", "quiet")) == 0  # buffered, not yet sent
    assert svc.engine.recorder.flush() == 1
    assert svc.engine.queue.recent_comments("room1", "quiet")[0]["text"] == "来了来了"
