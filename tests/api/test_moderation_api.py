from nlp_service.live.services import Services
from nlp_service.store.version import state_version
from tests.waiting import StateWatch


def comment(i, text="主播是骗子 卖假货", room="room1", user=None):
    return {"id": f"m{i}", "room": room, "user": user or f"u{i}", "nickname": f"n{i}", "text": text}


def key(client, admin, role, rooms=("*",), name=None):
    body = {"name": name or f"{role}-{'-'.join(rooms)}", "role": role, "rooms": list(rooms)}
    return {"Authorization": "Bearer " + client.post("/v1/keys", json=body, headers=admin).json()["key"]}


def test_moderator_workflow(client, admin, bot) -> None:
    mod = key(client, admin, "moderator", ["room1"], name="alice")
    r = client.post("/v1/reply", json=comment(1), headers=bot).json()
    assert r["moderation"]["action"] == "review" and "fraud_claim" in r["moderation"]["categories"]
    items = client.post("/v1/moderation/pull", json={"count": 5}, headers=mod).json()["items"]
    assert len(items) == 1
    item = items[0]
    assert item["comment"]["text"] == "主播是骗子 卖假货" and item["suggested_reply"]
    assert {t["term"] for t in item["moderation"]["terms"]} >= {"骗子"}
    url = f"/v1/moderation/items/{item['item_id']}/decision"
    first = client.post(url, json={"action": "reply", "reply_text": "放心，正品保障", "reason": "standard answer"}, headers=mod).json()
    assert first["applied_now"] is True
    again = client.post(url, json={"action": "delete"}, headers=mod).json()
    assert again["applied_now"] is False and again["decision"]["action"] == "reply"
    stats = client.get("/v1/moderation/stats", headers=mod).json()["rooms"][0]
    assert stats["depth"] == 0 and stats["decisions"] == {"alice": 1}


def test_a_storm_is_one_item_over_the_api_and_its_decision_reaches_every_comment(client, admin, bot) -> None:
    mod = key(client, admin, "moderator", ["room1"], name="alice")
    storm = [comment(i, text=t, user=f"u{i % 2}") for i, t in enumerate(["主播是骗子 卖假货", "主播是骗子 卖假货???", "主播是骗子 卖假货😭"])]
    assert client.post("/v1/reply/batch", json={"comments": storm}, headers=bot).status_code == 200
    [item] = client.post("/v1/moderation/pull", json={"count": 5}, headers=mod).json()["items"]
    assert item["comment"]["id"] == "m0" and item["deliveries"] == 1  # the fields a moderator had, as they were
    assert item["repeats"] == 3 and item["repeat_users"] == 2
    assert [(m["id"], m["user"], m["nickname"], m["text"]) for m in item["members"]] == [(c["id"], c["user"], c["nickname"], c["text"]) for c in storm]
    [held] = client.get("/v1/moderation/mine", headers=mod).json()["items"]
    assert held["repeats"] == 3 and len(held["members"]) == 3
    out = client.post(f"/v1/moderation/items/{item['item_id']}/decision", json={"action": "delete"}, headers=mod).json()
    assert out["applied_now"] and out["decision"]["repeats"] == 3 and out["decision"]["repeat_users"] == 2
    feed = client.get("/v1/rooms/room1/actions", headers=bot).json()["actions"]
    assert [(a["kind"], a["comment_id"]) for a in feed] == [("hide_comment", f"m{i}") for i in range(3)]


def test_moderation_auth_and_errors(client, admin, bot) -> None:
    other_room = key(client, admin, "moderator", ["room2"])
    assert client.post("/v1/moderation/pull", json={"rooms": ["room1"]}, headers=other_room).status_code == 403
    assert client.post("/v1/moderation/pull", json={}, headers=bot).status_code == 403
    assert client.post("/v1/moderation/pull", json={}).status_code == 401
    mod = key(client, admin, "moderator")
    missing = client.post("/v1/moderation/items/room1~1-1/decision", json={"action": "approve"}, headers=mod)
    assert missing.status_code == 404
    bad = client.post("/v1/moderation/items/room1~1-1/decision", json={"action": "explode"}, headers=mod)
    assert bad.status_code == 422 and "approve" in bad.json()["error"]["message"]
    assert client.post("/v1/moderation/items/nonsense/decision", json={"action": "approve"}, headers=mod).status_code == 404


