"""Decisions that arrive out of the usual order: before anyone pulled the item, repeated
after a reclaim; and the delivery count a moderator sees."""

from nlp_service.live.types import Comment

NOW = 1764072600000


def _queue_two(svc) -> list[str]:
    """Two items: two texts (the same text twice would be one item holding both)."""
    svc.engine.handle([Comment(f"m{i}", "room1", f"u{i}", f"n{i}", f"主播就是个骗子 卖假货{i}", NOW) for i in (1, 2)], now_ms=NOW)
    stream = svc.keys.mod_stream("room1")
    return [f"room1~{sid}" for sid, _ in svc.client.xrange(stream)]


def test_an_item_decided_before_anyone_pulled_it_is_never_handed_out(svc) -> None:
    q = svc.engine.queue
    first, second = _queue_two(svc)
    q.decide(first, "alice", "delete", "seen in the audit")
    got = q.pull(["room1"], "bob", 10, 0, claim_ms=60_000)
    assert [i.item_id for i in got] == [second]
    stats = q.stats("room1")
    assert stats["pending"] == 1 and stats["undelivered"] == 0  # the decided one is acknowledged, not pending


def test_a_repeated_decision_acknowledges_an_item_that_was_delivered_after_the_first(svc) -> None:
    q = svc.engine.queue
    first, _ = _queue_two(svc)
    q.decide(first, "alice", "approve")  # before anyone pulled it
    # delivered anyway, as an instance running the old pull would have done
    svc.client.xreadgroup("moderators", "bob", {svc.keys.mod_stream("room1"): ">"}, count=1)
    assert q.stats("room1")["pending"] == 1
    decision, applied = q.decide(first, "bob", "delete")
    assert decision["action"] == "approve" and not applied
    assert q.stats("room1")["pending"] == 0  # acknowledged: it will not come back every claim interval


def test_deliveries_counts_real_deliveries(svc) -> None:
    q = svc.engine.queue
    _queue_two(svc)
    [item] = q.pull(["room1"], "alice", 1, 0, claim_ms=60_000)
    assert item.delivered == 1
    [again] = q.pull(["room1"], "bob", 1, 0, claim_ms=0)  # reclaimed at once: the second delivery
    assert again.item_id == item.item_id and again.delivered == 2
    [third] = q.pull(["room1"], "carol", 1, 0, claim_ms=0)
    assert third.item_id == item.item_id and third.delivered == 3
