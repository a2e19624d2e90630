"""Room bans: a hash user → expiry (epoch ms). A change bumps the state version so every
instance blocks the user's next comment without analysing it."""

from __future__ import annotations

import time

import redis

from nlp_service.store import actions
from nlp_service.store.redis import Keys
from nlp_service.store.version import bump_version


def ban(client: redis.Redis, keys: Keys, room: str, user: str, seconds: int, now_ms: int | None = None, by: str = "") -> int:
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    until = now_ms + seconds * 1000
    pipe = client.pipeline()
    pipe.hset(keys.banned(room), user, until)
    actions.append(pipe, keys, room, "ban_user", {"user": user, "until": until, "reason": "admin ban", "by": by}, now_ms)
    bump_version(pipe, keys)
    pipe.execute()
    return until


def unban(client: redis.Redis, keys: Keys, room: str, user: str) -> None:
    pipe = client.pipeline()
    pipe.hdel(keys.banned(room), user)
    bump_version(pipe, keys)
    pipe.execute()


def active(client: redis.Redis, keys: Keys, room: str, now_ms: int | None = None) -> dict[str, int]:
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    return {u: int(float(t)) for u, t in client.hgetall(keys.banned(room)).items() if int(float(t)) > now_ms}
