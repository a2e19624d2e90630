"""Two `nlp-service serve` instances on the 3-master Redis Cluster behind one address, as
compose.yaml runs them (two replicas behind nginx): everything is said through that one
address (``tests/proxy.py``, round robin per connection; ``to(i)`` names the instance a
change goes through and the one that must see it)."""

from __future__ import annotations

import os
from collections import Counter

import httpx
import pytest

from tests.conftest import CLUSTER_URL_ENV, _flush_cluster
from tests.processes import poll, serve_env, start_serve
from tests.proxy import RoundRobinProxy

pytestmark = pytest.mark.cluster
ADMIN = {"Authorization": "Bearer two-instances-admin-key-0123456789"}


@pytest.fixture(scope="module")
def front(tmp_path_factory, cluster_server):
    """Two instances on the cluster (flushed first) and the proxy in front of them; every
    process and the proxy stopped at the end."""
    _flush_cluster(cluster_server)
    started, logs, proxy = [], [], None
    try:
        for name in ("a", "b"):
            tmp = tmp_path_factory.mktemp(f"instance-{name}")
            env = {**serve_env(tmp), "REDIS_URL": os.environ[CLUSTER_URL_ENV], "NLP_SERVICE_ADMIN_KEY": ADMIN["Authorization"][7:]}
            proc, url, log = start_serve(tmp, env, "--workers", "1")
            started.append((proc, url))
            logs.append(log)
        for (proc, url), log in zip(started, logs, strict=True):
            up = poll(lambda p=proc, u=url: p.poll() is not None or _status(httpx.get, u + "/readyz") == 200)
            log.seek(0)
            assert up and proc.poll() is None, log.read()
        proxy = RoundRobinProxy([("127.0.0.1", int(url.rsplit(":", 1)[1])) for _proc, url in started])
        yield proxy
    finally:
        if proxy is not None:
            proxy.close()
        for proc, _url in started:
            proc.terminate()
        for proc, _url in started:
            proc.wait(timeout=30)
        for log in logs:
            log.close()
        _flush_cluster(cluster_server)


def _status(call, url: str, **kw) -> int:
    try:
        return call(url, timeout=10, **kw).status_code
    except httpx.HTTPError:
        return 0


