"""The moderation queue's data: what the observe script takes (``QueueEntry``,
``ObserveConfig``), what a moderator gets (``QueueItem``) and the item ids
(``<room>~[urgent~]<stream id>``) that name an item across the API, the console and the audit."""

from __future__ import annotations

import json
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class ObserveConfig:
    """The observe script's settings (from ``Settings``: see ``ReplyEngine.queue_config``)."""

    keep: int  # recent comments kept per user
    flood_ms: int  # the flood window
    flood_max: int  # repeats allowed in it
    dedupe_s: int  # how long a comment id's queue marker lives


@dataclass
class QueueItem:
    item_id: str
    room: str
    record: dict
    moderation: dict
    delivered: int = 1

    def to_dict(self) -> dict:
        return {"item_id": self.item_id, "room": self.room, "comment": self.record, "moderation": self.moderation, "deliveries": self.delivered}


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