def test_word_list_change_reaches_another_instance_without_restart(client, admin, services, rclient, svc_settings) -> None:
    other = Services.start(svc_settings, rclient, poll=True)
    watch = StateWatch(other.state)
    try:
        assert other.engine.handle([_c("蓝莓派是好东西")])[0].moderation["action"] == "pass"
        r = client.post("/v1/moderation/lists/global/ad_contact", json={"add": ["蓝莓派"]}, headers=admin)
        assert r.json() == {"added": 1, "removed": 0}
        assert watch.reaches(state_version(rclient, services.keys))
        assert other.engine.handle([_c("蓝莓派是好东西", i=2)])[0].moderation["action"] == "block"
        client.post("/v1/moderation/lists/room1/allow", json={"add": ["蓝莓派是好东西"]}, headers=admin)
        assert watch.reaches(state_version(rclient, services.keys))
        assert other.engine.handle([_c("蓝莓派是好东西", i=3)])[0].moderation["action"] == "pass"
    finally:
        other.close()
    bad = client.post("/v1/moderation/lists/global/nonsense", json={"add": ["x"]}, headers=admin)
    assert bad.status_code == 422


def _c(text, i=1):
    from nlp_service.live.types import Comment

    return Comment(f"x{i}", "room1", f"u{i}", "n", text)


def test_pulse_bans_and_moderate_endpoints(client, admin, bot, services) -> None:
    mod = key(client, admin, "moderator", ["room1"])
    analyst = key(client, admin, "analyst")
    for i in range(3):
        client.post("/v1/reply", json={**comment(i, text="发货太慢了 骗子"), "ts": 1764072600000 + i}, headers=bot)
    pulse = client.get("/v1/rooms/room1/pulse", headers=mod).json()
    [minute] = pulse["minutes"]
    assert minute["comments"] == 3 and minute["sentiment"]["negative"] == 3 and minute["shares"]["negative"] == 1.0
    assert minute["minute"] == "2025-11-25T20:10:00+08:00" and minute["ts"] == 1764072600000
    assert pulse["timezone"] == "Asia/Shanghai" and pulse["top_negative_words"] and pulse["alerts"] == []
    utc = client.get("/v1/rooms/room1/pulse", params={"tz": "UTC"}, headers=mod).json()
    assert utc["minutes"][0]["minute"] == "2025-11-25T12:10:00+00:00"
    bad = client.get("/v1/rooms/room1/pulse", params={"tz": "Mars/Olympus"}, headers=mod)
    assert bad.status_code == 422 and "Mars/Olympus" in bad.json()["error"]["message"]
    assert client.get("/v1/rooms/room1/pulse", headers=bot).status_code == 403
    # bans (admin only); the banned user's next comment is blocked without analysis
    assert client.post("/v1/rooms/room1/bans", json={"user": "troll", "seconds": 60}, headers=mod).status_code == 403
    assert client.post("/v1/rooms/room1/bans", json={"user": "troll", "seconds": 60}, headers=admin).status_code == 201
    services.state.refresh()
    r = client.post("/v1/reply", json=comment(9, text="几号链接", user="troll"), headers=bot).json()
    assert r["reason"] == "banned" and r["intent"] is None and r["moderation"]["action"] == "block"
    assert "troll" in client.get("/v1/rooms/room1/bans", headers=admin).json()["bans"]
    assert client.delete("/v1/rooms/room1/bans/troll", headers=admin).status_code == 204
    # moderation alone, any role, nothing queued
    before = services.client.xlen(services.keys.mod_stream("room1"))
    for h in (bot, mod, analyst, admin):
        m = client.post("/v1/moderate", json={"text": "加薇信 13812345678", "room": "room1"}, headers=h).json()
        assert m["action"] == "block" and "ad_contact" in m["categories"] and m["terms"]
    assert services.client.xlen(services.keys.mod_stream("room1")) == before
    assert client.post("/v1/moderate", json={"text": "x"}).status_code == 401


