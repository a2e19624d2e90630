"""What became of a room's comments on the reply path, as an operator reads it.

The limits script (``replies/limits.py``) counts every decision of a comment that matched a
rule in the room's counters hash (``reply``, ``aggregated``, ``mention_cap``, ``budget``,
``user_cooldown`` …, and ``final:<outcome>`` once each asker's fate is settled) and appends
the deferred outcomes (named by a burst, dropped when the budget was spent) to the room's
reply log. This module only reads them back.
"""

from __future__ import annotations

import redis

from nlp_service.store.redis import Keys

FINAL = "final:"


def room_outcomes(client: redis.Redis, keys: Keys, room: str, recent: int = 50) -> dict:
    """Counts per outcome (``decisions``: as decided when the comment came; ``final``: each
    asker's settled fate) and the newest ``recent`` deferred outcomes, newest first."""
    counters = client.hgetall(keys.counters(room))
    log = client.xrevrange(keys.reply_log(room), count=recent) if recent else []  # (COUNT 0 is an error to redis-py)
    counts = {k: int(v) for k, v in counters.items()}
    return {
        "room": room,
        "decisions": {k: v for k, v in sorted(counts.items()) if not k.startswith(FINAL)},
        "final": {k.removeprefix(FINAL): v for k, v in sorted(counts.items()) if k.startswith(FINAL)},
        "recent_deferred": [{"log_id": sid, **fields} for sid, fields in log],
    }
