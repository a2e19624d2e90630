"""The operators' live room in a real browser: a comment sent through /v1/reply appears with its
labels and the reply it got (or why none); a rule's schedule is edited as several windows."""

from __future__ import annotations

from tests.console.conftest import ADMIN, ROOM, reply, room_with_rule


def test_comments_sent_through_reply_appear_live_with_labels_and_reply(server, services, api, tabs) -> None:
    rule = {"id": "lottery", "scope": ROOM, "priority": 5, "match": {"any": ["福袋"]}, "replies": ["福袋{lottery_time}开"]}
    bot = room_with_rule(api, services, {"lottery_time": "8点整"}, rule)
    first = reply(api, bot, 1, "哈哈哈")  # before the page opens: it comes with the backlog

    tab = tabs(f"{server.url}/console/rooms/{ROOM}", ADMIN)
    page = tab.page
    page.wait_for_selector("#live-comments tr[data-comment-id=c1]")
    assert first["reason"] == "no_match" and "未命中规则" in page.inner_text("#live-comments tr[data-comment-id=c1]")

    answered = reply(api, bot, 2, "福袋几点开")
    blocked = reply(api, bot, 3, "加微信 vx123456 领福利")
    row = page.wait_for_selector("#live-comments tr[data-comment-id=c2]")
    assert answered["reply"]["text"] == "@观众2 福袋8点整开"
    assert "回复：@观众2 福袋8点整开" in row.inner_text() and "观众2" in row.inner_text() and "福袋几点开" in row.inner_text()
    assert row.query_selector(".tag-intent").get_attribute("data-id") == answered["intent"]["label"] == "ask_lottery"
    assert row.query_selector(".tag-sentiment").get_attribute("data-id") == answered["sentiment"]["label"]
    row3 = page.wait_for_selector("#live-comments tr[data-comment-id=c3][data-action=block]")
    categories = row3.eval_on_selector_all(".tag-category", "els => els.map(e => e.dataset.id)")
    assert categories == blocked["moderation"]["categories"] and "ad_contact" in categories
    assert "被审核拦截" in row3.inner_text()
    # newest on top
    assert page.eval_on_selector_all("#live-comments tbody tr", "els => els.map(e => e.dataset.commentId)")[:3] == ["c3", "c2", "c1"]

    # paused: new rows wait, then come in order
    page.check("#live-pause")
    reply(api, bot, 4, "主播好")
    page.wait_for_selector("#live-comments-status:has-text('攒下 1 条')")
    assert page.locator("#live-comments tr[data-comment-id=c4]").count() == 0
    page.uncheck("#live-pause")
    page.wait_for_selector("#live-comments tr[data-comment-id=c4]")
    page.locator("#live").scroll_into_view_if_needed()
    tab.shot("live-room")
    assert tab.errors == []


def test_a_rule_schedule_with_several_windows_is_edited_in_the_console(server, services, api, tabs) -> None:
    rule = {"id": "coupon", "scope": ROOM, "priority": 10, "match": {"any": ["优惠券"]}, "replies": ["券在小黄车上方"],
            "schedule": {"timezone": "Asia/Shanghai", "windows": [{"start": "20:00", "end": "21:00", "days": [5, 6]}]}}  # fmt: skip
    assert api.post("/v1/rules", json=rule).status_code == 201
    tab = tabs(f"{server.url}/console/rooms/{ROOM}", ADMIN, expected_errors=("status of 422",))
    page = tab.page
    page.get_by_role("button", name="编辑 coupon").click()
    rows = page.locator("#rule-windows .window")
    assert rows.count() == 1 and rows.nth(0).locator(".win-start").input_value() == "20:00"
    assert rows.nth(0).locator(".win-day:checked").count() == 2  # its days are kept
    page.get_by_role("button", name="添加时段").click()
    second = rows.nth(1)
    assert page.evaluate("() => document.activeElement.classList.contains('win-start')")  # the new window's start has the focus
    second.locator(".win-start").fill("12:00")
    second.locator(".win-end").fill("13:30")
    second.get_by_label("周日").uncheck()
    page.get_by_role("button", name="添加时段").click()
    rows.nth(2).locator(".win-start").fill("23:00")  # no end: the API says so beside the schedule
    page.get_by_role("button", name="保存规则").click()
    end = page.wait_for_selector("#rule-windows .window:nth-child(3) .win-end[aria-invalid=true]")  # beside the window it is about
    assert "时段 3 的结束时间" in page.inner_text(f"#err-{end.get_attribute('id')}")
    tab.shot("rule-schedule")
    rows.nth(2).get_by_role("button", name="删除此时段").click()
    page.get_by_role("button", name="保存规则").click()
    page.wait_for_selector("#rule-form", state="hidden")
    page.wait_for_selector("tr[data-rule='room1/coupon']:has-text('20:00–21:00，12:00–13:30')")

    saved = next(r for r in api.get("/v1/rules", params={"scope": ROOM}).json()["rules"] if r["id"] == "coupon")
    windows = [(w["start"][:5], w["end"][:5], w["days"]) for w in saved["schedule"]["windows"]]
    assert windows == [("20:00", "21:00", [5, 6]), ("12:00", "13:30", [0, 1, 2, 3, 4, 5])]
    assert tab.errors == []
