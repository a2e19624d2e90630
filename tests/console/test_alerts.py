"""A replayed room with a planted mood spike: the alert is pinned on top of the moderators'
page with the room's pulse chart, the spike minutes marked."""

from __future__ import annotations

import json

from nlp_service.core.config import PROJECT_ROOT
from tests.console.conftest import ADMIN, new_key

ROOM = "spike-room"
SAMPLE = PROJECT_ROOT / "data" / "replay" / "sample_room.jsonl"  # the planted shipping-complaint spike at minutes 13-15


def test_the_spike_alert_appears_pinned_when_a_room_with_a_planted_spike_is_replayed(server, api, tabs) -> None:
    bot = {"Authorization": "Bearer " + new_key(api, "spike-bot", "bot", [ROOM])}
    rule = {"id": "link", "scope": ROOM, "match": {"any": ["链接", "上链接"]}, "replies": ["小黄车3号链接"]}
    assert api.post("/v1/rules", json=rule).status_code == 201
    comments = [{**json.loads(line), "room": ROOM} for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    comments.sort(key=lambda c: c["ts"])
    for start in range(0, len(comments), 500):  # the recording's order; its own clock (ts) shapes the pulse
        r = api.post("/v1/reply/batch", json={"comments": comments[start : start + 500]}, headers=bot)
        assert r.status_code == 200, r.text

    tab = tabs(f"{server.url}/console/moderate", new_key(api, "carol", "moderator", [ROOM]))
    page = tab.page
    page.keyboard.press("Enter")  # start: the button has focus after sign-in
    # the state-poll thread judges the replayed minutes; the alert is pulled before any comment
    page.wait_for_selector("#alerts:not([hidden]) .alert-card svg rect.spike")
    cards = page.locator("#alert-list .alert-card")
    assert cards.count() >= 1
    # pinned on top: above the comment in focus, whatever else the moderator holds
    assert page.eval_on_selector("#alerts", "e => e.getBoundingClientRect().top") < page.eval_on_selector("#focus-title", "e => e.getBoundingClientRect().top")
    label = page.get_attribute("#alert-list .alert-card svg", "aria-label")
    assert "突变分钟" in label
    assert "负面高频词" in page.inner_text("#alert-list .alert-card")
    pulse = api.get(f"/v1/rooms/{ROOM}/pulse", params={"minutes": 60}).json()
    marked = page.eval_on_selector_all("#alert-list .alert-card:first-child svg rect.spike", "els => els.length")
    assert marked == sum(m["alert"] for m in pulse["minutes"] if m in pulse["minutes"][-30:]) > 0
    tab.shot("alert")

    # the operator's live view of the same room: its pulse, and what became of its questions
    operator = tabs(f"{server.url}/console/rooms/{ROOM}", ADMIN)
    operator.page.wait_for_selector("#live-pulse svg rect.spike")
    operator.page.wait_for_selector("#live-replies tr[data-outcome=reply]")
    outcomes = api.get(f"/v1/rooms/{ROOM}/replies").json()
    assert operator.page.inner_text("#live-replies tr[data-outcome=reply] td:nth-child(2)") == str(outcomes["decisions"]["reply"])
    held_back = [k for k in outcomes["decisions"] if k != "reply"]  # aggregated, budget, … : why not replied
    assert held_back and all(operator.page.locator(f"#live-replies tr[data-outcome={k}]").count() == 1 for k in held_back)
    operator.page.locator("#live").scroll_into_view_if_needed()
    operator.shot("live-room")
    assert operator.errors == []

    # acknowledged, it leaves the screen and the queue
    page.locator("#alert-list .alert-card").first.get_by_role("button", name="知道了").click()
    page.wait_for_function(f"() => document.querySelectorAll('#alert-list .alert-card').length < {cards.count() + 1}")
    assert tab.errors == []
