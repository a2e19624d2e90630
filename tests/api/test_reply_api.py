import json

import pytest

RULE = {"id": "lottery", "match": {"any": ["福袋"]}, "replies": ["福袋{lottery_time}开"]}


def comment(i=1, **kw):
    base = {"id": f"m{i}", "room": "room1", "user": f"u{i}", "nickname": f"n{i}", "text": "福袋几点开", "ts": 1764072600000}
    base.update(kw)
    return base


@pytest.fixture
def ready_room(client, admin, services):
    assert client.post("/v1/rules", json=RULE, headers=admin).status_code == 201
    client.put("/v1/rooms/room1/variables", json={"lottery_time": "8点"}, headers=admin)
    client.put("/v1/rooms/room1/settings", json={"budget_per_second": 100}, headers=admin)
    services.state.refresh()


def test_reply_contract(client, bot, ready_room) -> None:
    body = client.post("/v1/reply", json=comment(), headers=bot).json()
    assert set(body) >= {"id", "sentiment", "intent", "keywords", "reply", "reason", "moderation"}
    assert body["reply"] == {"text": "@n1 福袋8点开", "rule_id": "lottery", "mentions": ["n1"], "answers": ["m1"]}
    assert body["intent"]["label"] == "ask_lottery" and 0 <= body["intent"]["confidence"] <= 1
    assert body["sentiment"]["label"] in {"positive", "neutral", "negative"}
    assert body["moderation"] == {"action": "pass", "categories": []}


def test_batch_answers_once_and_names_askers(client, bot, ready_room) -> None:
    comments = [comment(i) for i in range(1, 4)] + [comment(9, text="今天好冷")]
    results = client.post("/v1/reply/batch", json={"comments": comments}, headers=bot).json()["results"]
    assert results[0]["reply"]["mentions"] == ["n1", "n2", "n3"]
    assert [r["reason"] for r in results[1:]] == ["aggregated", "aggregated", "no_match"]


def test_iso_time_and_retry(client, bot, ready_room) -> None:
    c = comment(ts="2025-11-25T20:10:00+08:00")
    first = client.post("/v1/reply", json=c, headers=bot).json()
    assert client.post("/v1/reply", json=c, headers=bot).json()["reply"] == first["reply"]
    bad = client.post("/v1/reply", json=comment(2, ts="2025-11-25T20:10:00"), headers=bot)
    assert bad.status_code == 422 and "zone" in bad.json()["error"]["message"]


def test_bad_text_in_a_batch_loses_nothing(client, bot, ready_room) -> None:
    comments = [comment(1, text=""), comment(2, text="😀😀"), comment(3)]
    results = client.post("/v1/reply/batch", json={"comments": comments}, headers=bot).json()["results"]
    assert results[0]["reason"] == "invalid_text" and "empty" in results[0]["error"]
    assert results[1]["intent"]["label"]
    assert results[2]["reply"] is not None


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer nope"}, 401), ({"Authorization": "Basic abc"}, 401), ({"Authorization": "Bearer "}, 401)],
)
def test_missing_or_wrong_key_is_401(client, headers, status) -> None:
    r = client.post("/v1/reply", json=comment(), headers=headers)
    assert r.status_code == status and r.json()["error"]["message"]
    assert r.headers.get("www-authenticate") == "Bearer"


def test_wrong_role_and_wrong_room_are_403(client, bot, admin) -> None:
    assert client.get("/v1/rules", headers=bot).status_code == 403
    assert client.post("/v1/keys", json={"name": "x", "role": "bot"}, headers=bot).status_code == 403
    r = client.post("/v1/reply", json=comment(room="room2"), headers=bot)
    assert r.status_code == 403 and "room2" in r.json()["error"]["message"]
    assert client.post("/v1/reply", json=comment(room="room2"), headers=admin).status_code == 200


def test_revoked_key_stops_working(client, admin) -> None:
    created = client.post("/v1/keys", json={"name": "tmp", "role": "bot"}, headers=admin).json()
    h = {"Authorization": f"Bearer {created['key']}"}
    assert client.post("/v1/reply", json=comment(), headers=h).status_code == 200
    listed = client.get("/v1/keys", headers=admin).json()["keys"]
    assert created["key"] not in json.dumps(listed)  # only hashes are stored, never shown again
    assert client.delete(f"/v1/keys/{created['key_id']}", headers=admin).status_code == 204
    assert client.post("/v1/reply", json=comment(), headers=h).status_code == 401


