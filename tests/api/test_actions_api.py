"""The room's action feed: moderators' decisions and admin bans reach the room's bot,
by long-poll and by Server-Sent Events, and a bot that resumes with its last id misses nothing."""

from tests.api.test_moderation_api import comment, key
from tests.sse import read_events


def _flag(client, bot, i: int, text: str | None = None) -> None:
    """A flagged comment; by default a text of its own (the same text would join one item)."""
    client.post("/v1/reply", json={**comment(i, text=text or f"主播就是个骗子 卖假货{i}"), "ts": 1764072600000 + i}, headers=bot)


def _decide(client, mod, item_id: str, **body) -> None:
    r = client.post(f"/v1/moderation/items/{item_id}/decision", json=body, headers=mod)
    assert r.status_code == 200, r.text


def test_delete_and_reply_reach_the_feed_and_a_resuming_bot_misses_nothing(client, admin, bot) -> None:
    mod = key(client, admin, "moderator", ["room1"])
    for i in range(3):
        _flag(client, bot, i)
    items = client.post("/v1/moderation/pull", json={"count": 3}, headers=mod).json()["items"]
    assert len(items) == 3
    _decide(client, mod, items[0]["item_id"], action="delete", reason="造谣")
    first = client.get("/v1/rooms/room1/actions", headers=bot).json()
    assert [a["kind"] for a in first["actions"]] == ["hide_comment"]
    assert first["actions"][0]["comment_id"] == items[0]["comment"]["id"] and first["actions"][0]["reason"] == "造谣"
    # the bot goes away; two more decisions and an admin ban happen meanwhile
    _decide(client, mod, items[1]["item_id"], action="reply", reply_text="家人们放心，假一赔十")
    _decide(client, mod, items[2]["item_id"], action="ban", ban_seconds=600)
    assert client.post("/v1/rooms/room1/bans", json={"user": "troll", "seconds": 60}, headers=admin).status_code == 201
    again = client.get("/v1/rooms/room1/actions", params={"after": first["last_id"]}, headers=bot).json()
    kinds = [a["kind"] for a in again["actions"]]
    assert kinds == ["post_text", "ban_user", "hide_comment", "ban_user"]
    assert again["actions"][0]["text"] == "家人们放心，假一赔十" and again["actions"][0]["reply_to"] == [items[1]["comment"]["id"]]
    assert again["actions"][3]["user"] == "troll"
    # nothing twice: resuming from the newest id gives nothing; the full feed has each action once
    assert client.get("/v1/rooms/room1/actions", params={"after": again["last_id"]}, headers=bot).json()["actions"] == []
    everything = client.get("/v1/rooms/room1/actions", headers=bot).json()["actions"]
    assert len(everything) == 5 and len({a["id"] for a in everything}) == 5
    # a repeated decision adds nothing
    client.post(f"/v1/moderation/items/{items[0]['item_id']}/decision", json={"action": "delete"}, headers=mod)
    assert len(client.get("/v1/rooms/room1/actions", headers=bot).json()["actions"]) == 5


def test_an_overturned_block_is_shown_again(client, admin, bot) -> None:
    mod = key(client, admin, "moderator", ["room1"])
    _flag(client, bot, 1, text="加薇信 13812345678")
    [item] = client.post("/v1/moderation/pull", json={}, headers=mod).json()["items"]
    assert item["moderation"]["action"] == "block"
    _decide(client, mod, item["item_id"], action="approve")
    [action] = client.get("/v1/rooms/room1/actions", headers=bot).json()["actions"]
    assert action["kind"] == "unhide_comment" and action["comment_id"] == item["comment"]["id"]


def test_sse_stream_resumes_from_last_event_id(client, admin, bot) -> None:
    mod = key(client, admin, "moderator", ["room1"])
    for i in range(2):
        _flag(client, bot, i)
    items = client.post("/v1/moderation/pull", json={"count": 2}, headers=mod).json()["items"]
    for it in items:
        _decide(client, mod, it["item_id"], action="delete")

    def events(headers, **params) -> list[dict]:
        return read_events(client, "/v1/rooms/room1/actions/stream", headers, **params)

    [one] = events(bot, after="0", limit=1)
    [two] = events({**bot, "Last-Event-ID": one["id"]}, limit=1)  # the reconnect
    assert one["data"]["comment_id"] == items[0]["comment"]["id"] and two["data"]["comment_id"] == items[1]["comment"]["id"]


def test_feed_is_scoped_to_the_bot_rooms_and_validates_ids(client, admin, bot) -> None:
    mod = key(client, admin, "moderator", ["room1"])
    assert client.get("/v1/rooms/room2/actions", headers=bot).status_code == 403
    assert client.get("/v1/rooms/room1/actions", headers=mod).status_code == 403
    assert client.get("/v1/rooms/room1/actions").status_code == 401
    bad = client.get("/v1/rooms/room1/actions", params={"after": "x; FLUSHALL"}, headers=bot)
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "validation_error"


def test_mine_lists_held_items_with_age_and_return_time(client, admin, bot, services) -> None:
    alice = key(client, admin, "moderator", ["room1"])
    _flag(client, bot, 1)
    _flag(client, bot, 2)
    [held] = client.post("/v1/moderation/pull", json={"count": 1}, headers=alice).json()["items"]
    mine = client.get("/v1/moderation/mine", headers=alice).json()
    assert [i["item_id"] for i in mine["items"]] == [held["item_id"]]
    claim = services.settings.moderation_claim_seconds
    assert 0 <= mine["items"][0]["returns_in_seconds"] <= claim and mine["items"][0]["deliveries"] == 1
    _decide(client, alice, held["item_id"], action="approve")
    assert client.get("/v1/moderation/mine", headers=alice).json()["items"] == []
    assert client.get("/v1/moderation/mine", headers=bot).status_code == 403


def test_a_long_poll_outlasts_the_client_socket_timeout(rclient, monkeypatch) -> None:
    """redis-py reads with a socket timeout (5 s by default in redis-py 8): a long-poll
    longer than that blocks in slices and returns empty, never a timeout error."""
    import redis

    from nlp_service.store import actions
    from nlp_service.store.redis import Keys

    pool = rclient.connection_pool
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if not k.startswith("orig_")}
    short = redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **{**kwargs, "socket_timeout": 0.3}))
    monkeypatch.setattr(actions, "BLOCK_SLICE_MS", 100)
    try:
        assert actions.read(short, Keys("t-longpoll"), "room1", "0-0", wait_ms=800) == []
    finally:
        short.close()
