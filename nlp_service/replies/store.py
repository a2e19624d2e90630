"""Rules, room variables and room settings in Redis: the one source of truth for all instances.

Every write bumps the shared state version and announces it on a channel; instances poll
the version (``replies/state.py``) and reload, so a change is live everywhere within the
poll interval, without a restart. Functions take the client explicitly.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import redis
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nlp_service.core import metrics
from nlp_service.core.errors import InvalidRuleError, RuleNotFoundError
from nlp_service.replies.rules import GLOBAL_SCOPE, ROOM_PATTERN, Rule, parse_rules_yaml
from nlp_service.store.redis import GLOBAL, Keys
from nlp_service.store.version import bump_version

log = logging.getLogger(__name__)

class RoomConfig(BaseModel):
    """A room's settings (``PUT /v1/rooms/{room}/settings``): finite numbers within the same
    bounds as the service-wide defaults in ``core/config.py``; unset = the default."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    bot_user: str | None = Field(None, min_length=1, max_length=128)
    budget_per_second: float | None = Field(None, gt=0, le=100)
    window_seconds: float | None = Field(None, gt=0, le=3600)
    max_mentions: int | None = Field(None, ge=1, le=50)


ROOM_SETTINGS = tuple(RoomConfig.model_fields)


def room_config(stored: dict[str, str], room: str = "") -> RoomConfig:
    """The stored settings of a room; a field that no longer validates (written by an older
    release, or by hand) is dropped and logged, so it can never break a state refresh."""
    good = {}
    for name, value in stored.items():
        try:
            RoomConfig.model_validate({name: value})
        except ValidationError:
            log.warning("room %r: ignoring stored setting %s=%r (invalid)", room, name, value)
            continue
        good[name] = value
    return RoomConfig.model_validate(good)


def _stored(rule: Rule) -> str:
    """A rule's stored JSON. The newer fields are left out while unused, so an instance one
    release behind (rolling deploy) still reads every rule that does not use them."""
    exclude = {"when_sentiment"} if not rule.when_sentiment else set()
    data = rule.model_dump(mode="json", exclude=exclude)
    if not rule.match.intents:
        del data["match"]["intents"]
    return json.dumps(data, ensure_ascii=False)


def _scope_room(scope: str) -> str:
    return GLOBAL if scope == GLOBAL_SCOPE else scope


def save_rule(client: redis.Redis, keys: Keys, rule: Rule) -> Rule:
    """Create or replace a rule in its scope."""
    room = _scope_room(rule.scope)
    pipe = client.pipeline()
    pipe.hset(keys.rules(room), rule.id, _stored(rule))
    if room != GLOBAL:
        pipe.sadd(keys.rooms(), room)
    bump_version(pipe, keys)
    pipe.execute()
    return rule


def save_rules(client: redis.Redis, keys: Keys, rules: list[Rule], replace_scopes: bool = False) -> int:
    """Save many rules atomically (one version bump). ``replace_scopes`` first clears every
    scope the rules belong to (import that replaces a rule set)."""
    pipe = client.pipeline()
    if replace_scopes:
        for room in {_scope_room(r.scope) for r in rules}:
            pipe.delete(keys.rules(room))
    for rule in rules:
        room = _scope_room(rule.scope)
        pipe.hset(keys.rules(room), rule.id, _stored(rule))
        if room != GLOBAL:
            pipe.sadd(keys.rooms(), room)
    bump_version(pipe, keys)
    pipe.execute()
    return len(rules)


def get_rule(client: redis.Redis, keys: Keys, scope: str, rule_id: str) -> Rule:
    raw = client.hget(keys.rules(_scope_room(scope)), rule_id)
    if raw is None:
        raise RuleNotFoundError(f"no rule {rule_id!r} in scope {scope!r}")
    return Rule.model_validate_json(raw)


def delete_rule(client: redis.Redis, keys: Keys, scope: str, rule_id: str) -> None:
    pipe = client.pipeline()
    pipe.hdel(keys.rules(_scope_room(scope)), rule_id)
    bump_version(pipe, keys)
    removed = pipe.execute()[0]
    if not removed:
        raise RuleNotFoundError(f"no rule {rule_id!r} in scope {scope!r}")


