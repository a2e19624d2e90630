"""The moderators' live feed on a real Redis: a window of held items, nothing twice between
two moderators, nothing lost across a new connection, and why an item left the screen."""

import pytest

from nlp_service.live.services import Services
from nlp_service.live.types import Comment
from nlp_service.moderation.feed import ModeratorFeed

NOW = 1764072600000
CLAIM_MS = 60_000


@pytest.fixture
def svc(rclient, svc_settings):
    s = Services.start(svc_settings, rclient, poll=False)
    yield s
    s.close()


def flag(svc, n: int, start: int = 0) -> None:
    svc.engine.handle([Comment(f"m{i}", "room1", f"u{i}", f"n{i}", f"主播是骗子 卖假货{i}", NOW) for i in range(start, start + n)], now_ms=NOW)


def feed(svc, moderator: str, window: int = 3) -> ModeratorFeed:
    return ModeratorFeed(svc.engine.queue, ["room1"], moderator, CLAIM_MS, window)


def test_the_feed_holds_a_window_and_pulls_as_decisions_free_places(svc) -> None:
    flag(svc, 5)
    alice = feed(svc, "alice")
    new, gone = alice.step(0)
    assert len(new) == 3 and gone == []
    assert new[0]["suggested_reply"] and "recent_comments" in new[0] and new[0]["returns_in_seconds"] == CLAIM_MS / 1000
    assert alice.step(0) == ([], [])  # the window is full: nothing more is taken from the room
    svc.engine.queue.decide(new[0]["item_id"], "alice", "delete")
    more, gone = alice.step(0)
    assert [g["item_id"] for g in gone] == [new[0]["item_id"]] and gone[0]["why"] == "decided"
    assert gone[0]["decision"]["action"] == "delete"
    assert len(more) == 1


def test_two_moderators_never_get_the_same_item(svc) -> None:
    flag(svc, 7)
    alice, bob = feed(svc, "alice"), feed(svc, "bob")
    seen: list[str] = []
    for _ in range(4):
        for f in (alice, bob):
            new, _gone = f.step(0)
            seen += [i["item_id"] for i in new]
            for i in new:
                svc.engine.queue.decide(i["item_id"], f.moderator, "approve")
    assert len(seen) == 7 and len(set(seen)) == 7


def test_a_new_connection_gets_the_held_items_again(svc) -> None:
    flag(svc, 2)
    first = feed(svc, "alice")
    held, _ = first.step(0)
    again = feed(svc, "alice").resume()  # the connection dropped; the browser reconnects
    assert [i["item_id"] for i in again] == [i["item_id"] for i in held]
    assert all("recent_comments" in i and i["returns_in_seconds"] > 0 for i in again)


def test_an_item_taken_by_another_moderator_after_the_claim_time_is_reported_returned(svc) -> None:
    flag(svc, 1)
    alice = feed(svc, "alice")
    [item], _ = alice.step(0)
    [taken] = svc.engine.queue.pull(["room1"], "bob", 1, 0, claim_ms=0)  # alice's time is up
    assert taken.item_id == item["item_id"]
    _, gone = alice.step(0)
    assert gone == [{"item_id": item["item_id"], "why": "returned"}]


def test_an_alert_reaches_a_moderator_whose_window_is_full(svc) -> None:
    flag(svc, 4)
    alice = feed(svc, "alice", window=2)
    first, _ = alice.step(0)
    assert len(first) == 2 and alice.full
    svc.client.xgroup_create(svc.keys.urgent_stream("room1"), "moderators", id="0", mkstream=True)
    svc.client.xadd(svc.keys.urgent_stream("room1"), {"record": '{"id": "mood_spike:1", "room": "room1", "user": "", "text": "负面占比突增"}',
                                                      "moderation": '{"action": "review", "categories": ["mood_spike"], "terms": []}'})  # fmt: skip
    new, _ = alice.step(0)
    assert [i["moderation"]["categories"] for i in new] == [["mood_spike"]] and "~urgent~" in new[0]["item_id"]
    assert alice.full  # the alert took no place of a comment


def test_an_overdue_item_is_not_reclaimed_by_the_feed_that_sat_on_it(svc) -> None:
    flag(svc, 1)
    alice = ModeratorFeed(svc.engine.queue, ["room1"], "alice", 0, 3)  # claim time 0: every held item is overdue
    [item], _ = alice.step(0)
    assert alice.step(0) == ([], [])  # not handed back to alice herself
    [taken] = svc.engine.queue.pull(["room1"], "bob", 1, 0, claim_ms=0)  # bob's pull takes it
    assert taken.item_id == item["item_id"]
    assert alice.step(0)[1] == [{"item_id": item["item_id"], "why": "returned"}]


def test_a_waiting_pull_wakes_for_an_item_flagged_while_it_waits_even_in_a_new_room(svc) -> None:
    import threading

    got: list = []
    waiting = threading.Thread(target=lambda: got.extend(svc.engine.queue.pull(["room1"], "alice", 1, 60_000, CLAIM_MS)))
    waiting.start()  # room1 has no stream yet: the wait must still see the first item
    flag(svc, 1)
    waiting.join(120)  # a hang guard: the pull returns as soon as the item is there
    assert not waiting.is_alive() and [i.record["id"] for i in got] == ["m0"]


def test_an_item_the_moderator_got_elsewhere_shows_on_their_open_feed(svc) -> None:
    flag(svc, 2)
    alice = feed(svc, "alice")
    assert alice.resume() == []  # the connection opens with nothing held
    # a pull that is not this connection's: another tab, /pull, or the last step of a
    # connection that dropped while its pull was waiting
    [elsewhere] = svc.engine.queue.pull(["room1"], "alice", 1, 0, CLAIM_MS)
    new, _ = alice.step(0)
    ids = [i["item_id"] for i in new]
    assert ids[0] == elsewhere.item_id and len(ids) == len(set(ids)) == 2 and "recent_comments" in new[0]
    assert alice.step(0) == ([], [])


def test_a_closed_connection_takes_nothing_its_waiting_step_wakes_for(svc) -> None:
    # the browser left while the step waited for an item: the item flagged next must go to a
    # moderator who is still there, not wait out the claim time in alice's name
    import threading

    alice = feed(svc, "alice")
    got: list = []
    waiting = threading.Thread(target=lambda: got.append(alice.step(60_000)))
    waiting.start()
    alice.close()  # before or during the step's wait: either way it takes nothing
    flag(svc, 1)
    waiting.join(120)  # a hang guard: the flagged item wakes the wait
    assert not waiting.is_alive() and got == [([], [])]
    [taken] = svc.engine.queue.pull(["room1"], "bob", 1, 0, CLAIM_MS)
    assert taken.record["id"] == "m0" and taken.delivered == 1


def test_an_item_handed_back_goes_to_the_next_pull_at_once(svc) -> None:
    flag(svc, 2)
    items = svc.engine.queue.pull(["room1"], "alice", 2, 0, CLAIM_MS)
    svc.engine.queue.hand_back(items[:1], "alice", CLAIM_MS)
    [taken] = svc.engine.queue.pull(["room1"], "bob", 1, 0, CLAIM_MS)  # bob's claim time has not run out
    assert taken.item_id == items[0].item_id
    assert [i["item_id"] for i in svc.engine.queue.held_by(["room1"], "alice", CLAIM_MS)] == [items[1].item_id]
