"""API keys with roles, stored hashed in Redis.

Keys are 32 random bytes (``secrets.token_urlsafe``), so a plain SHA-256 is the right
hash: there is nothing to brute-force, and checking costs microseconds, not the
milliseconds a password hash would add to every bot request. Only the hash is stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import asdict, dataclass, field
from typing import Literal, get_args

import redis

from nlp_service.core import metrics
from nlp_service.core.errors import InvalidRoleError
from nlp_service.store.redis import Keys
from nlp_service.store.version import bump_version

log = logging.getLogger(__name__)

Role = Literal["admin", "bot", "moderator", "analyst"]
ROLES: tuple[Role, ...] = get_args(Role)
ALL_ROOMS = "*"


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: Role
    rooms: tuple[str, ...] = field(default=(ALL_ROOMS,))
    key_id: str = ""

    def allows_room(self, room: str) -> bool:
        return self.role == "admin" or ALL_ROOMS in self.rooms or room in self.rooms


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_key(
    client: redis.Redis, keys: Keys, name: str, role: Role, rooms: list[str] | None = None, raw: str | None = None
) -> tuple[str, ApiKey]:
    """Create a key; returns (the raw key — shown once, never stored, record)."""
    if role not in ROLES:
        raise InvalidRoleError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    raw = raw or "nlps_" + secrets.token_urlsafe(32)
    digest = hash_key(raw)
    record = ApiKey(name=name, role=role, rooms=tuple(rooms or [ALL_ROOMS]), key_id=digest[:12])
    pipe = client.pipeline()
    pipe.hset(keys.api_keys(), digest, json.dumps({**asdict(record), "rooms": list(record.rooms)}))
    bump_version(pipe, keys)
    pipe.execute()
    return raw, record


def load_keys(client: redis.Redis, keys: Keys) -> dict[str, ApiKey]:
    """sha256 → record, for every key. A record that cannot be read is skipped, logged and
    counted: it must not stop the other keys (and their revocations) from loading."""
    out = {}
    for digest, raw in client.hgetall(keys.api_keys()).items():
        try:
            d = json.loads(raw)
            out[digest] = ApiKey(name=d["name"], role=d["role"], rooms=tuple(d.get("rooms") or [ALL_ROOMS]), key_id=digest[:12])
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("ignoring the stored API key record %s… (unreadable)", digest[:12])
            metrics.STATE_ERRORS.inc()
    return out


def list_keys(client: redis.Redis, keys: Keys) -> list[ApiKey]:
    return sorted(load_keys(client, keys).values(), key=lambda k: (k.role, k.name))


def revoke_key(client: redis.Redis, keys: Keys, key_id: str) -> bool:
    for digest in client.hkeys(keys.api_keys()):
        if digest.startswith(key_id) and len(key_id) >= 8:
            pipe = client.pipeline()
            pipe.hdel(keys.api_keys(), digest)
            bump_version(pipe, keys)
            pipe.execute()
            return True
    return False


def ensure_admin(client: redis.Redis, keys: Keys, configured: str | None) -> str | None:
    """Make sure an admin key exists. With ``configured`` (NLP_SERVICE_ADMIN_KEY) that key is
    registered; otherwise, when no admin exists yet, one is created and returned (to be
    printed once). Returns the raw key only when it was generated here."""
    if configured:
        if hash_key(configured) not in client.hkeys(keys.api_keys()):
            create_key(client, keys, "env-admin", "admin", raw=configured)
        return None
    if any(k.role == "admin" for k in load_keys(client, keys).values()):
        return None
    if not client.set(keys.api_keys_bootstrap(), "1", nx=True):  # another instance is creating it
        return None
    raw, _ = create_key(client, keys, "bootstrap-admin", "admin")
    return raw