def test_remaining_auth_cases(client, admin, bot) -> None:
    room2_mod = key(client, admin, "moderator", ["room2"])
    room1_mod = key(client, admin, "moderator", ["room1"])
    client.post("/v1/reply", json=comment(1), headers=bot)
    [item] = client.post("/v1/moderation/pull", json={}, headers=room1_mod).json()["items"]
    url = f"/v1/moderation/items/{item['item_id']}/decision"
    assert client.post(url, json={"action": "approve"}, headers=room2_mod).status_code == 403
    assert client.post(url, json={"action": "approve"}, headers=bot).status_code == 403
    assert client.post(url, json={"action": "approve"}).status_code == 401
    assert client.get("/v1/moderation/stats?room=room1", headers=room2_mod).status_code == 403
    assert client.post("/v1/moderation/lists/global/abuse", json={"add": ["x"]}, headers=room1_mod).status_code == 403
    assert client.post("/v1/rooms/room1/bans", json={"user": "u", "seconds": 5}, headers=bot).status_code == 403
    assert client.post(url, json={"action": "approve"}, headers=room1_mod).status_code == 200


def test_moderate_is_scoped_to_the_key_rooms(client, bot) -> None:
    ok = client.post("/v1/moderate", json={"text": "加薇信 13812345678", "room": "room1"}, headers=bot)
    assert ok.status_code == 200 and ok.json()["action"] == "block"
    other = client.post("/v1/moderate", json={"text": "加薇信 13812345678", "room": "room2"}, headers=bot)
    assert other.status_code == 403 and "room2" in other.json()["error"]["message"]
    base = client.post("/v1/moderate", json={"text": "加薇信 13812345678"}, headers=bot)  # global: the base lists
    assert base.status_code == 200 and base.json()["room"] == "global"


def test_library_moderate_gives_the_api_answer(client, bot) -> None:
    """nlp_service.moderate(text) is POST /v1/moderate with the base lists, field for field."""
    import nlp_service

    for text in ["加薇信 13812345678", "主播是骗子 卖假货", "大家避雷 别买", "困死我了", "[捂脸]", "几号链接"]:
        served = client.post("/v1/moderate", json={"text": text}, headers=bot).json()
        assert nlp_service.moderate(text) == served, text


def test_room_names_are_checked_everywhere(client, admin, bot) -> None:
    """A room name no comment could carry is refused on every path and body that names one."""
    bad = "bad room!"
    assert client.post(f"/v1/rooms/{bad}/bans", json={"user": "u", "seconds": 5}, headers=admin).status_code == 422
    assert client.post(f"/v1/moderation/lists/{bad}/abuse", json={"add": ["x"]}, headers=admin).status_code == 422
    assert client.get(f"/v1/rooms/{bad}/actions", headers=bot).status_code == 422
    assert client.put(f"/v1/rooms/{bad}/variables", json={"a": "b"}, headers=admin).status_code == 422
    assert client.post("/v1/keys", json={"name": "k", "role": "bot", "rooms": [bad]}, headers=admin).status_code == 422
    assert client.post("/v1/keys", json={"name": "k", "role": "bot", "rooms": ["room1", "*"]}, headers=admin).status_code == 201


def test_who_am_i_and_a_word_list_as_an_operator_reads_it(client, admin) -> None:
    mod = key(client, admin, "moderator", ["room1"], name="alice")
    me = client.get("/v1/keys/me", headers=mod).json()
    assert (me["name"], me["role"], me["rooms"]) == ("alice", "moderator", ["room1"]) and me["key_id"] and "key" not in me
    assert client.get("/v1/keys/me").status_code == 401
    client.post("/v1/moderation/lists/room1/abuse", json={"add": ["蓝莓派"]}, headers=admin)
    client.post("/v1/moderation/lists/global/abuse", json={"add": ["蓝莓干"]}, headers=admin)
    room = client.get("/v1/moderation/lists/room1/abuse?q=蓝莓", headers=admin).json()
    assert room["terms"] == ["蓝莓干", "蓝莓派"] and room["added"] == ["蓝莓派"] and room["total"] == 2
    assert client.get("/v1/moderation/lists/global/abuse?q=蓝莓", headers=admin).json()["terms"] == ["蓝莓干"]
    assert client.get("/v1/moderation/lists/room1/abuse", headers=mod).status_code == 403
    bad = client.get("/v1/moderation/lists/room1/nonsense", headers=admin)
    assert bad.status_code == 422 and "abuse" in bad.json()["error"]["message"]
