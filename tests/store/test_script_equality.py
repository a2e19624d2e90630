"""The observe and limits scripts give the answers and leave the keys main's did.

The current scripts were made cheaper for the server (``queue_scripts.py``,
``replies/limits_script.py``); main's text is kept in ``scripts_main.py``. Each example
runs the same random calls through both, step by step, under two key prefixes of the test
database, and compares every answer and then every key of each prefix: type, value and
TTL. Stream ids come from the server's clock, so both sides' ids are renamed by their
order before comparing (``dump``).
"""

from __future__ import annotations

import itertools
import re

import pytest
import redis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.moderation.queue import ModerationQueue, ObserveConfig, QueueEntry, observed
from nlp_service.replies.limits import Limiter, LimitRequest, RoomLimits
from nlp_service.store.pipeline import execute, register_script
from nlp_service.store.redis import Keys
from tests.store.scripts_main import LIMITS_LUA_MAIN, OBSERVE_LUA_MAIN

NOW = 1_700_000_000_000
ROOM = "eq-room"
SID = re.compile(r"\d{13}-\d+")
_prefixes = itertools.count()
EXAMPLES = hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _value(client: redis.Redis, key: str, kind: str) -> object:
    if kind == "string":
        return client.get(key)
    if kind == "list":
        return client.lrange(key, 0, -1)
    if kind == "hash":
        return sorted(client.hgetall(key).items())
    if kind == "zset":
        return client.zrange(key, 0, -1, withscores=True)
    if kind == "stream":  # its ids renamed by their order (they come from the server's clock)
        return [(f"#{i}", fields) for i, (_, fields) in enumerate(client.xrange(key))]
    if kind == "set":
        return sorted(client.smembers(key))
    raise AssertionError(f"unexpected key type {kind} for {key}")


def dump(client: redis.Redis, prefix: str, named: str, answers: list) -> tuple[str, dict[str, int]]:
    """The answers and every key under ``prefix`` (named without it: type, value, whether it
    has a TTL) as one text, and the TTLs (ms) apart: compared with a tolerance, as both sides
    ran moments apart. A stream's ids are renamed by their order; elsewhere (a reply log's
    ``by``, a group's item) an id names an entry of the stream ``named`` and gets its name."""
    keys, ttls, refs = {}, {}, {}
    for key in sorted(client.scan_iter(match=f"{prefix}:*", count=1000)):
        kind, short = client.type(key), key.removeprefix(prefix)
        keys[short] = (kind, _value(client, key, kind), client.pttl(key) > 0)
        ttls[short] = client.pttl(key)
        if short.endswith(named):
            refs = {sid: f"#{i}" for i, (sid, _) in enumerate(client.xrange(key))}
    return SID.sub(lambda m: refs.get(m[0], m[0]), repr((answers, keys))), ttls


def assert_same(client: redis.Redis, prefixes: tuple[str, str], named: str, answers: tuple[list, list]) -> None:
    (main_text, main_ttl), (ours_text, ours_ttl) = (dump(client, p, named, a) for p, a in zip(prefixes, answers, strict=True))
    assert ours_text == main_text
    for key, ttl in main_ttl.items():
        assert abs(ours_ttl[key] - ttl) < 2000, key


def _pairs(flat: list) -> list[list[int]]:
    """The observe answer (flat: count, queued per entry) as main's script gave it."""
    return [list(p) for p in observed(flat)]


def _pair() -> tuple[str, str]:
    n = next(_prefixes)
    return f"eqmain{n}", f"eqours{n}"


# --- observe ---------------------------------------------------------------------------------

entry_st = st.builds(
    lambda cid, user, digest, group, flagged, observe, dt: (cid, user, digest, group, flagged, observe, dt),
    st.sampled_from([f"c{i}" for i in range(8)]), st.sampled_from(["u0", "u1", "u2"]), st.sampled_from(["d0", "d1"]),
    st.sampled_from(["", "g0"]), st.sampled_from([None, "review", "block"]), st.booleans() | st.just(True), st.integers(-2000, 8000),
)  # fmt: skip
observe_calls_st = st.lists(st.tuples(st.integers(0, 9000), st.lists(entry_st, min_size=1, max_size=6)), min_size=1, max_size=5)
observe_cfg_st = st.builds(
    ObserveConfig, keep=st.integers(1, 3), flood_ms=st.sampled_from([60_000, 5_000]), flood_max=st.integers(1, 3), dedupe_s=st.just(600),
    group_ms=st.sampled_from([0, 5_000]), group_max=st.integers(2, 3),
)  # fmt: skip


