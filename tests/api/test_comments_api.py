"""The room's live comment feed (``store/roomfeed.py``, ``api/routes/comments.py``)."""

from nlp_service.store import roomfeed
from tests.api.test_moderation_api import key
from tests.sse import read_events

RULE = {"id": "lottery", "match": {"any": ["福袋"]}, "replies": ["福袋{lottery_time}开"]}
TS = 1764072600000


def _ready(client, admin, services) -> None:
    assert client.post("/v1/rules", json=RULE, headers=admin).status_code == 201
    client.put("/v1/rooms/room1/variables", json={"lottery_time": "8点"}, headers=admin)
    client.put("/v1/rooms/room1/settings", json={"budget_per_second": 100}, headers=admin)
    services.state.refresh()


def _send(client, bot, *texts: str, start: int = 1) -> list[dict]:
    comments = [{"id": f"m{start + i}", "room": "room1", "user": f"u{start + i}", "nickname": f"n{start + i}", "text": t, "ts": TS} for i, t in enumerate(texts)]
    return client.post("/v1/reply/batch", json={"comments": comments}, headers=bot).json()["results"]


def test_every_comment_reaches_the_feed_with_its_labels_and_its_reply_or_reason(client, admin, bot, services) -> None:
    _ready(client, admin, services)
    results = _send(client, bot, "福袋几点开", "加微信领福利 vx123456", "今天好冷")
    assert client.get("/v1/rooms/room1/comments", headers=admin).json()["comments"] == []  # not in the request's round trip
    services.engine.recorder.flush()
    body = client.get("/v1/rooms/room1/comments", headers=admin).json()
    got = {c["id"]: c for c in body["comments"]}
    assert list(got) == ["m1", "m2", "m3"] and body["last_id"] == body["comments"][-1]["feed_id"]
    assert got["m1"]["reply"] == results[0]["reply"]["text"] == "@n1 福袋8点开" and got["m1"]["rule_id"] == "lottery"
    assert got["m1"]["intent"] == "ask_lottery" and got["m1"]["reason"] is None
    assert got["m2"]["action"] == results[1]["moderation"]["action"] == "block"
    assert got["m2"]["categories"] == results[1]["moderation"]["categories"] and "ad_contact" in got["m2"]["categories"]
    assert got["m2"]["reply"] is None and got["m2"]["reason"] == "moderation"
    assert got["m3"]["reason"] == "no_match" and got["m3"]["sentiment"] == results[2]["sentiment"]["label"]
    assert (got["m1"]["user"], got["m1"]["nickname"], got["m1"]["text"], got["m1"]["ts"]) == ("u1", "n1", "福袋几点开", TS)
    # resuming after the last id gives only what came later
    _send(client, bot, "主播好", start=10)
    services.engine.recorder.flush()
    later = client.get("/v1/rooms/room1/comments", params={"after": body["last_id"]}, headers=admin).json()["comments"]
    assert [c["id"] for c in later] == ["m10"]


def test_the_feed_is_capped_and_expires(client, admin, bot, services) -> None:
    services.engine.recorder.feed_cfg = roomfeed.FeedConfig(entries=5, ttl_seconds=120)
    for i in range(300):  # one entry per flush
        _send(client, bot, "今天好冷", start=i)
        services.engine.recorder.flush()
    stream = services.keys.room_feed("room1")
    assert services.client.xlen(stream) < 300  # approximate MAXLEN trims whole nodes (~100 entries)
    assert 0 < services.client.ttl(stream) <= 120


def test_sse_stream_sends_the_backlog_then_resumes_from_last_event_id(client, admin, bot, services) -> None:
    mod = key(client, admin, "moderator", ["room1"])
    _send(client, bot, "今天好冷", "主播好")
    services.engine.recorder.flush()  # one entry: m1, m2
    _send(client, bot, "好看", start=3)
    services.engine.recorder.flush()  # another: m3

    def events(headers, **params) -> list[dict]:
        return read_events(client, "/v1/rooms/room1/comments/stream", headers, **params)

    first = events(mod, backlog=2, limit=2)
    assert [[c["id"] for c in e["data"]] for e in first] == [["m2"], ["m3"]]  # the last two, oldest first, one event per entry
    assert {e["event"] for e in first} == {"comments"} and first[1]["id"] == first[1]["data"][0]["feed_id"]
    everything = events(mod, backlog=10, limit=3)
    assert [[c["id"] for c in e["data"]] for e in everything] == [["m1", "m2"], ["m3"]]
    [again] = events({**mod, "Last-Event-ID": everything[0]["id"]}, limit=1)  # a reconnect after the first entry
    assert [c["id"] for c in again["data"]] == ["m3"]


def test_the_feed_is_for_moderators_of_the_room(client, admin, bot) -> None:
    other = key(client, admin, "moderator", ["room2"])
    assert client.get("/v1/rooms/room1/comments", headers=other).status_code == 403
    assert client.get("/v1/rooms/room1/comments", headers=bot).status_code == 403
    assert client.get("/v1/rooms/room1/comments", params={"after": "x"}, headers=admin).status_code == 422


def test_the_feed_ttl_is_renewed_at_most_once_a_minute_per_room() -> None:
    now = [0.0]
    clock = roomfeed.ExpireClock(every_seconds=60, clock=lambda: now[0])
    assert clock.due("room1") and not clock.due("room1") and clock.due("room2")
    now[0] = 59.9
    assert not clock.due("room1")
    now[0] = 60.0
    assert clock.due("room1") and not clock.due("room1")
