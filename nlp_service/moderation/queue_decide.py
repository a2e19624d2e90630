"""The decisions side of the queue: validate a moderator's decision, work out what the room's
bot must do about it, and apply both atomically (``DECIDE_LUA``); a repeat returns the first."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from nlp_service.core.errors import InvalidDecisionError, QueueItemNotFoundError
from nlp_service.moderation.queue_items import DECISIONS, QueueCore, parse_item_id
from nlp_service.store import actions


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

