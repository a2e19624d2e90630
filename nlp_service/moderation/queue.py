"""The moderation queue: one Redis Stream per room, worked by the ``moderators`` group.

* Enqueue (``OBSERVE_LUA``, run in the same round trip as the reply limits): records each
  comment in the user's recent list, counts identical comments for flood, and appends a
  flagged comment to the room's stream exactly once per comment id (a ``SET NX`` marker and
  the ``XADD`` happen atomically in one script, so bot retries cannot double an item).
* Pull: ``XAUTOCLAIM`` first hands over items another moderator pulled but did not decide
  within ``moderation_claim_seconds``; then ``XREADGROUP >`` gives new items, each to one
  moderator only.
* Decide (``DECIDE_LUA``): ``XACK``, the decision record, an audit-stream entry, per-moderator
  counters and, for ``ban``, the ban itself, atomically; a repeated decision returns the first
  (and acknowledges again). An item may be decided before anyone pulled it (from its id in the
  audit or the console): a pull then acknowledges it and skips it instead of handing it out.
* Trimming never drops an item still pending or not yet delivered: ``XTRIM MINID`` up to the
  older of the oldest pending id and the first undelivered id (see :func:`trim`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from pydantic_core import to_json

from nlp_service.core.config import Settings
from nlp_service.core.errors import InvalidDecisionError, QueueItemNotFoundError
from nlp_service.store import actions
from nlp_service.store.redis import Keys, after, register_script, run_script

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


OBSERVE_LUA = """
local now, keep, flood_ms, flood_max, dedupe_s, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local recent_ms, room_keep_ms = tonumber(ARGV[7]), tonumber(ARGV[8])
local stream = KEYS[1]
local out = {}
for i = 0, n - 1 do
  local k_recent, k_flood, k_seen = KEYS[2 + i*3], KEYS[3 + i*3], KEYS[4 + i*3]
  local record, payload, observe = ARGV[9 + i*3], ARGV[10 + i*3], ARGV[11 + i*3]
  local count = 0
  if observe == '1' then
    redis.call('LPUSH', k_recent, record)
    redis.call('LTRIM', k_recent, 0, keep - 1)
    redis.call('PEXPIRE', k_recent, recent_ms)
    count = redis.call('INCR', k_flood)
    if count == 1 then redis.call('PEXPIRE', k_flood, flood_ms) end
  end
  local flood = count > flood_max
  local queued = 0
  if payload ~= '' or flood then
    local mod
    if payload ~= '' then mod = cjson.decode(payload) else mod = {action = 'block', categories = {}} end
    if flood then
      mod.action = 'block'
      table.insert(mod.categories, 1, 'flood')
    end
    if redis.call('SET', k_seen, '1', 'NX', 'EX', dedupe_s) then
      pcall(redis.call, 'XGROUP', 'CREATE', stream, 'moderators', '0', 'MKSTREAM')
      redis.call('XADD', stream, '*', 'record', record, 'moderation', cjson.encode(mod))
      redis.call('PEXPIRE', stream, room_keep_ms)  -- a room's queue goes room_keep after its last item
      queued = 1
    end
  end
  out[i + 1] = {count, queued}
end
return out
"""

DECIDE_LUA = """
local stream, k_decided, k_audit, k_stats, k_banned = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local sid, decision, moderator, action, user, ban_until, now, keep_s = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
local prev = redis.call('GET', k_decided)
if prev then
  -- a repeat still acknowledges: the item may have been delivered again since the first decision
  redis.call('XACK', stream, 'moderators', sid)
  return {prev, 0}
end
if #redis.call('XRANGE', stream, sid, sid) == 0 then return {false, -1} end
redis.call('XACK', stream, 'moderators', sid)
redis.call('SET', k_decided, decision, 'EX', keep_s)
redis.call('XADD', k_audit, 'MAXLEN', '~', 100000, '*', 'item', sid, 'moderator', moderator, 'action', action, 'at', now, 'decision', decision)
redis.call('HINCRBY', k_stats, 'moderator:' .. moderator, 1)
redis.call('HINCRBY', k_stats, 'action:' .. action, 1)
if action == 'ban' then redis.call('HSET', k_banned, user, ban_until) end
-- what the room's bot must do about it, in the same step (see store/actions.py)
local k_actions, n_actions, room_keep_s = KEYS[6], tonumber(ARGV[9]), tonumber(ARGV[11])
for i = 0, n_actions - 1 do
  redis.call('XADD', k_actions, 'MAXLEN', '~', ARGV[10], '*', 'kind', ARGV[12 + i*2], 'at', now, 'payload', ARGV[13 + i*2])
