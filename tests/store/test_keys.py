"""Keys builds each room's prefix once and concatenates: the same strings as the join it replaced."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nlp_service.store import redis as store_redis
from nlp_service.store.redis import GLOBAL, Keys

# Each builder's parts as they were joined before the room prefixes were kept
# (``":".join((prefix, "{" + room + "}", *parts))``), by name; ``a`` is the first argument
# after the room (or the only one of a GLOBAL key), ``b`` the second.
PARTS = {
    "rules": lambda: ["rules"], "vars": lambda: ["vars"], "room_config": lambda: ["config"],
    "lexicon_added": lambda a: ["lexicon", a, "added"], "lexicon_removed": lambda a: ["lexicon", a, "removed"],
    "mod_stream": lambda: ["modq"], "mod_seen": lambda a: ["modq", "seen", a], "mod_decided": lambda a: ["modq", "decided", a],
    "mod_group": lambda a: ["modq", "group", a], "mod_members": lambda: ["modq", "members"], "mod_stats": lambda: ["modq", "stats"],
    "audit_stream": lambda: ["audit"], "flood": lambda a, b: ["flood", a, b], "recent": lambda a: ["recent", a],
    "pulse": lambda a: ["pulse", str(a)], "pulse_negative_words": lambda a: ["pulse", str(a), "negkw"],
    "pulse_examples": lambda: ["pulse", "examples"], "pulse_alerted": lambda a: ["pulse", str(a), "alerted"],
    "alerts_channel": lambda: ["alerts"], "urgent_stream": lambda: ["modq", "urgent"], "pulse_minutes": lambda: ["pulse", "minutes"],
    "pulse_unjudged": lambda: ["pulse", "unjudged"], "pulse_alerts": lambda: ["pulse", "alerts"], "actions": lambda: ["actions"],
    "room_feed": lambda: ["feed"], "shift_decisions": lambda a: ["modq", "shift", str(a)], "idempotency": lambda a: ["idem", a],
    "rule_cooldown": lambda a: ["cd", "rule", a], "user_cooldown": lambda a, b: ["cd", "user", a, b], "room_budget": lambda: ["budget"],
    "waiting": lambda: ["waiting"], "burst_bodies": lambda: ["burstbodies"], "reply_log": lambda: ["replylog"],
    "rotation": lambda a: ["rot", a], "banned": lambda: ["banned"], "counters": lambda: ["counters"],
}  # fmt: skip
GLOBAL_PARTS = {
    "rooms": ["rooms"], "state_version": ["state", "version"], "state_channel": ["state", "changed"], "seeded": ["seeded"],
    "mod_rooms": ["modq", "rooms"], "active_rooms": ["pulse", "rooms"], "api_keys": ["apikeys"], "api_keys_bootstrap": ["apikeys", "bootstrap"],
}  # fmt: skip
INT_ARGS = {"pulse", "pulse_negative_words", "pulse_alerted", "shift_decisions"}  # minute / shift numbers


def joined(prefix: str, room: str, parts: list[str]) -> str:
    return ":".join((prefix, "{" + room + "}", *parts))


def test_every_builder_is_covered():
    public = {name for name, _ in inspect.getmembers(Keys, inspect.isfunction) if not name.startswith("_")}
    assert public == set(PARTS) | set(GLOBAL_PARTS)


names = st.text(max_size=12)  # any text: colons, braces and empty names included


@hsettings(max_examples=300, deadline=None)
@given(prefix=names, room=names, a=names, b=names, n=st.integers(min_value=-(10**12), max_value=10**12), twice=st.booleans())
def test_same_strings_as_the_join(prefix, room, a, b, n, twice):
    keys = Keys(prefix)
    for _ in range(2 if twice else 1):  # the room's prefix built, then reused
        for name, parts in PARTS.items():
            arity = len(inspect.signature(parts).parameters)
            args = [n if name in INT_ARGS else a, b][:arity]
            assert getattr(keys, name)(room, *args) == joined(prefix, room, parts(*args)), name
        for name, parts in GLOBAL_PARTS.items():
            assert getattr(keys, name)() == joined(prefix, GLOBAL, parts), name


def test_room_prefixes_are_bounded(monkeypatch):
    monkeypatch.setattr(store_redis, "ROOMS_REMEMBERED", 3)
    keys = Keys("p")
    for i in range(10):
        assert keys.banned(f"r{i}") == joined("p", f"r{i}", ["banned"])
        assert len(keys._rooms) <= 3


def test_a_name_that_is_not_text_is_refused_as_before():
    with pytest.raises(TypeError):
        joined("p", "r", ["recent", 5])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        Keys("p").recent("r", 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Keys("p").banned(None)  # type: ignore[arg-type]
