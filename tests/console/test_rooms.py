"""The operators' page in a real browser: a rule edited there changes the next /v1/reply, a
word added to a list blocks the next comment, the API's validation shows beside the field."""

from __future__ import annotations

import httpx

from tests.console.conftest import ADMIN, ROOM, new_key, reply, room_with_rule, settled


def test_a_rule_edited_in_the_console_changes_the_next_reply(server, services, api, tabs) -> None:
    rule = {"id": "coupon", "scope": ROOM, "priority": 10, "match": {"any": ["优惠券"]}, "replies": ["优惠券在小黄车上方"]}
    bot = room_with_rule(api, services, {"coupon_code": "LIVE20"}, rule)
    before = api.post("/v1/rules/dry-run", json={"room": ROOM, "text": "优惠券在哪", "nickname": "观众1"}).json()
    assert before["fired"]["would_reply"] == "@观众1 优惠券在小黄车上方"  # (a real reply would open the rule's window)

    tab = tabs(f"{server.url}/console/rooms/{ROOM}", ADMIN, expected_errors=("status of 422",))
    page = tab.page
    page.get_by_role("button", name="编辑 coupon").click()
    # the API's own validation, shown beside the field it is about
    page.fill("#rule-regex", "(a+)+")
    page.get_by_role("button", name="保存规则").click()
    page.wait_for_selector("#rule-regex[aria-invalid=true]")
    assert "backtracks" in page.inner_text("#err-rule-regex")
    page.fill("#rule-replies", "口令{coupon_code}，券在小黄车上方")
    page.locator("#rule-regex").scroll_into_view_if_needed()
    tab.shot("rule-editor")
    page.fill("#rule-regex", "")
    assert page.locator("#err-rule-regex").count() == 0  # the field's error goes with the edit
    page.get_by_role("button", name="保存规则").click()
    page.wait_for_selector("#rule-form", state="hidden")

    # the dry run shows exactly what the bot will post
    page.fill("#try-text", "优惠券怎么领")
    page.get_by_role("button", name="试运行").click()
    page.wait_for_selector("#would-reply")
    assert page.inner_text("#would-reply") == "@小鱼儿 口令LIVE20，券在小黄车上方"
    tab.shot("room", full_page=True)

    assert settled(services)
    assert reply(api, bot, 2, "优惠券在哪")["reply"]["text"] == "@观众2 口令LIVE20，券在小黄车上方"  # the next /v1/reply
    page.get_by_role("button", name="停用 coupon").click()
    page.wait_for_selector("tr.disabled[data-rule='room1/coupon']")
    assert settled(services)
    after = api.post("/v1/rules/dry-run", json={"room": ROOM, "text": "优惠券在哪"}).json()
    assert after["fired"] is None and {"rule_id": "coupon", "priority": 10, "outcome": "disabled", "detail": ""} in after["considered"]
    assert tab.errors == []


def test_a_word_added_in_the_console_blocks_the_next_comment(server, services, api, tabs) -> None:
    bot = new_key(api, "room1-bot", "bot", [ROOM])
    assert reply(api, bot, 1, "蓝莓派真好吃")["moderation"]["action"] == "pass"

    tab = tabs(f"{server.url}/console/rooms/{ROOM}", ADMIN)
    page = tab.page
    page.select_option("#list-category", "abuse")
    page.fill("#list-add-term", "蓝莓派")
    page.keyboard.press("Enter")
    page.fill("#list-search", "蓝莓")
    page.keyboard.press("Enter")
    page.wait_for_selector("#list-terms li:has-text('蓝莓派')")
    tab.shot("word-lists")

    assert settled(services)
    blocked = reply(api, bot, 2, "蓝莓派真好吃")
    assert blocked["moderation"]["action"] == "block" and blocked["moderation"]["categories"] == ["abuse"]
    assert api.get(f"/v1/moderation/lists/{ROOM}/abuse", params={"q": "蓝莓"}).json()["added"] == ["蓝莓派"]

    page.get_by_role("button", name="移除 蓝莓派").click()
    page.wait_for_selector("#list-terms li:has-text('蓝莓派')", state="detached")
    assert settled(services)
    assert reply(api, bot, 3, "蓝莓派真好吃")["moderation"]["action"] == "pass"
    assert tab.errors == []


