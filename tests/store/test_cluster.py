"""The service on a real 3-master Redis Cluster (tools/redis_cluster.sh; .ci/run starts one).

The reply path, the queue, the pulse and the spool run the whole engine suites against the
cluster too (the ``sclient`` fixture); this module checks what only a cluster can break:
keys of one room in one slot, scripts refused across slots, a batch spread over every node,
scripts reloaded on every node, admin writes announced after they land, and the spool.
"""

import inspect
import json

import pytest
from redis.cluster import RedisCluster, key_slot
from redis.exceptions import RedisClusterException, ResponseError

from nlp_service.live.services import Services
from nlp_service.live.types import Comment
from nlp_service.replies import store
from nlp_service.replies.rules import Rule
from nlp_service.store import apikeys
from nlp_service.store.cluster import OrderedPipeline, is_cluster_url
from nlp_service.store.redis import GLOBAL, Keys

NOW = 1764072600000


def _room_keys(keys: Keys, room: str) -> dict[str, str]:
    """Every key builder that takes a room, called for ``room`` (other arguments filled in)."""
    out = {}
    for name, fn in inspect.getmembers(keys, inspect.ismethod):
        params = list(inspect.signature(fn).parameters)
        if name.startswith("_") or not params or params[0] != "room":
            continue
        fill = {"minute": 29401210, "category": "ad_contact", "comment_id": "m1", "item_id": "1-0", "user": "u1", "digest": "ab", "group": "cd", "rule_id": "lottery", "shift": 1764057600000}
        out[name] = fn(room, *(fill[p] for p in params[1:]))
    return out


def test_every_key_of_a_room_is_in_the_room_slot() -> None:
    keys = Keys("svc")
    for room in ("room1", "直播间-7", "a:b{c"):
        made = _room_keys(keys, room)
        assert len(made) >= 30  # the builders were found
        assert {key_slot(k.encode()) for k in made.values()} == {key_slot(keys.mod_stream(room).encode())}, made
    shared = [keys.rooms(), keys.state_version(), keys.api_keys(), keys.mod_rooms(), keys.active_rooms(), keys.seeded()]
    assert {key_slot(k.encode()) for k in shared} == {key_slot(keys.rules(GLOBAL).encode())}


def test_cluster_urls_are_recognised() -> None:
    assert is_cluster_url("redis+cluster://127.0.0.1:7000") and is_cluster_url("rediss+cluster://h:1")
    assert not is_cluster_url("redis://127.0.0.1:6379/2") and not is_cluster_url(None)


@pytest.fixture
def svc(cluster_client, svc_settings):
    s = Services.start(svc_settings, cluster_client, poll=False)
    yield s
    s.close()


def _rooms_on_every_node(client: RedisCluster, keys: Keys, per_node: int = 2) -> list[str]:
    by_node: dict[str, list[str]] = {}
    i = 0
    while min((len(v) for v in by_node.values()), default=0) < per_node or len(by_node) < 3:
        room = f"room{i}"
        node = client.get_node_from_key(keys.mod_stream(room)).name
        by_node.setdefault(node, []).append(room)
        i += 1
    return [r for rooms in by_node.values() for r in rooms[:per_node]]


@pytest.mark.cluster
def test_a_script_spanning_two_rooms_is_refused(cluster_client) -> None:
    """What the hash tags avoid: the cluster really refuses keys of two slots in one call."""
    keys = Keys("svc")
    a, b = _rooms_on_every_node(cluster_client, keys, 1)[:2]
    with pytest.raises((RedisClusterException, ResponseError)):
        cluster_client.eval("return 1", 2, keys.counters(a), keys.counters(b))
    assert cluster_client.eval("return 1", 2, keys.counters(a), keys.waiting(a)) == 1