def test_limits_give_clear_4xx(client, bot) -> None:
    too_long = client.post("/v1/reply", json=comment(text="好" * 2001), headers=bot)
    assert too_long.status_code == 422 and "text" in too_long.json()["error"]["message"]
    unknown = client.post("/v1/reply", json={**comment(), "colour": "red"}, headers=bot)
    assert unknown.status_code == 422 and "colour" in unknown.json()["error"]["message"]
    batch = client.post("/v1/reply/batch", json={"comments": [comment(i) for i in range(51)]}, headers=bot)
    assert batch.status_code == 413 and "limit is 50" in batch.json()["error"]["message"]
    empty = client.post("/v1/reply/batch", json={"comments": []}, headers=bot)
    assert empty.status_code == 422
    big = client.post("/v1/reply/batch", content=b"{" + b" " * 300_000 + b"}", headers={**bot, "content-type": "application/json"})
    assert big.status_code == 413 and big.json()["error"]["type"] == "body_too_large"
    broken = client.post("/v1/reply", content=b'{"id": ', headers={**bot, "content-type": "application/json"})
    assert broken.status_code == 422 and broken.json()["error"]["type"] == "validation_error"
    not_utf8 = client.post("/v1/reply", content=b'{"id":"\xff\xfe"}', headers={**bot, "content-type": "application/json"})
    assert not_utf8.status_code == 422 and not_utf8.json()["error"]["message"]
    missing = client.post("/v1/reply", json={"id": "x"}, headers=bot)
    assert missing.status_code == 422 and "room" in missing.json()["error"]["message"]


def test_health_ready_metrics_and_docs(client, bot, ready_room) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    client.post("/v1/reply", json=comment(), headers=bot)
    text = client.get("/metrics").text
    assert 'nlp_http_requests_total{method="POST",route="/v1/reply",status="200"}' in text
    assert "nlp_replies_sent_total" in text and 'nlp_rule_hits_total{rule_id="lottery"}' in text
    assert client.get("/openapi.json").json()["paths"]["/v1/reply"]


def test_the_bot_keys_name_is_its_own_user_unless_the_room_sets_bot_user(client, bot, admin, services, ready_room) -> None:
    own = client.post("/v1/reply", json=comment(5, user="bot"), headers=bot).json()  # the fixture's key is named "bot"
    assert own["reply"] is None and own["reason"] == "own_bot"
    client.put("/v1/rooms/room1/settings", json={"bot_user": "host-account"}, headers=admin)
    services.state.refresh()
    assert client.post("/v1/reply", json=comment(6, user="host-account"), headers=bot).json()["reason"] == "own_bot"
    assert client.post("/v1/reply", json=comment(7, user="bot"), headers=bot).json()["reply"] is not None


def test_ts_has_one_unit_and_a_sane_range(client, bot) -> None:
    base = {"id": "t1", "room": "room1", "user": "u1", "nickname": "n", "text": "几号链接"}
    ok = {1764072600000: 1764072600000, "1764072600000": 1764072600000, "2025-11-25T20:10:00+08:00": 1764072600000}
    for sent, _ms in ok.items():
        r = client.post("/v1/reply", json={**base, "ts": sent}, headers=bot)
        assert r.status_code == 200, (sent, r.text)
    for bad in (10**20, int("9" * 400), True, 1764072600, "1764072600", 1.5, "2025-11-25T20:10:00", "soon", -1):
        r = client.post("/v1/reply", json={**base, "ts": bad}, headers=bot)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["type"] == "validation_error" and "ts" in r.json()["error"]["message"]


def test_one_bad_ts_in_a_batch_is_refused_before_any_comment_is_spent(client, bot, services) -> None:
    good = {"id": "b1", "room": "room1", "user": "u1", "nickname": "n", "text": "几号链接", "ts": 1764072600000}
    r = client.post("/v1/reply/batch", json={"comments": [good, {**good, "id": "b2", "ts": 10**20}]}, headers=bot)
    assert r.status_code == 422 and "comments.1.ts" in r.json()["error"]["message"]
    assert services.client.exists(services.keys.idempotency("room1", "b1")) == 0  # nothing was consumed


def test_a_key_over_its_rate_gets_429_with_retry_after(client, admin, bot, services) -> None:
    """Per-key buckets: requests on every route, comments on the reply endpoints; one key's
    flood leaves another key's requests alone."""
    from nlp_service.core.ratelimit import KeyRateLimiter

    services.rate_limiter = KeyRateLimiter(requests_per_second=3, comments_per_second=5, burst_seconds=1.0, clock=lambda: 0.0)
    one = {"id": "r1", "room": "room1", "user": "u1", "nickname": "n", "text": "几号链接"}
    assert client.post("/v1/reply", json=one, headers=bot).status_code == 200
    batch = {"comments": [{**one, "id": f"r{i}"} for i in range(2, 7)]}  # 5 comments: over the 4 left
    refused = client.post("/v1/reply/batch", json=batch, headers=bot)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["type"] == "rate_limited" and "comments" in refused.json()["error"]["message"]
    assert client.post("/v1/reply", json={**one, "id": "r8"}, headers=bot).status_code == 200  # the refusal took nothing
    assert client.post("/v1/reply", json={**one, "id": "r9"}, headers=bot).status_code == 200
    over = client.post("/v1/reply", json={**one, "id": "r10"}, headers=bot)  # a 4th request in the same instant
    assert over.status_code == 429 and int(over.headers["Retry-After"]) >= 1
    assert client.get("/v1/rules", headers=admin).status_code == 200  # the admin key has its own buckets