def test_console_pages_carry_a_strict_policy_and_no_inline_script(server) -> None:
    import re

    for path in ("/console", "/console/moderate", f"/console/rooms/{ROOM}"):
        r = httpx.get(server.url + path)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S)
        assert scripts and all('src="/console/static/' in attrs or 'type="application/json"' in attrs for attrs, _ in scripts)
        assert 'lang="zh-CN"' in r.text
        for control in re.findall(r'<(?:input|select|textarea)[^>]*id="([^"]+)"', r.text):  # every control has a label
            assert f'for="{control}"' in r.text, control
    assert httpx.get(server.url + "/console/rooms/bad%20room").status_code == 422
    vendored = httpx.get(server.url + "/console/static/vendor/fetch-event-source/index.js")
    assert vendored.status_code == 200 and "fetchEventSource" in vendored.text


def test_the_pages_fit_a_laptop_at_200_percent_zoom(server, api, tabs) -> None:
    api.post("/v1/rules", json={"id": "a_rule_with_a_long_unbreakable_identifier", "scope": ROOM, "match": {"any": ["链接"]}, "replies": ["小黄车3号链接"]})
    for path, ready in (("/console/moderate", "#start"), (f"/console/rooms/{ROOM}", "#rules-table tbody tr")):
        tab = tabs(server.url + path, ADMIN, zoom=2)
        tab.page.wait_for_selector(ready)
        assert tab.page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), path  # no sideways scrolling
        tab.page.keyboard.press("Shift+Tab")  # the keyboard's place is visible: the focused control draws an outline
        focused = tab.page.evaluate("() => [document.activeElement.tagName, getComputedStyle(document.activeElement).outlineStyle]")
        assert focused[0] != "BODY" and focused[1] != "none", (path, focused)
        tab.shot("zoom-200" + path.replace("/", "-"))
        assert tab.errors == []


def test_a_wrong_key_is_refused_with_a_message_and_never_kept(server, browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(f"{server.url}/console/rooms/{ROOM}")
        page.fill("#api-key", "not-a-key")
        page.keyboard.press("Enter")
        page.wait_for_selector("#sign-in-error:has-text('密钥无效')")
        assert page.is_hidden("#main") and page.evaluate("() => sessionStorage.length") == 0
        assert "not-a-key" not in page.url and context.cookies() == []  # never in a URL, never a cookie
    finally:
        context.close()


def test_keys_and_bans_from_the_console(server, services, api, tabs) -> None:
    tab = tabs(f"{server.url}/console/rooms/{ROOM}", ADMIN)
    page = tab.page
    page.on("dialog", lambda d: d.accept())  # the revoke confirmation
    page.fill("#key-name", "room1-bot")
    page.select_option("#key-role", "bot")
    page.get_by_role("button", name="创建密钥").click()
    page.wait_for_selector("#key-created:has-text('只显示这一次')")
    raw = page.inner_text("#key-created").rsplit("：", 1)[1].strip()
    bot = {"Authorization": f"Bearer {raw}"}
    me = httpx.get(f"{server.url}/v1/keys/me", headers=bot).json()
    assert (me["name"], me["role"], me["rooms"]) == ("room1-bot", "bot", [ROOM])
    assert raw not in page.inner_text("#keys-table")  # listed without the key itself

    page.fill("#ban-user", "troll")
    page.get_by_role("button", name="封禁", exact=True).click()
    page.wait_for_selector("#bans-table td:has-text('troll')")
    assert settled(services)
    r = httpx.post(f"{server.url}/v1/reply", json={"id": "t1", "room": ROOM, "user": "troll", "text": "几号链接"}, headers=bot).json()
    assert r["reason"] == "banned"
    page.get_by_role("button", name="解除 troll").click()
    page.wait_for_selector("#bans-table td:has-text('troll')", state="detached")

    page.get_by_role("button", name="吊销 room1-bot").click()
    page.wait_for_selector("#keys-table td:has-text('room1-bot')", state="detached")
    assert httpx.get(f"{server.url}/v1/keys/me", headers=bot).status_code == 401
    assert tab.errors == []
