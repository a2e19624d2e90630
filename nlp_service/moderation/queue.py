"""The moderation queue: one Redis Stream per room, worked by the ``moderators`` group.

This module is the facade (``ModerationQueue``) and the enqueue side; the rest is split by
concern: ``queue_items`` (entries, items, ids), ``queue_scripts`` (Lua), ``queue_pull`` (the
moderators' pull and held items), ``queue_decide`` (decisions), ``queue_upkeep`` (stats, trim).

* Enqueue (``OBSERVE_LUA``, run in the same round trip as the reply limits): records each
  comment in the user's recent list, counts identical comments for flood, and appends a
  flagged comment to the room's stream exactly once per comment id (a ``SET NX`` marker and
  the ``XADD`` happen atomically in one script, so bot retries cannot double an item); a storm
  of the same text in a room joins one undecided item instead (``queue_scripts.py``).
* Pull: ``XAUTOCLAIM`` first hands over items another moderator pulled but did not decide
  within ``moderation_claim_seconds``; then ``XREADGROUP >`` gives new items, each to one
  moderator only.
* Decide (``DECIDE_LUA``): ``XACK``, the decision record, an audit-stream entry, per-moderator
  counters and, for ``ban``, the bans, atomically, for every comment the item holds; a repeated decision returns the first
  (and acknowledges again). An item may be decided before anyone pulled it (from its id in the
  audit or the console): a pull then acknowledges it and skips it instead of handing it out.
* Trimming never drops an item still pending or not yet delivered: ``XTRIM MINID`` up to the
  older of the oldest pending id and the first undelivered id (see :func:`trim`).
"""

from __future__ import annotations

from collections.abc import Sequence

import redis
from pydantic_core import to_json

from nlp_service.core.config import Settings
from nlp_service.moderation.queue_decide import QueueDecide, room_actions
from nlp_service.moderation.queue_items import (
    DECISIONS,
    GROUP,
    URGENT,
    ObserveConfig,
    QueueEntry,
    QueueItem,
    item_id,
    parse_item_id,
)
from nlp_service.moderation.queue_pull import QueuePull
from nlp_service.moderation.queue_scripts import DECIDE_LUA, OBSERVE_LUA
from nlp_service.moderation.queue_upkeep import QueueUpkeep
from nlp_service.store.pipeline import after, register_script, run_script
from nlp_service.store.redis import Keys

__all__ = [
    "DECIDE_LUA", "DECISIONS", "GROUP", "OBSERVE_LUA", "URGENT", "ModerationQueue", "ObserveConfig",
    "QueueEntry", "QueueItem", "item_id", "observed", "parse_item_id", "room_actions",
]  # fmt: skip


def observed(answer: list) -> list[tuple[int, int]]:
    """The OBSERVE script's answer as one (flood count, queued) pair per entry."""
    return list(zip(answer[0::2], answer[1::2], strict=True))


def _at(record: dict, now_ms: int) -> int:
    """When a comment was said (its ``ts``, epoch ms), or when it reached us."""
    ts = record.get("ts")
    return ts if isinstance(ts, int) and not isinstance(ts, bool) else now_ms


class ModerationQueue(QueuePull, QueueDecide, QueueUpkeep):
    """Queue operations for one client; scripts are registered once. The enqueue side lives
    here; pulling, deciding and upkeep are the mixins named in the module docstring."""

    def __init__(self, client: redis.Redis, keys: Keys, settings: Settings | None = None) -> None:
        self.client = client
        self.keys = keys
        s = settings or Settings.model_construct()  # the defaults (no environment read)
        self.recent_ms = s.recent_comments_ttl_seconds * 1000
        self.decision_ttl_s = s.moderation_decision_ttl_seconds
        self.room_keep_s = s.room_keep_seconds
        self.observe_script = register_script(client, OBSERVE_LUA)
        self._decide = register_script(client, DECIDE_LUA)

    def observe_call(self, pipe, room: str, entries: Sequence[QueueEntry], cfg: ObserveConfig, now_ms: int) -> None:
        """Queue the OBSERVE script on ``pipe`` for one room's comments. Its answer is the
        flood count and queued (1 or 0) of each entry, in order, flat (:func:`observed`)."""
        keys, args = self.observe_parts(room, entries, cfg, now_ms)
        run_script(pipe, self.observe_script, keys, args)
        self.listed(pipe, room)

    def listed(self, pipe, room: str) -> None:
        """The room into the moderators' room list, on ``pipe``'s round trip."""
        # shared state ({_global} slot): sent with the same round trip, after the scripts,
        # outside them (a cluster refuses a script that spans slots)
        after(pipe, "SADD", self.keys.mod_rooms(), room)

    def observe_parts(self, room: str, entries: Sequence[QueueEntry], cfg: ObserveConfig, now_ms: int) -> tuple[list[str], list[object]]:
        """The OBSERVE script's keys and arguments for one room's comments (run by
        :meth:`observe_call`, or in the room's script with the reply limits: ``replies/room_script.py``)."""
        k = self.keys
        keys = [k.mod_stream(room), k.mod_members(room)]  # every key of the script in the room's slot (Redis Cluster)
        args: list[object] = [now_ms, cfg.keep, cfg.flood_ms, cfg.flood_max, cfg.dedupe_s, len(entries), self.recent_ms, self.room_keep_s * 1000, cfg.group_ms, cfg.group_max]
        recent, flood, seen, group = k.recent, k.flood, k.mod_seen, k.mod_group  # looked up once a batch, not per comment
        for e in entries:
            record = e.record
            digest = record.get("digest", "")  # e.digest and e.group, without their property calls
            keys += [recent(room, e.user), flood(room, e.user, digest), seen(room, e.comment_id), group(room, record.get("group") or digest)]
            # bytes: redis-py sends them as they are; the group window runs on the comment's time
            args += [to_json(record), to_json(e.payload) if e.payload else "", "1" if e.observe else "0", _at(record, now_ms)]
        return keys, args

    def rooms(self) -> list[str]:
        return sorted(self.client.smembers(self.keys.mod_rooms()))

