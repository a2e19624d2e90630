"""The moderators' page in a real browser: two moderators work one room by keyboard, and a
dropped connection loses nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.console.conftest import GUARD_MS, new_key

ROOM = "room1"
POLL_MS = 2000  # how long one look at a page waits for an item before looking at the other


def flag(api, bot: str, ids: range, room: str = ROOM) -> None:
    """Post flagged comments (fraud_claim → review) through the bot's own endpoint."""
    comments = [{"id": f"m{i}", "room": room, "user": f"u{i}", "nickname": f"观众{i}", "text": f"主播是骗子 卖假货{i}"} for i in ids]
    r = api.post("/v1/reply/batch", json={"comments": comments}, headers={"Authorization": f"Bearer {bot}"})
    assert r.status_code == 200 and all(x["moderation"]["action"] == "review" for x in r.json()["results"]), r.text


def start(tab) -> None:
    """Start working the queue with the keyboard: the start button has focus after sign-in."""
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_selector("#conn.ok")


def decide_by_key(tab, key: str) -> str | None:
    """Press ``key`` on the item in focus and wait for the API to confirm it; the item id."""
    page = tab.page
    if not page.is_visible("#item"):
        return None
    item_id = page.get_attribute("#item", "data-item-id")
    done = page.locator("#done li").count()
    page.keyboard.press(key)
    page.wait_for_function(f"() => document.querySelectorAll('#done li').length > {done}")
    return item_id


def test_two_moderators_decide_20_items_by_keyboard_none_twice_none_lost(server, api, tabs) -> None:
    bot = new_key(api, "room1-bot", "bot", [ROOM])
    alice = tabs(f"{server.url}/console/moderate", new_key(api, "alice", "moderator", [ROOM]))
    bob = tabs(f"{server.url}/console/moderate", new_key(api, "bob", "moderator", [ROOM]))
    flag(api, bot, range(20))
    for tab in (alice, bob):
        start(tab)
    alice.page.wait_for_selector("#item:not([hidden])")
    alice.shot("moderate")
    decided: dict[str, list[str]] = {"alice": [], "bob": []}
    for _round in range(100):  # a bound on rounds, not on time
        if sum(map(len, decided.values())) == 20:
            break
        for name, tab in (("alice", alice), ("bob", bob)):
            got = decide_by_key(tab, "d")
            if got:
                decided[name].append(got)
        if sum(map(len, decided.values())) < 20 and not (alice.page.is_visible("#item") or bob.page.is_visible("#item")):
            # neither shows an item this instant (the feeds are handing out the next ones):
            # look at each page in turn until one does (a poll bounded by the rounds)
            for tab in (alice, bob):
                try:
                    tab.page.wait_for_selector("#item:not([hidden])", timeout=POLL_MS)
                    break
                except PlaywrightTimeout:
                    continue
    every = decided["alice"] + decided["bob"]
    assert len(every) == 20 and len(set(every)) == 20, decided  # none twice, none lost
    assert decided["alice"] and decided["bob"]  # both worked the room
    stats = api.get("/v1/moderation/stats", params={"room": ROOM}).json()["rooms"][0]
    assert stats["depth"] == 0 and stats["decisions"] == {"alice": len(decided["alice"]), "bob": len(decided["bob"])}
    assert stats["shift"]["decisions"] == stats["decisions"]  # all of them in this shift

    # the room's action feed shows each delete: over the API, and on the operator's live view
    feed = api.get(f"/v1/rooms/{ROOM}/actions", params={"after": "0", "count": 1000}).json()["actions"]
    hidden = sorted(a["comment_id"] for a in feed if a["kind"] == "hide_comment")
    assert hidden == sorted(f"m{i}" for i in range(20))
    operator = tabs(f"{server.url}/console/rooms/{ROOM}", "adm-console-test-key-0001")
    operator.page.wait_for_function("() => document.querySelectorAll('#live-actions li[data-kind=hide_comment]').length === 20")
    shown = operator.page.eval_on_selector_all("#live-actions li[data-kind=hide_comment]", "els => els.map(e => e.dataset.commentId)")
    assert sorted(shown) == hidden
    # this shift's decisions per moderator (column 4), beside the all-time ones (column 5)
    shift_cell = f"alice {len(decided['alice'])}", f"bob {len(decided['bob'])}"
    alice.page.wait_for_function("(want) => (document.querySelector('#stats tbody td:nth-child(4)')?.textContent || '').split('，').sort().join() === want.join()", arg=sorted(shift_cell))
    alice.shot("moderate-stats")
    assert alice.errors == [] and bob.errors == [] and operator.errors == []