end
for _, k in ipairs({k_audit, k_stats, k_actions}) do redis.call('EXPIRE', k, room_keep_s) end
return {decision, 1}
"""


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


def room_actions(decision: dict, record: dict, flagged: dict, ban_until: int) -> list[tuple[str, dict]]:
    """What the room's bot must do after a decision (``store/actions.py`` kinds): hide a
    deleted comment, show a block that was overturned, ban, post the moderator's answer."""
    comment = {"comment_id": record.get("id", ""), "user": record.get("user", "")}
    by, reason, action = decision["moderator"], decision["reason"], decision["action"]
    if action == "delete":
        return [("hide_comment", {**comment, "reason": reason, "by": by})]
    if action == "ban":
        return [("ban_user", {"user": comment["user"], "until": ban_until, "reason": reason, "by": by}),
                ("hide_comment", {**comment, "reason": reason or "ban", "by": by})]  # fmt: skip
    if action == "reply":
        return [("post_text", {"text": decision["reply_text"], "reply_to": [comment["comment_id"]], "nickname": record.get("nickname", ""), "source": "moderator", "by": by})]
    if action == "approve" and flagged.get("action") == "block":
        return [("unhide_comment", {**comment, "by": by})]
    return []


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


class ModerationQueue:
    """Queue operations for one client; scripts are registered once."""

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
        """Queue the OBSERVE script on ``pipe`` for one room's comments. Its answer is one
        ``[flood count, queued]`` pair per entry, in order."""
        k = self.keys
        keys = [k.mod_stream(room)]  # every key of the script in the room's slot (Redis Cluster)
        args: list[object] = [now_ms, cfg.keep, cfg.flood_ms, cfg.flood_max, cfg.dedupe_s, len(entries), self.recent_ms, self.room_keep_s * 1000]
        for e in entries:
            keys += [k.recent(room, e.user), k.flood(room, e.user, e.digest), k.mod_seen(room, e.comment_id)]
            # bytes: redis-py sends them as they are
            args += [to_json(e.record), to_json(e.payload) if e.payload else "", "1" if e.observe else "0"]
        run_script(pipe, self.observe_script, keys, args)
        # the moderators' room list is shared state ({_global} slot): sent with the same round
        # trip, after the script, outside it (a cluster refuses a script that spans slots)
        after(pipe, "SADD", k.mod_rooms(), room)

    # --- moderators -------------------------------------------------------------------
    def rooms(self) -> list[str]:
        return sorted(self.client.smembers(self.keys.mod_rooms()))

    def _stream(self, room: str, urgent: bool) -> str:
        return self.keys.urgent_stream(room) if urgent else self.keys.mod_stream(room)

    def pull(
        self, rooms: list[str], moderator: str, count: int, wait_ms: int, claim_ms: int, urgent_only: bool = False, reclaim: bool = True
    ) -> list[QueueItem]:
        """Up to ``count`` items for ``moderator``: urgent items (mood_spike) first, then
        items another moderator dropped, then new ones (``urgent_only``: the urgent ones
        alone; ``reclaim=False``: no dropped items, see ``moderation/feed.py``)."""
        items: list[QueueItem] = []
        deadline = time.monotonic() + wait_ms / 1000
        kinds = (True,) if urgent_only else (True, False)
        for urgent in kinds if reclaim else ():
            for room in rooms:
                if len(items) < count:
                    items += self._reclaim(room, urgent, moderator, count - len(items), claim_ms)
        streams = [self._stream(room, urgent) for urgent in kinds for room in rooms]
        while True:
            marks = self._last_ids(streams) if wait_ms else {}  # taken before the round: see below
            for urgent in kinds:
                for room in rooms:
                    if len(items) < count:
                        items += self._read_new(room, urgent, moderator, count - len(items))
            left_ms = int((deadline - time.monotonic()) * 1000)
            if items or left_ms <= 0 or not marks:
                return items
            # Wait without polling: XREAD BLOCK (no group, consumes nothing) wakes on the first
            # entry appended to any of the streams after the marks, including one appended
            # during the round above, and works on a stream that does not exist yet. Then
            # the round runs again (another moderator may have taken that entry).
            if not self.client.xread(marks, count=1, block=left_ms):
                return items  # the wait ran out with nothing appended

    def _last_ids(self, streams: list[str]) -> dict[str, str]:
        pipe = self.client.pipeline(transaction=False)
        for stream in streams:
            pipe.xrevrange(stream, count=1)
        return {stream: (last[0][0] if last else "0-0") for stream, last in zip(streams, pipe.execute(), strict=True)}

    def _read_new(self, room: str, urgent: bool, moderator: str, count: int) -> list[QueueItem]:
        try:
            resp = self.client.xreadgroup(GROUP, moderator, {self._stream(room, urgent): ">"}, count=count)
        except redis.ResponseError as exc:
            if "NOGROUP" in str(exc):
                return []
            raise
        return self._undecided(room, urgent, [(sid, fields) for _stream, entries in resp or [] for sid, fields in entries], moderator)

    def _reclaim(self, room: str, urgent: bool, moderator: str, count: int, claim_ms: int) -> list[QueueItem]:
        try:
            resp = self.client.xautoclaim(self._stream(room, urgent), GROUP, moderator, min_idle_time=claim_ms, start_id="0-0", count=count)
        except redis.ResponseError as exc:
            if "NOGROUP" in str(exc):
                return []
            raise
        entries = [(sid, fields) for sid, fields in (resp[1] if resp else []) if fields]
        return self._undecided(room, urgent, entries, moderator)

    def _undecided(self, room: str, urgent: bool, entries: list[tuple[str, dict]], moderator: str) -> list[QueueItem]:
        """Items of ``entries`` (just delivered to ``moderator``) with their real delivery
        counts; items someone decided before they were pulled are acknowledged and dropped."""
        if not entries:
            return []
        stream = self._stream(room, urgent)
        prefix = "u" if urgent else ""
        decided = self.client.mget([self.keys.mod_decided(room, prefix + sid) for sid, _ in entries])
        done = [sid for (sid, _), d in zip(entries, decided, strict=True) if d is not None]
        if done:
            self.client.xack(stream, GROUP, *done)
        fresh = [(sid, fields) for (sid, fields), d in zip(entries, decided, strict=True) if d is None]
        if not fresh:
            return []
        pending = self.client.xpending_range(stream, GROUP, min=fresh[0][0], max=fresh[-1][0], count=len(fresh) * 4 + 16, consumername=moderator)
        deliveries = {p["message_id"]: int(p["times_delivered"]) for p in pending}
        return [self._item(room, sid, fields, urgent, deliveries.get(sid, 1)) for sid, fields in fresh]

    def _item(self, room: str, sid: str, fields: dict, urgent: bool, delivered: int = 1) -> QueueItem:
        return QueueItem(item_id(room, sid, urgent), room, json.loads(fields["record"]), json.loads(fields["moderation"]), delivered)

    def recent_comments(self, room: str, user: str, limit: int = 10) -> list[dict]:
        return [json.loads(x) for x in self.client.lrange(self.keys.recent(room, user), 0, limit - 1)]

    def decide(
        self, item: str, moderator: str, action: str, reason: str = "", ban_seconds: int = 0, reply_text: str = "", now_ms: int | None = None
    ) -> tuple[dict, bool]:
        """Apply a decision; returns (decision, applied_now). Repeating returns the first."""
        if action not in DECISIONS:
            raise InvalidDecisionError(f"action must be one of {', '.join(DECISIONS)}, got {action!r}")
        if action == "ban" and ban_seconds <= 0:
            raise InvalidDecisionError("a ban needs ban_seconds > 0")
        if action == "reply" and not reply_text.strip():
            raise InvalidDecisionError("a reply decision needs reply_text")
        room, sid, urgent = parse_item_id(item)
        stream = self._stream(room, urgent)
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        entry = self.client.xrange(stream, sid, sid)
        record = json.loads(entry[0][1]["record"]) if entry else {}
        flagged = json.loads(entry[0][1]["moderation"]) if entry else {}
        user = record.get("user", "")
        decision = {
            "item_id": item, "action": action, "moderator": moderator, "reason": reason, "at": now_ms,
            "ban_seconds": ban_seconds if action == "ban" else 0, "reply_text": reply_text if action == "reply" else "", "user": user,
        }  # fmt: skip
        k = self.keys
        feed = room_actions(decision, record, flagged, now_ms + ban_seconds * 1000)
        raw, applied = self._decide(
            keys=[stream, k.mod_decided(room, ("u" if urgent else "") + sid), k.audit_stream(room), k.mod_stats(room), k.banned(room), k.actions(room)],
            args=[sid, json.dumps(decision, ensure_ascii=False), moderator, action, user, now_ms + ban_seconds * 1000, now_ms, self.decision_ttl_s,
                  len(feed), actions.MAX_ACTIONS, self.room_keep_s, *(x for kind, payload in feed for x in (kind, json.dumps(payload, ensure_ascii=False)))],
        )  # fmt: skip
        if applied == -1:
            raise QueueItemNotFoundError(f"no queue item {item!r}")
        return json.loads(raw), applied == 1

    def decision_of(self, item: str) -> dict | None:
        """The decision made on ``item``, or None while it is undecided."""
        room, sid, urgent = parse_item_id(item)
        raw = self.client.get(self.keys.mod_decided(room, ("u" if urgent else "") + sid))
        return json.loads(raw) if raw else None

    def held_by(self, rooms: list[str], moderator: str, claim_ms: int, now_ms: int | None = None) -> list[dict]:
        """The items ``moderator`` holds (pulled, not decided): age, idle time and when each
        goes back to the queue (``claim_ms`` after its last delivery)."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        out = []
        for room in rooms:
            for urgent in (True, False):
                stream = self._stream(room, urgent)
                try:
                    pending = self.client.xpending_range(stream, GROUP, min="-", max="+", count=1000, consumername=moderator)
                except redis.ResponseError:  # no stream or no group yet
                    continue
                for p in pending:
                    sid, idle = p["message_id"], int(p["time_since_delivered"])
                    entry = self.client.xrange(stream, sid, sid)
                    if not entry:
                        continue
                    item = self._item(room, sid, entry[0][1], urgent, int(p["times_delivered"])).to_dict()
                    item.update(
                        age_seconds=round((now_ms - int(sid.split("-")[0])) / 1000, 3),
                        held_seconds=round(idle / 1000, 3),
                        returns_in_seconds=round(max(0, claim_ms - idle) / 1000, 3),
                    )
                    out.append(item)
        return sorted(out, key=lambda i: i["age_seconds"], reverse=True)

    def _group_info(self, stream: str) -> dict | None:
        """XINFO GROUPS entry of the moderators' group, or None when there is none yet."""
        try:
            groups = self.client.xinfo_groups(stream)
        except redis.ResponseError:  # no such stream
            return None
        return next((g for g in groups if g["name"] == GROUP), None)

    def stats(self, room: str, now_ms: int | None = None) -> dict:
        """Depth (undelivered + pending), pending, oldest item age, decisions per moderator."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        stream = self.keys.mod_stream(room)
        out = {"room": room, "depth": 0, "pending": 0, "undelivered": 0, "oldest_age_seconds": None, "length": 0, "decisions": {}}
        group = self._group_info(stream)
        if group is None:
            return out
        pending = int(group["pending"])
        lag = group.get("lag")
        last = group["last-delivered-id"]
        undelivered = int(lag) if lag is not None else len(self.client.xrange(stream, "(" + last, "+"))
        oldest = None
        if pending:
            oldest = self.client.xpending(stream, GROUP)["min"]
        elif undelivered:
            nxt = self.client.xrange(stream, "(" + last, "+", count=1)
            oldest = nxt[0][0] if nxt else None
        stats = self.client.hgetall(self.keys.mod_stats(room))
        out.update(
            depth=pending + undelivered,
            pending=pending,
            undelivered=undelivered,
            oldest_age_seconds=round((now_ms - int(oldest.split("-")[0])) / 1000, 3) if oldest else None,
            length=self.client.xlen(stream),
            decisions={k.split(":", 1)[1]: int(v) for k, v in stats.items() if k.startswith("moderator:")},
            actions={k.split(":", 1)[1]: int(v) for k, v in stats.items() if k.startswith("action:")},
        )
        return out

    def trim(self, room: str) -> int:
        """Drop decided items only: everything older than both the oldest pending item and
        the first undelivered one. Returns how many entries were removed."""
        stream = self.keys.mod_stream(room)
        group = self._group_info(stream)
        if group is None:
            return 0
        bounds = []
        if int(group["pending"]):
            bounds.append(self.client.xpending(stream, GROUP)["min"])
        nxt = self.client.xrange(stream, "(" + group["last-delivered-id"], "+", count=1)
        if nxt:
            bounds.append(nxt[0][0])
        if not bounds:  # everything delivered and decided
            last = group["last-delivered-id"]
            ms, seq = (int(x) for x in last.split("-"))
            bounds.append(f"{ms}-{seq + 1}")
        minid = min(bounds, key=lambda s: tuple(int(x) for x in s.split("-")))
        return int(self.client.xtrim(stream, minid=minid, approximate=False))
