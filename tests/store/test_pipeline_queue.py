"""store/pipeline.queue puts on a pipeline what redis-py's command methods put there: the
pulse counters and the room feed's XADD queue the same commands, arguments and order, and
so the same bytes go out."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import redis
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from redis.client import Pipeline

from nlp_service.moderation import pulse
from nlp_service.moderation.pulse import KEEP_SECONDS, PulseEvent
from nlp_service.store import roomfeed, wire
from nlp_service.store.pipeline import queue, queue_all
from nlp_service.store.redis import Keys
from nlp_service.store.roomfeed import FeedConfig


def _pipe() -> Pipeline:
    # queuing needs no server: nothing is sent
    return redis.Redis(decode_responses=True).pipeline(transaction=False)


def _bytes(pipe: Pipeline) -> bytes:
    conn = redis.Connection(decode_responses=True)
    return b"".join(conn.pack_commands([args for args, _ in pipe.command_stack]))


def _tally_as_it_was(events) -> tuple[dict[int, Counter], dict[int, Counter], list[str]]:
    """pulse.tally as it was, with a Counter per minute."""
    counts: dict[int, Counter] = {}
    words: dict[int, Counter] = {}
    examples = []
    for e in events:
        c = counts.setdefault(e.minute, Counter())
        c["n"] += 1
        c["sentiment:" + e.sentiment] += 1
        c["intent:" + e.intent] += 1
        c["controversy"] += e.controversial
        if e.negative_keywords:
            words.setdefault(e.minute, Counter()).update(e.negative_keywords)
        if e.example is not None:
            examples.append(json.dumps(e.example, ensure_ascii=False))
    return counts, words, examples


def _pulse_by_methods(pipe, keys: Keys, room: str, events) -> None:
    """pulse.queue_updates as it was, through redis-py's command methods."""
    counts, words, examples = _tally_as_it_was(events)
    for minute, c in counts.items():
        key = keys.pulse(room, minute)
        for field, value in c.items():
            if value:
                pipe.hincrby(key, field, value)
        pipe.expire(key, KEEP_SECONDS)
        pipe.zadd(keys.active_rooms(), {room: minute}, gt=True)
    if counts:
        touched = {str(m): m for m in counts}
        for key in (keys.pulse_minutes(room), keys.pulse_unjudged(room)):
            pipe.zadd(key, touched)
            pipe.expire(key, KEEP_SECONDS)
    for minute, w in words.items():
        key = keys.pulse_negative_words(room, minute)
        for word, value in w.items():
            pipe.zincrby(key, value, word)
        pipe.expire(key, KEEP_SECONDS)
    if examples:
        pipe.lpush(keys.pulse_examples(room), *examples)
        pipe.ltrim(keys.pulse_examples(room), 0, 49)
        pipe.expire(keys.pulse_examples(room), KEEP_SECONDS)


_WORD = st.text(min_size=1, max_size=6)
_EVENTS = st.lists(
    st.builds(
        PulseEvent,
        minute=st.integers(min_value=29_000_000, max_value=29_000_006),
        sentiment=st.sampled_from(["positive", "neutral", "negative"]),
        intent=st.sampled_from(["question", "complaint", "praise", "中文"]),
        controversial=st.booleans(),
        negative_keywords=st.lists(_WORD, max_size=3).map(tuple),
        example=st.one_of(st.none(), st.fixed_dictionaries({"id": _WORD, "text": st.text(max_size=20), "ts": st.one_of(st.none(), st.integers())})),
    ),
    max_size=30,
)


@hsettings(max_examples=300, deadline=None)
@given(events=_EVENTS)
def test_tally_counts_in_the_order_counters_did(events: list[PulseEvent]) -> None:
    new, old = pulse.tally(events), _tally_as_it_was(events)
    for got, expected in zip(new[:2], old[:2], strict=True):  # the same minutes, fields, values and order
        assert [(m, list(c.items())) for m, c in got.items()] == [(m, list(c.items())) for m, c in expected.items()]
        assert all(type(v) is int for c in got.values() for v in c.values())
    assert new[2] == old[2]


@hsettings(max_examples=300, deadline=None)
@given(room=st.text(min_size=1, max_size=8), events=_EVENTS)
def test_pulse_queues_what_redis_py_s_methods_queue(room: str, events: list[PulseEvent]) -> None:
    keys = Keys("t")
    new, old = _pipe(), _pipe()
    pulse.queue_updates(new, keys, room, events)
    _pulse_by_methods(old, keys, room, events)
    assert new.command_stack == old.command_stack
    try:
        expected = _bytes(old)
    except UnicodeEncodeError:  # a lone surrogate: neither packs it
        return
    assert _bytes(new) == expected
    assert wire.pack([args for args, _ in new.command_stack]) == expected


@hsettings(max_examples=300, deadline=None)
@given(
    room=st.text(min_size=1, max_size=8),
    records=st.lists(st.fixed_dictionaries({"id": _WORD, "text": st.text(max_size=20), "n": st.integers()}), max_size=5),
    entries=st.integers(min_value=0, max_value=10**6),
    ttl=st.integers(min_value=1, max_value=10**7),
    expire=st.booleans(),
)
def test_room_feed_queues_what_xadd_and_expire_queue(room: str, records: list[dict], entries: int, ttl: int, expire: bool) -> None:
    keys, cfg = Keys("t"), FeedConfig(entries=entries, ttl_seconds=ttl)
    new, old = _pipe(), _pipe()
    roomfeed.append_on(new, keys, room, records, cfg, expire=expire)
    old.xadd(keys.room_feed(room), {"c": roomfeed.records_json(records)}, maxlen=entries, approximate=True)
    if expire:
        old.expire(keys.room_feed(room), ttl)
    assert new.command_stack == old.command_stack
    try:
        assert _bytes(new) == _bytes(old)
    except UnicodeEncodeError:
        pass


def test_room_feed_refuses_a_negative_maxlen_as_xadd_does() -> None:
    with pytest.raises(redis.DataError):
        _pipe().xadd("k", {"c": "[]"}, maxlen=-1, approximate=True)
    with pytest.raises(redis.DataError):
        roomfeed.append_on(_pipe(), Keys("t"), "r", [], FeedConfig(entries=-1, ttl_seconds=1))


def test_queue_runs_at_once_while_watching_as_execute_command_does(rclient: redis.Redis) -> None:
    pipe = rclient.pipeline(transaction=True)
    pipe.watch("w")
    queue(pipe, "SET", "w", "1")  # WATCH mode: immediate, not queued
    assert pipe.command_stack == [] and rclient.get("w") == "1"
    pipe.reset()
    plain = rclient.pipeline(transaction=False)
    queue(plain, "SADD", "s", "a")
    assert plain.command_stack == [(("SADD", "s", "a"), {})]
    assert plain.execute() == [1]


def test_queue_all_is_queue_of_each_command(rclient: redis.Redis) -> None:
    commands = [("SADD", "s", "a"), ("HINCRBY", "h", "f", 2), ("EXPIRE", "h", 60)]
    one_by_one, at_once = _pipe(), _pipe()
    for command in commands:
        queue(one_by_one, *command)
    queue_all(at_once, commands)
    assert at_once.command_stack == one_by_one.command_stack
    watching = rclient.pipeline(transaction=True)
    watching.watch("w")
    queue_all(watching, [("SET", "w", "1"), ("SET", "v", "2")])  # WATCH mode: immediate, as queue runs them
    assert watching.command_stack == [] and rclient.mget("w", "v") == ["1", "2"]
    watching.reset()
