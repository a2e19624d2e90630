"""The shared state version: one integer every write bumps and every instance polls.

Lives at the bottom of the stack so rules, word lists, bans and API keys can all bump it
without importing one another.
"""

from __future__ import annotations

import redis

from nlp_service.store.redis import Keys


def bump_version(client: redis.Redis | redis.client.Pipeline, keys: Keys) -> None:
    """Move the version (instances reload on their next poll) and announce it on the channel."""
    client.incr(keys.state_version())
    client.publish(keys.state_channel(), "changed")


def state_version(client: redis.Redis, keys: Keys) -> int:
    return int(client.get(keys.state_version()) or 0)
