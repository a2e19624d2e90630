"""The decisions side of the queue: validate a moderator's decision, work out what the room's
bot must do about it, and apply both atomically (``DECIDE_LUA``); a repeat returns the first."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from nlp_service.core.errors import InvalidDecisionError, QueueItemBusyError, QueueItemNotFoundError
from nlp_service.moderation.queue_items import DECISIONS, QueueCore, parse_item_id
from nlp_service.store import actions


def room_actions(decision: dict, record: dict, flagged: dict, ban_until: int, members: list[dict] | None = None) -> list[tuple[str, dict]]:
    """What the room's bot must do after a decision (``store/actions.py`` kinds), for every
    comment the item holds (``members``, the item's own ``record`` first; that one alone when
    not given): hide each deleted comment, ban each of their users, show each block that was
    overturned, post the moderator's answer once, to all of them."""
    comments = [{"comment_id": m.get("id", ""), "user": m.get("user", "")} for m in members or [record]]
    by, reason, action = decision["moderator"], decision["reason"], decision["action"]
    if action == "delete":
        return [("hide_comment", {**c, "reason": reason, "by": by}) for c in comments]
    if action == "ban":
        return [*(("ban_user", {"user": user, "until": ban_until, "reason": reason, "by": by}) for user in _users(comments)),
                *(("hide_comment", {**c, "reason": reason or "ban", "by": by}) for c in comments)]  # fmt: skip
    if action == "reply":
        return [("post_text", {"text": decision["reply_text"], "reply_to": [c["comment_id"] for c in comments], "nickname": record.get("nickname", ""), "source": "moderator", "by": by})]
    if action == "approve" and flagged.get("action") == "block":
        return [("unhide_comment", {**c, "by": by}) for c in comments]
    return []


def _users(comments: list[dict]) -> list[str]:
    """The distinct users of ``comments``, in order."""
    return list(dict.fromkeys(c.get("user", "") for c in comments))


DECIDE_TRIES = 20  # a storm that keeps joining the item between our read and the script


class QueueDecide(QueueCore):
    """Deciding items (a mixin of ``ModerationQueue``; ``_decide`` is its registered script)."""

    decision_ttl_s: int
    room_keep_s: int
    _decide: Callable[..., list]

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
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        for _ in range(DECIDE_TRIES):
            raw, applied = self._decide_once(item, room, sid, urgent, moderator, action, reason, ban_seconds, reply_text, now_ms)
            if applied != -2:
                break
        else:
            raise QueueItemBusyError(f"item {item!r} kept taking new comments while it was decided; nothing was decided, send the decision again")
        if applied == -1:
            raise QueueItemNotFoundError(f"no queue item {item!r}")
        return json.loads(raw), applied == 1

    def _decide_once(
        self, item: str, room: str, sid: str, urgent: bool, moderator: str, action: str, reason: str, ban_seconds: int, reply_text: str, now_ms: int
    ) -> tuple[str | None, int]:
        """One try: read the item and the comments it holds, run the script; (raw, applied),
        applied -2 when a comment joined the item in between (try again)."""
        stream = self._stream(room, urgent)
        entry = self.client.xrange(stream, sid, sid)
        record = json.loads(entry[0][1]["record"]) if entry else {}
        flagged = json.loads(entry[0][1]["moderation"]) if entry else {}
        if urgent or not entry:  # an alert, or no such item (the script says which)
            members, held = [record], 1
        else:
            grouped = self._members(room, {sid: record})[sid]
            members, held = grouped.records, grouped.count
        users = _users(members)
        decision = {
            "item_id": item, "action": action, "moderator": moderator, "reason": reason, "at": now_ms,
            "ban_seconds": ban_seconds if action == "ban" else 0, "reply_text": reply_text if action == "reply" else "", "user": record.get("user", ""),
            "repeats": held, "repeat_users": len(users),
        }  # fmt: skip
        k = self.keys
        feed = room_actions(decision, record, flagged, now_ms + ban_seconds * 1000, members)
        group = record.get("group") or record.get("digest", "")
        raw, applied = self._decide(
            keys=[stream, k.mod_decided(room, ("u" if urgent else "") + sid), k.audit_stream(room), k.mod_stats(room), k.banned(room), k.actions(room),
                  k.mod_group(room, group), k.mod_members(room)],
            args=[sid, json.dumps(decision, ensure_ascii=False), moderator, action, now_ms + ban_seconds * 1000, now_ms, self.decision_ttl_s,
                  len(feed), actions.MAX_ACTIONS, self.room_keep_s, "0" if urgent else "1", held, flagged.get("action", ""), len(users), *users,
                  *(x for kind, payload in feed for x in (kind, json.dumps(payload, ensure_ascii=False)))],
        )  # fmt: skip
        return raw, applied

    def decision_of(self, item: str) -> dict | None:
        """The decision made on ``item``, or None while it is undecided."""
        room, sid, urgent = parse_item_id(item)
        raw = self.client.get(self.keys.mod_decided(room, ("u" if urgent else "") + sid))
        return json.loads(raw) if raw else None

