"""The moderation queue's data: what the observe script takes (``QueueEntry``,
``ObserveConfig``), what a moderator gets (``QueueItem``) and the item ids
(``<room>~[urgent~]<stream id>``) that name an item across the API, the console and the audit."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import redis

from nlp_service.core.errors import QueueItemNotFoundError
from nlp_service.store.redis import Keys

GROUP = "moderators"
DECISIONS = ("approve", "delete", "ban", "reply")


# slots, not frozen: a frozen dataclass's __init__ costs 1.2 µs against 0.2 µs (one
# object.__setattr__ per field; timeit, Python 3.11), paid per comment on the reply path.
# Nothing mutates it after it is built.
@dataclass(slots=True)
class QueueEntry:
    """One comment as the observe script gets it (from the engine, the recorder or the spool)."""

    comment_id: str
    user: str
    record: dict  # what a moderator sees of the comment (id, room, user, nickname, text, ts, digest)
    payload: dict | None  # the full moderation result when flagged, else None
    observe: bool = True  # count it (recent list, flood counter); False when replaying the spool

    @property
    def digest(self) -> str:
        """Of the normalised text: the flood counter's key."""
        return self.record.get("digest", "")

    @property
    def group(self) -> str:
        """Of the group form (``text/fold.py``), set on flagged comments: the key of the
        queue item a storm of the same text shares; the digest when it is not set."""
        return self.record.get("group") or self.digest


@dataclass(frozen=True, slots=True)
class ObserveConfig:
    """The observe script's settings (from ``Settings``: see ``ReplyEngine.queue_config``)."""

    keep: int  # recent comments kept per user
    flood_ms: int  # the flood window
    flood_max: int  # repeats allowed in it
    dedupe_s: int  # how long a comment id's queue marker lives
    group_ms: int = 0  # a comment joins its group's open item within this of the last one (0: never)
    group_max: int = 50  # comments one item holds


@dataclass
class QueueItem:
    item_id: str
    room: str
    record: dict
    moderation: dict
    delivered: int = 1
    repeats: int = 1  # comments the item holds (a storm of one text: see queue_scripts.py)
    repeat_users: int = 1  # distinct users among them
    members: list[dict] = field(default_factory=list)  # their records, oldest first (the first is ``record``)

    def to_dict(self) -> dict:
        return {
            "item_id": self.item_id, "room": self.room, "comment": self.record, "moderation": self.moderation, "deliveries": self.delivered,
            "repeats": self.repeats, "repeat_users": self.repeat_users, "members": self.members or [self.record],
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Members:
    """The comments a queue item holds, as the members hash keeps them (``Keys.mod_members``)."""

    records: list[dict]  # oldest first, the item's own comment first
    count: int  # comments the item holds
    users: int  # distinct users among them


URGENT = "urgent"


def item_id(room: str, stream_id: str, urgent: bool = False) -> str:
    return f"{room}~{URGENT}~{stream_id}" if urgent else f"{room}~{stream_id}"


def parse_item_id(value: str) -> tuple[str, str, bool]:
    """(room, stream id, urgent?) of an item id ``<room>~[urgent~]<stream id>``."""
    parts = value.split("~")
    if len(parts) == 3 and parts[1] == URGENT:
        room, sid, urgent = parts[0], parts[2], True
    elif len(parts) == 2:
        room, sid, urgent = parts[0], parts[1], False
    else:
        raise QueueItemNotFoundError(f"item id {value!r} is not of the form <room>~<stream id>")
    if not room or "-" not in sid:
        raise QueueItemNotFoundError(f"item id {value!r} is not of the form <room>~<stream id>")
    return room, sid, urgent


class QueueCore:
    """What every side of the queue shares: the client, the key builders and the stream an
    item lives in (the mixins in ``queue_pull``, ``queue_decide``, ``queue_upkeep`` read these)."""

    client: redis.Redis
    keys: Keys

    def _stream(self, room: str, urgent: bool) -> str:
        return self.keys.urgent_stream(room) if urgent else self.keys.mod_stream(room)

    def _item(self, room: str, sid: str, fields: dict, urgent: bool, delivered: int = 1) -> QueueItem:
        return QueueItem(item_id(room, sid, urgent), room, json.loads(fields["record"]), json.loads(fields["moderation"]), delivered)

    def _members(self, room: str, firsts: dict[str, dict]) -> dict[str, Members]:
        """The comments each item holds, by stream id (``firsts``: stream id → the item's own
        record); two reads for any number of items, one when none is grouped."""
        if not firsts:
            return {}
        k = self.keys.mod_members(room)
        pipe = self.client.pipeline(transaction=False)
        for sid in firsts:
            pipe.hmget(k, f"{sid}:n", f"{sid}:users")
        counts = {sid: (int(n or 1), int(users or 1)) for sid, (n, users) in zip(firsts, pipe.execute(), strict=True)}
        grouped = [sid for sid, (n, _) in counts.items() if n > 1]
        for sid in grouped:
            pipe.hmget(k, [f"{sid}:{i}" for i in range(1, counts[sid][0])])
        rest = dict(zip(grouped, pipe.execute() if grouped else [], strict=True))
        return {
            sid: Members([first, *(json.loads(r) for r in rest.get(sid, []) if r is not None)], *counts[sid])
            for sid, first in firsts.items()
        }

    def _grouped(self, room: str, urgent: bool, items: list[tuple[str, QueueItem]]) -> list[QueueItem]:
        """``items`` (stream id, item) with the comments each holds filled in (the urgent
        stream's alerts are never grouped)."""
        if urgent:
            return [item for _, item in items]
        held = self._members(room, {sid: item.record for sid, item in items})
        for sid, item in items:
            m = held[sid]
            item.repeats, item.repeat_users, item.members = m.count, m.users, m.records
        return [item for _, item in items]

