"""Typed dependencies for routes: the services, and the caller's key checked for a role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request

from nlp_service.api.auth import authenticate, require_role
from nlp_service.live.services import Services
from nlp_service.replies.rules import ROOM_PATTERN
from nlp_service.store.apikeys import ApiKey


async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def _key(services: ServicesDep, authorization: Annotated[str | None, Header()] = None) -> ApiKey:
    key = authenticate(authorization, services.api_keys)
    services.rate_limiter.check(key.key_id or key.name)  # 429 + Retry-After
    return key


def role(*roles: str):
    async def dependency(key: Annotated[ApiKey, Depends(_key)]) -> ApiKey:
        return require_role(key, roles)

    return dependency


BotKey = Annotated[ApiKey, Depends(role("bot"))]
AdminKey = Annotated[ApiKey, Depends(role("admin"))]
ModeratorKey = Annotated[ApiKey, Depends(role("moderator"))]
AnyKey = Annotated[ApiKey, Depends(role("admin", "bot", "moderator", "analyst"))]
AnalystKey = Annotated[ApiKey, Depends(role("analyst"))]


# Room names in paths follow the same rule as in bodies (422 otherwise), so no key, ban,
# list or feed can be made for a name no comment could carry.
RoomPath = Annotated[str, Path(pattern=ROOM_PATTERN, description="a room name")]
ScopePath = Annotated[str, Path(pattern=ROOM_PATTERN, description="a room, or 'global' for every room")]