def list_rules(
    client: redis.Redis, keys: Keys, scope: str | None = None, unreadable: list[dict[str, str]] | None = None
) -> list[Rule]:
    """Rules of one scope, or of every scope when ``scope`` is None. A stored rule that no
    longer validates is left out (as on the reply path) and, when ``unreadable`` is given,
    named there by scope and id so an admin can replace or delete it."""
    scopes = [scope] if scope else [GLOBAL_SCOPE, *sorted(client.smembers(keys.rooms()))]
    pipe = client.pipeline(transaction=False)
    for s in scopes:
        pipe.hgetall(keys.rules(_scope_room(s)))
    out: list[Rule] = []
    for s, raw in zip(scopes, pipe.execute(), strict=True):
        bad: list[str] = []
        out += sorted(_valid_rules(raw, s, bad), key=lambda r: (r.priority, r.id))
        if unreadable is not None:
            unreadable += [{"scope": s, "id": rule_id} for rule_id in bad]
    return out


def room_state(client: redis.Redis, keys: Keys, room: str) -> tuple[list[Rule], list[Rule], dict[str, str], dict[str, str]]:
    """Everything the reply path needs of a room, in one round trip:
    (global rules, room rules, variables (global overlaid by room), room settings)."""
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(keys.rules(GLOBAL))
    pipe.hgetall(keys.rules(room))
    pipe.hgetall(keys.vars(GLOBAL))
    pipe.hgetall(keys.vars(room))
    pipe.hgetall(keys.room_config(room))
    g_rules, r_rules, g_vars, r_vars, cfg = pipe.execute()
    return _valid_rules(g_rules, GLOBAL), _valid_rules(r_rules, room) if room != GLOBAL else [], {**g_vars, **r_vars}, cfg


def _valid_rules(raw: dict[str, str], scope: str, bad: list[str] | None = None) -> list[Rule]:
    """The stored rules that still validate; one that does not (written by an older release
    or by hand) is skipped, logged and counted, so it cannot stop every room's state.
    ``bad`` collects the skipped ids."""
    out = []
    for rule_id, value in raw.items():
        try:
            out.append(Rule.model_validate_json(value))
        except ValidationError:
            log.warning("scope %r: ignoring stored rule %r (invalid)", scope, rule_id)
            metrics.STATE_ERRORS.inc()
            if bad is not None:
                bad.append(rule_id)
    return out


def check_room(room: str) -> str:
    import re

    if room != GLOBAL_SCOPE and not re.match(ROOM_PATTERN, room):
        raise InvalidRuleError(f"room {room!r} must match {ROOM_PATTERN}")
    return room


def set_variables(client: redis.Redis, keys: Keys, room: str, values: dict[str, str | None]) -> dict[str, str]:
    """Set (or, with None, remove) room variables; returns the room's variables after."""
    target = keys.vars(_scope_room(check_room(room)))
    pipe = client.pipeline()
    for name, value in values.items():
        if not name.isidentifier():
            raise InvalidRuleError(f"variable name {name!r} must be an identifier like coupon_code")
        if value is None:
            pipe.hdel(target, name)
        else:
            pipe.hset(target, name, str(value))
    if room != GLOBAL_SCOPE:
        pipe.sadd(keys.rooms(), room)
    bump_version(pipe, keys)
    pipe.hgetall(target)
    return pipe.execute()[-1]


def get_variables(client: redis.Redis, keys: Keys, room: str) -> dict[str, str]:
    return client.hgetall(keys.vars(_scope_room(check_room(room))))


def set_room_settings(client: redis.Redis, keys: Keys, room: str, values: dict[str, object]) -> dict[str, str]:
    """Room settings (bot_user, budget_per_second, window_seconds, max_mentions)."""
    check_room(room)
    unknown = sorted(set(values) - set(ROOM_SETTINGS))
    if unknown:
        raise InvalidRuleError(f"unknown room setting {unknown[0]!r}; known: {', '.join(ROOM_SETTINGS)}")
    try:
        parsed = RoomConfig.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRuleError(f"room setting {'.'.join(str(p) for p in first['loc'])}: {first['msg']} (got {first.get('input')!r})") from None
    clean = {name: str(value) for name, value in parsed.model_dump(exclude_unset=True).items() if value is not None}
    pipe = client.pipeline()
    pipe.hset(keys.room_config(room), mapping=clean) if clean else None
    pipe.sadd(keys.rooms(), room)
    bump_version(pipe, keys)
    pipe.hgetall(keys.room_config(room))
    return pipe.execute()[-1]


def seed_rules_once(client: redis.Redis, keys: Keys, path: Path) -> int:
    """Load the seed rules on the very first start (SET NX guards it across instances)."""
    if not path.is_file():
        return 0
    if not client.set(keys.seeded(), json.dumps({"from": path.name}), nx=True):
        return 0
    rules = parse_rules_yaml(path.read_text(encoding="utf-8"))
    return save_rules(client, keys, rules)