@pytest.mark.cluster
def test_one_batch_spread_over_every_node_is_answered_and_queued(svc) -> None:
    rooms = _rooms_on_every_node(svc.client, svc.keys)
    assert len({svc.client.get_node_from_key(svc.keys.mod_stream(r)).name for r in rooms}) == 3
    rule = Rule.model_validate({"id": "lottery", "match": {"any": ["福袋"]}, "replies": ["福袋8点开"], "limits": {"user_cooldown_seconds": 0}})
    store.save_rule(svc.client, svc.keys, rule)
    svc.state.refresh()
    batch = []
    for j, room in enumerate(rooms):
        batch += [Comment(f"q{j}", room, f"u{j}", f"n{j}", "福袋几点开", NOW), Comment(f"f{j}", room, f"v{j}", f"w{j}", "主播就是个骗子 卖假货", NOW)]
    for _ in range(2):  # the bot retries the whole batch: same answers, nothing queued twice
        outs = svc.engine.handle(batch, now_ms=NOW)
        assert [o.reply["answers"] for o in outs[::2]] == [[f"q{j}"] for j in range(len(rooms))]
        assert all(o.moderation["action"] == "review" for o in outs[1::2])
    assert sorted(svc.engine.queue.rooms()) == sorted(rooms)
    assert [svc.client.xlen(svc.keys.mod_stream(r)) for r in rooms] == [1] * len(rooms)
    items = svc.engine.queue.pull(rooms, "alice", 100, 0, claim_ms=60_000)
    assert sorted(i.record["id"] for i in items) == sorted(f"f{j}" for j in range(len(rooms)))


@pytest.mark.cluster
def test_scripts_are_reloaded_on_every_node_after_a_flush(svc) -> None:
    rooms = _rooms_on_every_node(svc.client, svc.keys, 1)
    svc.engine.handle([Comment("m0", rooms[0], "u0", "n0", "骗子 假货", NOW)], now_ms=NOW)
    for node in svc.client.get_primaries():  # as after a restart of every node
        node.redis_connection.script_flush()
    # another text: the same one would join rooms[0]'s item instead of opening a second
    outs = svc.engine.handle([Comment(f"m{j}", r, f"u{j}", f"n{j}", "主播是骗子 卖假货", NOW) for j, r in enumerate(rooms, 1)], now_ms=NOW)
    assert all(o.moderation["action"] == "review" for o in outs)
    assert [svc.client.xlen(svc.keys.mod_stream(r)) for r in rooms] == [2, 1, 1]


@pytest.mark.cluster
def test_admin_writes_land_before_the_version_that_announces_them(svc, monkeypatch) -> None:
    sent: list[list[str]] = []
    original = OrderedPipeline.send_cluster_commands

    def spy(self, stack, **kw):
        sent.append([str(c.args[1]) if len(c.args) > 1 else "" for c in stack])
        return original(self, stack, **kw)

    monkeypatch.setattr(OrderedPipeline, "send_cluster_commands", spy)
    before = int(svc.client.get(svc.keys.state_version()) or 0)
    store.set_variables(svc.client, svc.keys, "room1", {"coupon_code": "A1"})
    assert len(sent) == 2 and all("{room1}" in k for k in sent[0]) and all("{_global}" in k for k in sent[1])
    assert int(svc.client.get(svc.keys.state_version())) == before + 1
    assert store.get_variables(svc.client, svc.keys, "room1") == {"coupon_code": "A1"}


@pytest.mark.cluster
def test_a_revoked_key_stops_working_on_a_second_instance(cluster_client, svc_settings) -> None:
    a = Services.start(svc_settings, cluster_client, poll=False)
    b = Services.start(svc_settings, cluster_client, poll=False)
    try:
        raw, key = apikeys.create_key(a.client, a.keys, "bot-1", "bot", ["room1"])
        b.reload_keys()
        assert apikeys.hash_key(raw) in b.api_keys
        assert apikeys.revoke_key(a.client, a.keys, key.key_id)
        b.reload_keys()
        assert apikeys.hash_key(raw) not in b.api_keys
    finally:
        a.close()
        b.close()


@pytest.mark.cluster
def test_spool_replays_into_every_node_exactly_once(svc) -> None:
    rooms = _rooms_on_every_node(svc.client, svc.keys, 1)
    entry = {"user": "u1", "moderation": {"action": "review", "categories": ["fraud_claim"]}}
    svc.engine.spool.append([{**entry, "room": r, "comment_id": f"s{j}", "record": {"id": f"s{j}", "room": r}} for j, r in enumerate(rooms)])
    assert svc.replay_spool() == 3
    svc.engine.spool.append([{**entry, "room": rooms[0], "comment_id": "s0", "record": {"id": "s0"}}])
    assert svc.replay_spool() == 0  # again (after a crash mid-replay): still exactly once
    for j, r in enumerate(rooms):
        [(_, fields)] = svc.client.xrange(svc.keys.mod_stream(r))
        assert json.loads(fields["record"])["id"] == f"s{j}"
    assert sorted(svc.engine.queue.rooms()) == sorted(rooms)
