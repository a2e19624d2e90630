"""The room's action feed: everything the room's bot must do that was not in a
``/v1/reply`` answer, in one capped Redis stream per room (``Keys.actions``).

Kinds (the ``kind`` field; the rest of an action is its payload):

* ``hide_comment`` {comment_id, user, reason, by}: a moderator deleted a comment, or
  confirmed a block;
* ``unhide_comment`` {comment_id, user, by}: a moderator overturned a block (approve);
* ``ban_user`` {user, until (epoch ms), reason, by}: a moderator's or an admin's ban;
* ``post_text`` {text, reply_to (the comment ids it answers), nickname, source}: a
  moderator's reply (``source`` moderator, with ``by``), or a reply burst posted when a
  rule's window closed (``source`` burst, with ``mentions`` and ``rule_id``; replies/limits.py);
* ``host_alert`` {alert}: a mood_spike for the host (the alert as the pulse raised it).

Stream ids are the resume points: a bot that reconnects with the last id it handled gets
everything after it, nothing twice. The stream is capped at ``MAX_ACTIONS`` entries
(approximate trimming, the cheap form), far more than a show produces between two polls.
Producers append in the same pipeline or script as the change itself (the decision script
writes its actions atomically with the decision), so an action is never lost or doubled.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import redis

from nlp_service.store.redis import Keys

KINDS = ("hide_comment", "unhide_comment", "ban_user", "post_text", "host_alert")
MAX_ACTIONS = 10_000
MAX_WAIT_MS = 30_000
BLOCK_SLICE_MS = 2_000  # well under redis-py's default 5 s socket timeout


@dataclass(frozen=True)
class Action:
    id: str
    kind: str
    at: int  # epoch ms when it was appended
    payload: dict

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "at": self.at, **self.payload}


def fields(kind: str, payload: dict, now_ms: int | None = None) -> dict[str, str]:
    """The stream fields of one action (for producers that append in their own pipeline or script)."""
    if kind not in KINDS:
        raise ValueError(f"unknown action kind {kind!r}; use one of {', '.join(KINDS)}")
    at = now_ms if now_ms is not None else int(time.time() * 1000)
    return {"kind": kind, "at": str(at), "payload": json.dumps(payload, ensure_ascii=False)}


def append(target: redis.Redis, keys: Keys, room: str, kind: str, payload: dict, now_ms: int | None = None):
    """Append one action (``target`` may be a pipeline)."""
    return target.xadd(keys.actions(room), fields(kind, payload, now_ms), maxlen=MAX_ACTIONS, approximate=True)


def _parse(entries) -> list[Action]:
    return [Action(sid, f["kind"], int(f["at"]), json.loads(f["payload"])) for sid, f in entries]


def read(client: redis.Redis, keys: Keys, room: str, after: str = "0", count: int = 100, wait_ms: int = 0) -> list[Action]:
    """Actions after stream id ``after`` (oldest first); waits up to ``wait_ms`` for the
    first one when there is none yet (long-poll)."""
    return _parse(read_after(client, keys.actions(room), after, count, wait_ms))


def read_after(client: redis.Redis, stream: str, after: str = "0", count: int = 100, wait_ms: int = 0) -> list[tuple[str, dict]]:
    """Raw entries of ``stream`` after id ``after`` (oldest first), long-polling up to
    ``wait_ms`` for the first one (shared by the action feed and the room's comment feed)."""
    after = after or "0"
    if wait_ms <= 0:
        return client.xrange(stream, "(" + after if after != "0" else "-", "+", count=count)
    # Block in slices: redis-py 8 gives every read a 5 s socket timeout by default, so one
    # long BLOCK would fail as a timeout instead of returning empty.
    deadline = time.monotonic() + min(wait_ms, MAX_WAIT_MS) / 1000
    while True:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            return []
        resp = client.xread({stream: after}, count=count, block=min(left_ms, BLOCK_SLICE_MS))
        if resp:
            return resp[0][1]


def last_id(client: redis.Redis, keys: Keys, room: str) -> str:
    """The id of the newest action, ``0`` when there is none (a new bot starts there)."""
    newest = client.xrevrange(keys.actions(room), count=1)
    return newest[0][0] if newest else "0"