def _entry(spec: tuple, now_ms: int) -> QueueEntry:
    cid, user, digest, group, flagged, observe, dt = spec
    record = {"id": cid, "room": ROOM, "user": user, "nickname": "n" + user, "text": "文本 " + digest, "ts": now_ms + dt, "digest": digest}
    if group:
        record["group"] = group
    payload = {"action": flagged, "categories": ["spam"], "terms": ["x"], "score": 0.5} if flagged else None
    return QueueEntry(cid, user, record, payload, observe)


@EXAMPLES
@given(calls=observe_calls_st, cfg=observe_cfg_st)
def test_observe_same_as_main(rclient: redis.Redis, calls: list, cfg: ObserveConfig) -> None:
    prefixes = _pair()
    queues = [ModerationQueue(rclient, Keys(p)) for p in prefixes]
    queues[0].observe_script = register_script(rclient, OBSERVE_LUA_MAIN)
    answers: tuple[list, list] = ([], [])
    now = NOW
    for step, specs in calls:
        now += step
        for side, (q, out) in enumerate(zip(queues, answers, strict=True)):
            pipe = rclient.pipeline(transaction=False)
            q.observe_call(pipe, ROOM, [_entry(s, now) for s in specs], cfg, now)
            (res,) = execute(pipe)
            out.append(_pairs(res) if side else res)  # main's: a [count, queued] list per entry; ours: flat
    assert_same(rclient, prefixes, ":modq", answers)


# --- limits ----------------------------------------------------------------------------------

request_st = st.builds(
    lambda cid, user, rule, window, cooldown, variants, pick, names_self: (cid, user, rule, window, cooldown, variants, pick, names_self),
    st.sampled_from([f"c{i}" for i in range(10)]), st.sampled_from(["u0", "u1", "u2", "u3"]), st.sampled_from(["r1", "r2"]),
    st.sampled_from([1000, 3000]), st.sampled_from([0, 1500]), st.integers(1, 3), st.integers(-1, 2), st.booleans(),
)  # fmt: skip
# steps across the windows (1 s, 3 s) and budgets, so bursts fall due and budgets run out
limits_calls_st = st.lists(st.tuples(st.sampled_from([0, 150, 800, 1100, 3100]), st.lists(request_st, max_size=6)), min_size=1, max_size=8)
room_limits_st = st.builds(RoomLimits, budget_ms=st.sampled_from([100, 700, 2000]), max_mentions=st.integers(1, 3),
                           idempotency_ms=st.just(600_000), flood_max=st.integers(1, 2))  # fmt: skip


def _request(spec: tuple) -> LimitRequest:
    cid, user, rule, window, cooldown, variants, pick, names_self = spec
    return LimitRequest(cid, user, "n" + user, rule, window, cooldown, variants, min(pick, variants - 1), "d-" + user, f"答 {rule}", names_self)


@EXAMPLES
@given(calls=limits_calls_st, cfg=room_limits_st, flooded=st.sets(st.sampled_from(["u0", "u1", "u2", "u3"])),
       banned=st.sets(st.sampled_from(["u0", "u1", "u2", "u3"])))  # fmt: skip
def test_limits_same_as_main(rclient: redis.Redis, calls: list, cfg: RoomLimits, flooded: set, banned: set) -> None:
    prefixes = _pair()
    limiters = [Limiter(rclient, Keys(p), room_keep_seconds=3600) for p in prefixes]
    limiters[0]._script = register_script(rclient, LIMITS_LUA_MAIN)
    for lim in limiters:  # a flood counter past the limit, and bans, one running out during the calls
        for user in flooded:
            rclient.set(lim.keys.flood(ROOM, user, "d-" + user), 5, px=60_000)
        for i, user in enumerate(sorted(banned)):
            rclient.hset(lim.keys.banned(ROOM), user, NOW + 3000 * i)
    answers: tuple[list, list] = ([], [])
    now = NOW
    for step, specs in calls:
        now += step
        for lim, out in zip(limiters, answers, strict=True):
            out.append(lim.call(ROOM, [_request(s) for s in specs], cfg, now, rclient))
    assert_same(rclient, prefixes, ":actions", answers)


