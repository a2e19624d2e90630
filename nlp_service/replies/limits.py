"""Reply limits enforced across every instance in one Redis round trip.

One Lua script per room does, for each comment that matched a rule, atomically:
idempotency (a retried message id gets its first decision back and consumes nothing),
banned users, the per-user cooldown, the per-rule burst window, the room-wide outbound
budget, the rotation counter, and aggregation. A batch request sends one script call per
room in the request's single pipeline (``live/roundtrip.py``).

Aggregation keeps its promise. Every asker of a rule is named in exactly one reply, at
most one window (W ms) after the question, or gets a definite reason:

1. The first asker of a rule gets the reply at once; it opens the rule's window [t0, t0+W).
2. Askers of that rule later in the same batch are added to that reply's mentions
   (``aggregated``) until ``max_mentions``; the rest get ``mention_cap``.
3. An asker during the open window in a later request joins the rule's burst: the room's
   waiting set, scored by the window's close time t0+W (``aggregated``), at most
   ``max_mentions`` per rule; beyond that ``mention_cap`` at once. The engine passes the
   text the burst would post with this asker leading it (``body``), kept beside the set.
4. When the window closes, the burst is posted: the room's next call (any instance) or
   the poll thread's chore (``sweep``, for a quiet room) takes the due askers atomically
   and appends one ``post_text`` action to the room's action feed (``store/actions.py``)
   naming them all, each logged ``named`` with ``by`` = the action id. If the room budget
   is spent at that moment the burst waits for it, up to half a window; past that its
   askers are logged ``dropped_budget``: never carried into a later reply. So a waiting
   asker is named at most 1.5 windows after its question (at most one window when the
   budget allows).
5. A comment blocked by the room budget gets ``budget`` (logged ``dropped_budget``).

Why a burst on the action feed rather than the next response: a response carries the
reply for its own comment; riding a late burst on an unrelated comment's response is the
confusing "@a @b @c + size answer" this replaces, and a quiet room has no next response.
Every final outcome is counted (``final:<outcome>`` in the room's counters); the deferred
ones (named by a burst, or dropped when it fell due) also go to the room's reply log.

The script itself is ``replies/limits_script.py``; this module builds its keys and arguments
and decodes its answer.

Time is the caller's ``now`` (epoch ms): the window, budget and cooldown keys hold their
end time and expire later only to be collected, so a recorded room replays at any speed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis
from pydantic_core import from_json

from nlp_service.replies.limits_script import LIMITS_LUA
from nlp_service.replies.room_script import ROOM_LUA
from nlp_service.store.actions import MAX_ACTIONS
from nlp_service.store.pipeline import register_script, run_script
from nlp_service.store.redis import Keys

# Decision statuses (also the ``reason`` a comment gets when it is not answered).
REPLY = "reply"
BANNED = "banned"
USER_COOLDOWN = "user_cooldown"
AGGREGATED = "aggregated"  # named in this batch's reply, or waiting for the rule's next reply within the window
MENTION_CAP = "mention_cap"  # the reply (or the rule's waiting list) already names max_mentions askers
BUDGET = "budget"  # the room's outbound budget was spent: not answered, not carried (log: dropped_budget)
FLOOD = "flood"  # the user repeated this text too often (counted by the moderation script)
LOG_MAXLEN = 20000


@dataclass
class LimitRequest:
    """One comment that matched a rule and now asks for the right to be answered."""

    comment_id: str
    user: str
    nickname: str
    rule_id: str
    window_ms: int
    user_cooldown_ms: int
    n_variants: int
    random_pick: int = -1  # ≥ 0 picks that variant (random); -1 uses the rotation counter
    text_digest: str = ""  # of the normalised text, for the flood counter
    burst_body: str = ""  # what a burst led by this asker posts after the mentions (render.burst_body)
    burst_names_asker: bool = False  # the body already mentions this asker (a {nickname} template)


@dataclass
class Decision:
    status: str
    rule_id: str | None = None
    variant: int = 0
    mentions: list[str] = field(default_factory=list)
    named: list[str] = field(default_factory=list)  # comment ids this reply answers (its own included)
    retry: bool = False


@dataclass
class RoomLimits:
    budget_ms: int
    max_mentions: int
    idempotency_ms: int
    flood_max: int = 1_000_000


class Limiter:
    """Runs the limits script; one instance per client (it caches the script's SHA)."""

    def __init__(self, client: redis.Redis, keys: Keys, room_keep_seconds: int = 7 * 86400) -> None:
        self.client = client
        self.keys = keys
        self.room_keep_ms = room_keep_seconds * 1000  # Settings.room_keep_seconds
        self._script = register_script(client, LIMITS_LUA)
        self._room = register_script(client, ROOM_LUA)

    def call(self, room: str, items: Sequence[LimitRequest], cfg: RoomLimits, now_ms: int, client, observe: tuple[list, list] | None = None) -> object:
        """Run (or, on a pipeline, queue) the script for one room's requests. With ``observe``
        (the observe script's keys and arguments for the room's comments:
        ``ModerationQueue.observe_parts``) both run in one call, the observe part first
        (``room_script.py``), and the answer is ``[observe answer, limits answer]``."""
        keys, args = self._parts(room, items, cfg, now_ms)
        if observe is None:
            return run_script(client, self._script, keys, args)
        o_keys, o_args = observe
        return run_script(client, self._room, o_keys + keys, [(len(o_keys) - 2) // 4, *o_args, *args])

    def _parts(self, room: str, items: Sequence[LimitRequest], cfg: RoomLimits, now_ms: int) -> tuple[list[str], list[object]]:
        k = self.keys
        keys = [k.room_budget(room), k.banned(room), k.counters(room), k.waiting(room), k.reply_log(room), k.actions(room), k.burst_bodies(room)]
        args: list[object] = [now_ms, cfg.budget_ms, cfg.max_mentions, cfg.idempotency_ms, len(items), cfg.flood_max, LOG_MAXLEN, MAX_ACTIONS, self.room_keep_ms]
        idempotency, user_cooldown, rule_cooldown, rotation, flood = k.idempotency, k.user_cooldown, k.rule_cooldown, k.rotation, k.flood
        for it in items:
            keys += [
                idempotency(room, it.comment_id),
                user_cooldown(room, it.rule_id, it.user),
                rule_cooldown(room, it.rule_id),
                rotation(room, it.rule_id),
                flood(room, it.user, it.text_digest),
            ]
            args += [it.user, it.nickname, it.rule_id, it.user_cooldown_ms, it.window_ms, it.n_variants, it.random_pick, it.comment_id, it.burst_body, int(it.burst_names_asker)]
        return keys, args


@dataclass(frozen=True)
class Settled:
    """What a call settled besides its own decisions: bursts posted, askers dropped, and
    when the room's next burst falls due (epoch ms; None when nobody waits)."""

    bursts: int = 0
    dropped: int = 0
    next_due: int | None = None


def sweep(limiter: Limiter, room: str, cfg: RoomLimits, now_ms: int, client=None) -> object:
    """Post the bursts of a room's closed windows (a quiet room has no next call to do it);
    on a pipeline ``client`` the call is queued (decode with :func:`decode_all`)."""
    return limiter.call(room, [], cfg, now_ms, client if client is not None else limiter.client)


def decode_all(raw: list) -> tuple[list[Decision], Settled]:
    """The script's answer: one decision per request, then the bursts posted, the askers
    dropped and the next burst's due time."""
    due = int(float(raw[-1]))
    return [decode(x) for x in raw[:-3]], Settled(int(raw[-3]), int(raw[-2]), due if due >= 0 else None)


def _loads(raw: str | bytes) -> object:
    """``json.loads(raw)``, parsed by pydantic-core's ``from_json`` (0.7 against 1.9 µs for a
    decision: one per matched comment); what it refuses (a lone surrogate escape, ...) is left
    to ``json.loads``, which then parses or raises as before (tested equal on random JSON)."""
    try:
        return from_json(raw)
    except ValueError:
        return json.loads(raw)


def decode(raw: str | bytes) -> Decision:
    d = _loads(raw)
    mentions = d.get("mentions") or []
    return Decision(
        status=d["status"],
        rule_id=d.get("rule_id"),
        variant=int(d.get("variant", 0)),
        mentions=list(mentions) if isinstance(mentions, list) else [],
        named=list(d["named"]) if isinstance(d.get("named"), list) else [],
        retry=bool(d.get("retry", False)),
    )
