"""The observe and limits scripts' calls, queued with their key builders looked up once a
batch: the same EVALSHA commands (keys and arguments) as built per comment before."""

from __future__ import annotations

import redis
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic_core import to_json

from nlp_service.moderation.queue import ModerationQueue, ObserveConfig, QueueEntry, _at
from nlp_service.replies.limits import Limiter, LimitRequest, RoomLimits
from nlp_service.store.redis import Keys

_NAME = st.text(max_size=6)


def _pipe(client: redis.Redis):
    return client.pipeline(transaction=False)


def _observe_as_it_was(queue: ModerationQueue, pipe, room, entries, cfg, now_ms) -> None:
    k = queue.keys
    keys = [k.mod_stream(room), k.mod_members(room)]
    args = [now_ms, cfg.keep, cfg.flood_ms, cfg.flood_max, cfg.dedupe_s, len(entries), queue.recent_ms, queue.room_keep_s * 1000, cfg.group_ms, cfg.group_max]
    for e in entries:
        keys += [k.recent(room, e.user), k.flood(room, e.user, e.digest), k.mod_seen(room, e.comment_id), k.mod_group(room, e.group)]
        args += [to_json(e.record), to_json(e.payload) if e.payload else "", "1" if e.observe else "0", _at(e.record, now_ms)]
    pipe.execute_command("EVALSHA", queue.observe_script.sha, len(keys), *keys, *args)


_RECORD = st.fixed_dictionaries(
    {"id": _NAME, "text": _NAME, "ts": st.one_of(st.none(), st.integers(), st.booleans())},
    optional={"digest": _NAME, "group": _NAME},
)
_ENTRY = st.builds(QueueEntry, _NAME, _NAME, _RECORD, st.one_of(st.none(), st.fixed_dictionaries({"action": _NAME})), st.booleans())


@hsettings(max_examples=200, deadline=None)
@given(room=_NAME, entries=st.lists(_ENTRY, max_size=6), now_ms=st.integers(0, 2**45))
def test_observe_call_as_before(room: str, entries: list[QueueEntry], now_ms: int) -> None:
    client = redis.Redis(decode_responses=True)  # nothing is sent: queued only
    queue = ModerationQueue.__new__(ModerationQueue)
    queue.client, queue.keys, queue.recent_ms, queue.room_keep_s = client, Keys("t"), 60_000, 3600
    queue.observe_script = client.register_script("return 1")
    cfg = ObserveConfig(keep=20, flood_ms=60_000, flood_max=3, dedupe_s=600, group_ms=5000, group_max=50)
    new, old = _pipe(client), _pipe(client)
    queue.observe_call(new, room, entries, cfg, now_ms)
    _observe_as_it_was(queue, old, room, entries, cfg, now_ms)
    assert new.command_stack == old.command_stack


def _limits_keys_as_they_were(k: Keys, room: str, items: list[LimitRequest]) -> list[str]:
    keys = [k.room_budget(room), k.banned(room), k.counters(room), k.waiting(room), k.reply_log(room), k.actions(room), k.burst_bodies(room)]
    for it in items:
        keys += [
            k.idempotency(room, it.comment_id),
            k.user_cooldown(room, it.rule_id, it.user),
            k.rule_cooldown(room, it.rule_id),
            k.rotation(room, it.rule_id),
            k.flood(room, it.user, it.text_digest),
        ]
    return keys


_REQUEST = st.builds(LimitRequest, _NAME, _NAME, _NAME, _NAME, st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 4), st.integers(-1, 3), _NAME, _NAME, st.booleans())


@hsettings(max_examples=200, deadline=None)
@given(room=_NAME, items=st.lists(_REQUEST, max_size=6))
def test_limits_call_keys_as_before(room: str, items: list[LimitRequest]) -> None:
    client = redis.Redis(decode_responses=True)
    limiter = Limiter.__new__(Limiter)
    limiter.client, limiter.keys, limiter.room_keep_ms = client, Keys("t"), 3600_000
    limiter._script = client.register_script("return 1")
    pipe = _pipe(client)
    limiter.call(room, items, RoomLimits(100, 5, 60_000, 3), 1, pipe)
    (args, _), = pipe.command_stack
    keys = _limits_keys_as_they_were(limiter.keys, room, items)
    assert args[:3] == ("EVALSHA", limiter._script.sha, len(keys)) and list(args[3 : 3 + len(keys)]) == keys