@pytest.mark.parametrize("keep", [1, 3])
def test_observe_trims_the_recent_list_to_keep(rclient: redis.Redis, keep: int) -> None:
    """The LTRIM now runs only when LPUSH's length passed ``keep``: the list still holds the
    newest ``keep`` comments."""
    q = ModerationQueue(rclient, Keys("trim"))
    cfg = ObserveConfig(keep=keep, flood_ms=60_000, flood_max=100, dedupe_s=600)
    for i in range(5):
        pipe = rclient.pipeline(transaction=False)
        q.observe_call(pipe, ROOM, [_entry((f"c{i}", "u0", f"d{i}", "", None, True, 0), NOW)], cfg, NOW)
        execute(pipe)
    assert [r.split('"id":"')[1][:2] for r in rclient.lrange(q.keys.recent(ROOM, "u0"), 0, -1)] == [f"c{i}" for i in range(4, 4 - keep, -1)]


# --- the room script: observe and limits in one call ------------------------------------------

room_calls_st = st.lists(
    st.tuples(st.sampled_from([0, 150, 800, 1100, 3100]), st.lists(entry_st, max_size=5), st.lists(request_st, max_size=5)), min_size=1, max_size=6
)  # fmt: skip


def _flooding_entry(spec: tuple, now_ms: int) -> QueueEntry:
    """An observed comment whose flood counter is the one a request of its user reads
    (``_request``'s digest), so the limits see the counts the observe part just made."""
    e = _entry(spec, now_ms)
    e.record["digest"] = "d-" + e.user
    return e


@EXAMPLES
@given(calls=room_calls_st, ocfg=observe_cfg_st.filter(lambda c: c.group_ms == 0), lcfg=room_limits_st)
def test_room_script_same_as_main_observe_then_limits(rclient: redis.Redis, calls: list, ocfg: ObserveConfig, lcfg: RoomLimits) -> None:
    """``ROOM_LUA`` (one call) against main's observe script then main's limits script (two
    calls in the pipeline, as the round trip sent them): the same answers and keys. Without
    grouping: a group names a queue stream id, a reply log entry an action id, and two
    streams' ids from one millisecond may be equal, so ``dump`` names one stream's ids only
    (grouping is the observe part's alone, tested above on the same function text)."""
    prefixes = _pair()
    queues = [ModerationQueue(rclient, Keys(p)) for p in prefixes]
    limiters = [Limiter(rclient, Keys(p), room_keep_seconds=3600) for p in prefixes]
    queues[0].observe_script = register_script(rclient, OBSERVE_LUA_MAIN)
    limiters[0]._script = register_script(rclient, LIMITS_LUA_MAIN)
    answers: tuple[list, list] = ([], [])
    now = NOW
    for step, specs, requests in calls:
        now += step
        entries = [_flooding_entry(s, now) for s in specs]
        items = [_request(s) for s in requests]
        main = rclient.pipeline(transaction=False)
        if entries:
            queues[0].observe_call(main, ROOM, entries, ocfg, now)
        limiters[0].call(ROOM, items, lcfg, now, main)
        answers[0].append(execute(main) if entries else [[], *execute(main)])  # [observe, limits]
        ours = rclient.pipeline(transaction=False)
        limiters[1].call(ROOM, items, lcfg, now, ours, observe=queues[1].observe_parts(ROOM, entries, ocfg, now) if entries else None)
        if entries:
            queues[1].listed(ours, ROOM)  # as live/roundtrip.py does beside the room script
        got = execute(ours)
        answers[1].append([_pairs(got[0][0]), got[0][1]] if entries else [[], *got])
    assert_same(rclient, prefixes, ":actions", answers)
