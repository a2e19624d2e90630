"""Bearer API keys with roles: 401 for a missing or unknown key, 403 for a wrong role or room."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from nlp_service.core.errors import AuthError, ForbiddenError
from nlp_service.store.apikeys import ApiKey, hash_key


def authenticate(header: str | None, known: dict[str, ApiKey]) -> ApiKey:
    if not header:
        raise AuthError("missing Authorization header; send 'Authorization: Bearer <api key>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization must be 'Bearer <api key>'")
    record = known.get(_token_hash(token.strip()))
    if record is None:
        raise AuthError("unknown API key")
    return record


# A bot sends the same key with every comment: its SHA-256 was ~1 % of the event loop's time on
# the reply path. The hash is a pure function of the token, so a kept one is never stale (a
# revoked key's hash is simply no longer in ``known``); bounded, so random tokens cannot grow it.
_token_hash = functools.lru_cache(maxsize=1024)(hash_key)


def require_role(key: ApiKey, roles: Iterable[str]) -> ApiKey:
    roles = tuple(roles)
    if key.role != "admin" and key.role not in roles:
        raise ForbiddenError(f"this endpoint needs role {' or '.join(roles)}; key {key.name!r} has role {key.role!r}")
    return key


def require_rooms(key: ApiKey, rooms: Iterable[str]) -> None:
    for room in rooms:
        if not key.allows_room(room):
            raise ForbiddenError(f"key {key.name!r} may not act on room {room!r}")