def test_a_dropped_connection_resumes_without_losing_an_item(server, api, tabs) -> None:
    bot = new_key(api, "room1-bot", "bot", [ROOM])
    alice = tabs(f"{server.url}/console/moderate", new_key(api, "alice", "moderator", [ROOM]), expected_errors=("ERR_", "Failed to fetch", "network"))
    flag(api, bot, range(2))
    start(alice)
    alice.page.wait_for_function("() => document.querySelectorAll('#held li').length === 2")
    before = alice.page.eval_on_selector_all("#held li", "els => els.map(e => e.dataset.itemId)")

    server.restart()  # every open connection is dropped; the browser is not told
    alice.page.wait_for_selector("#conn.bad", timeout=GUARD_MS)
    alice.shot("moderate-reconnecting")
    flag(api, bot, range(2, 3))  # flagged while the moderator was away
    alice.page.wait_for_selector("#conn.ok")
    alice.page.wait_for_function("() => document.querySelectorAll('#held li').length === 3")
    after = alice.page.eval_on_selector_all("#held li", "els => els.map(e => e.dataset.itemId)")
    assert after[:2] == before and len(set(after)) == 3  # the held items came back, the new one too

    decided = [decide_by_key(alice, "a") for _ in range(2)]
    # the last one answered with an edited standard answer, typed and sent from the keyboard
    alice.page.focus("#reply-text")
    alice.page.fill("#reply-text", "亲，我们是品牌官方授权店，支持专柜验货")
    decided.append(decide_by_key(alice, "Control+Enter"))
    assert sorted(decided) == sorted(after)
    posted = api.get(f"/v1/rooms/{ROOM}/actions", params={"after": "0"}).json()["actions"]
    assert [a["text"] for a in posted if a["kind"] == "post_text"] == ["亲，我们是品牌官方授权店，支持专柜验货"]
    stats = api.get("/v1/moderation/stats", params={"room": ROOM}).json()["rooms"][0]
    assert stats["depth"] == 0 and stats["decisions"] == {"alice": 3}
    assert alice.errors == []


def test_a_decision_made_elsewhere_leaves_the_screen(server, api, tabs) -> None:
    bot = new_key(api, "room1-bot", "bot", [ROOM])
    alice = tabs(f"{server.url}/console/moderate", new_key(api, "alice", "moderator", [ROOM]))
    carol = {"Authorization": "Bearer " + new_key(api, "carol", "moderator", [ROOM])}
    flag(api, bot, range(1))
    start(alice)
    alice.page.wait_for_selector("#item:not([hidden])")
    item_id = alice.page.get_attribute("#item", "data-item-id")
    r = api.post(f"/v1/moderation/items/{item_id}/decision", json={"action": "delete"}, headers=carol)  # e.g. from the audit, by curl
    assert r.status_code == 200 and r.json()["applied_now"] is True
    alice.page.wait_for_selector("#item", state="hidden")
    assert "carol" in alice.page.inner_text("#gone-note") and "删除" in alice.page.inner_text("#gone-note")
    assert alice.errors == []


@pytest.mark.parametrize("services", [{"moderation_claim_seconds": 2.0}], indirect=True)
def test_an_item_held_past_the_claim_time_says_it_went_back(server, api, tabs) -> None:
    bot = new_key(api, "room1-bot", "bot", [ROOM])
    alice = tabs(f"{server.url}/console/moderate", new_key(api, "alice", "moderator", [ROOM]))
    flag(api, bot, range(1))
    start(alice)
    alice.page.wait_for_selector("#item:not([hidden])")
    item_id = alice.page.get_attribute("#item", "data-item-id")
    alice.page.wait_for_selector("#item-expiry.expired")  # the countdown ran out on her screen
    assert "退回队列" in alice.page.inner_text("#item-expiry")
    alice.shot("moderate-expired")

    bob = tabs(f"{server.url}/console/moderate", new_key(api, "bob", "moderator", [ROOM]))
    start(bob)
    bob.page.wait_for_selector("#item:not([hidden])")
    assert bob.page.get_attribute("#item", "data-item-id") == item_id  # her overdue item went to bob
    assert decide_by_key(bob, "a") == item_id
    # it left alice's screen, saying where it went (returned, or decided by bob if her feed
    # had taken it back once bob's own claim time ran out)
    alice.page.wait_for_selector("#item", state="hidden")
    note = alice.page.inner_text("#gone-note")
    assert "退回队列" in note or "bob" in note
    assert alice.errors == [] and bob.errors == []


def test_a_storm_is_one_item_showing_its_count_and_one_key_decides_every_comment(server, api, tabs) -> None:
    bot = new_key(api, "room1-bot", "bot", [ROOM])
    texts = ["骗子 钱收了不发货", "骗子 钱收了不发货???", "骗子 钱收了不发货😭", "骗子 钱收了不发货", "骗子 钱收了不发货货"]
    storm = [{"id": f"s{i}", "room": ROOM, "user": f"u{i % 3}", "nickname": f"观众{i % 3}", "text": t, "ts": 1764075600000 + i * 20_000} for i, t in enumerate(texts)]
    r = api.post("/v1/reply/batch", json={"comments": storm}, headers={"Authorization": f"Bearer {bot}"})
    assert r.status_code == 200 and {x["moderation"]["action"] for x in r.json()["results"]} == {"review"}, r.text
    alice = tabs(f"{server.url}/console/moderate", new_key(api, "alice", "moderator", [ROOM]))
    start(alice)
    alice.page.wait_for_selector("#item-group:not([hidden])")
    assert alice.page.inner_text("#item-repeats") == "×5 条，来自 3 位用户"
    assert alice.page.inner_text("#held li") == "骗子 钱收了不发货 ×5"
    alice.page.click("#item-group summary")
    shown = alice.page.eval_on_selector_all("#item-members li", "els => els.map(e => e.dataset.commentId)")
    assert shown == [c["id"] for c in storm]
    assert "观众1（u1）：骗子 钱收了不发货???" in alice.page.inner_text("#item-members")
    alice.shot("moderate-group")
    decide_by_key(alice, "d")
    assert alice.page.inner_text("#done li").endswith("×5")
    feed = api.get(f"/v1/rooms/{ROOM}/actions", params={"after": "0"}).json()["actions"]
    assert [(a["kind"], a["comment_id"]) for a in feed] == [("hide_comment", c["id"]) for c in storm]
    assert alice.errors == []