def _key(front: RoundRobinProxy, via: int, **body) -> dict:
    with front.to(via):
        r = httpx.post(front.url + "/v1/keys", headers=ADMIN, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _works_on(front: RoundRobinProxy, via: int, key: str) -> int:
    with front.to(via):
        return _status(httpx.get, front.url + "/v1/keys/me", headers={"Authorization": f"Bearer {key}"})


def test_every_comment_is_answered_once_across_the_two_instances(front) -> None:
    room = "two-a"
    bot = _key(front, 0, name="two-a-bot", role="bot", rooms=[room])["key"]
    with front.to(0):
        httpx.put(f"{front.url}/v1/rooms/{room}/variables", headers=ADMIN, json={"lottery_time": "8点"}).raise_for_status()
        httpx.put(f"{front.url}/v1/rooms/{room}/settings", headers=ADMIN, json={"window_seconds": 3600, "budget_per_second": 100}).raise_for_status()
    assert poll(lambda: _works_on(front, 1, bot) == 200)  # the key (the last write) has reached b
    headers = {"Authorization": f"Bearer {bot}"}
    comments = [{"id": f"c{i}", "room": room, "user": f"u{i}", "nickname": f"n{i}", "text": "福袋几点开"} for i in range(40)]
    first = len(front.served)
    answers = [httpx.post(front.url + "/v1/reply", headers=headers, json=c) for c in comments]  # a new connection each
    assert Counter(front.served[first:]) == {0: 20, 1: 20}  # half of them through each instance
    assert [r.status_code for r in answers] == [200] * 40
    outcomes = [r.json() for r in answers]
    assert [o["id"] for o in outcomes] == [c["id"] for c in comments]
    replied = [o for o in outcomes if o["reply"]]
    assert len(replied) == 1 and replied[0]["reply"]["rule_id"] == "lottery"  # one window, one reply: the limits are shared
    assert {o["reason"] for o in outcomes if not o["reply"]} <= {"aggregated", "mention_cap"}
    # the same comments again, each through the other instance: the same answers, nothing spent twice
    again = [httpx.post(front.url + "/v1/reply", headers=headers, json=c).json() for c in comments]
    assert Counter(front.served[first + 40 :]) == {0: 20, 1: 20}
    assert [(o["reply"], o["reason"]) for o in again] == [(o["reply"], o["reason"]) for o in outcomes]


def test_a_rule_and_a_key_made_through_one_instance_work_on_the_other(front) -> None:
    room = "two-b"
    rule = {"id": "password", "scope": room, "priority": 1, "match": {"any": ["暗号"]}, "replies": ["暗号是芝麻开门"], "limits": {"user_cooldown_seconds": 0}}
    with front.to(0):
        assert httpx.post(front.url + "/v1/rules", headers=ADMIN, json=rule).status_code in (200, 201)

    seen: list[dict] = []

    def fires_on_b() -> bool:
        with front.to(1):
            r = httpx.post(front.url + "/v1/rules/dry-run", headers=ADMIN, json={"room": room, "text": "今天的暗号是什么"})
        seen.append(r.json())
        return r.status_code == 200 and (r.json().get("fired") or {}).get("rule_id") == "password"

    assert poll(fires_on_b, tries=200), {k: seen[-1].get(k) for k in ("fired", "reason", "considered")}
    bot = _key(front, 1, name="two-b-bot", role="bot", rooms=[room])["key"]  # made through b …
    assert poll(lambda: _works_on(front, 0, bot) == 200)  # … accepted by a
    with front.to(0):
        out = httpx.post(front.url + "/v1/reply", headers={"Authorization": f"Bearer {bot}"}, json={"id": "s1", "room": room, "user": "u1", "text": "今天的暗号是什么"}).json()
    assert out["reply"]["rule_id"] == "password"


def test_a_key_revoked_through_one_instance_stops_working_on_both(front) -> None:
    made = _key(front, 0, name="two-c-bot", role="bot", rooms=["two-c"])
    assert poll(lambda: _works_on(front, 1, made["key"]) == 200)
    assert _works_on(front, 0, made["key"]) == 200
    with front.to(1):
        assert httpx.delete(f"{front.url}/v1/keys/{made['key_id']}", headers=ADMIN).status_code == 204
    assert _works_on(front, 1, made["key"]) == 401  # at once on the instance that revoked it
    assert poll(lambda: _works_on(front, 0, made["key"]) == 401)  # and on the other within its state poll


def test_a_decision_through_one_instance_reaches_the_queue_and_feed_seen_through_the_other(front) -> None:
    room = "two-d"
    bot = {"Authorization": "Bearer " + _key(front, 0, name="two-d-bot", role="bot", rooms=[room])["key"]}
    mod = {"Authorization": "Bearer " + _key(front, 0, name="two-d-mod", role="moderator", rooms=[room])["key"]}
    assert poll(lambda: _works_on(front, 1, mod["Authorization"][7:]) == 200)
    with front.to(0):  # the flagged comment comes in through a
        out = httpx.post(front.url + "/v1/reply", headers=bot, json={"id": "f1", "room": room, "user": "u9", "text": "主播是骗子 卖假货"}).json()
    assert out["moderation"]["action"] != "pass"
    with front.to(1):  # b hands it to the moderator, who decides through b
        items = httpx.post(front.url + "/v1/moderation/pull", headers=mod, json={"rooms": [room], "count": 5, "wait_ms": 5000}).json()["items"]
        assert [i["comment"]["id"] for i in items] == ["f1"]
        decided = httpx.post(f"{front.url}/v1/moderation/items/{items[0]['item_id']}/decision", headers=mod, json={"action": "delete", "reason": "fraud claim"})
        assert decided.status_code == 200, decided.text
    with front.to(0):  # a: the bot's action feed has the decision, and the queue no longer hands the item out
        feed = httpx.get(f"{front.url}/v1/rooms/{room}/actions?after=0-0", headers=bot).json()["actions"]
        assert [(x["kind"], x.get("comment_id")) for x in feed if x["kind"] == "hide_comment"] == [("hide_comment", "f1")]
        assert httpx.post(front.url + "/v1/moderation/pull", headers=mod, json={"rooms": [room], "count": 5}).json()["items"] == []
        stats = httpx.get(f"{front.url}/v1/moderation/stats?room={room}", headers=mod).json()
    [counts] = stats["rooms"]
    assert (counts["depth"], counts["pending"], counts["decisions"]) == (0, 0, {"two-d-mod": 1}), counts
