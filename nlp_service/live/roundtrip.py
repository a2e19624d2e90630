"""Round trip: a batch's one pipeline to Redis, and what came back.

In order: the recorder's deferred bookkeeping of earlier comments (first, so that counts stay
in order), then per room the moderation/observe script (``moderation/queue.py``) and the
limits script (``replies/limits.py``). One ``execute``, scripts included.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from nlp_service.core.config import Settings
from nlp_service.live.types import Comment, Matched, Observed
from nlp_service.moderation.queue import ModerationQueue, ObserveConfig
from nlp_service.moderation.recorder import Recorder
from nlp_service.replies.limits import (
    Decision,
    Limiter,
    LimitRequest,
    RoomLimits,
    Settled,
    decode_all,
)
from nlp_service.replies.render import burst_body
from nlp_service.replies.state import RoomSettings, RoomSnapshot
from nlp_service.store.redis import execute


@dataclass(slots=True)  # not frozen: built per request (see live/types.Matched)
class Answer:
    """What one round trip decided."""

    decisions: dict[str, list[Decision]]  # room → one decision per Matched, in order
    floods: dict[int, int]  # comment index → its flood count (observed comments)
    settled: dict[str, Settled]  # room → bursts posted, askers dropped, next burst due
    failed: dict[tuple[str, str], Exception] = field(default_factory=dict)  # ("observe" | "limits", room) → Redis's error


def observe_config(s: Settings) -> ObserveConfig:
    return ObserveConfig(
        keep=s.recent_comments_kept, flood_ms=s.flood_window_seconds * 1000, flood_max=s.flood_max_repeats, dedupe_s=s.moderation_dedupe_seconds,
        group_ms=s.queue_group_seconds * 1000, group_max=s.queue_group_max,
    )  # fmt: skip


def room_limits(snap: RoomSnapshot, s: Settings) -> RoomLimits:
    rs = snap.settings
    return RoomLimits(rs.budget_ms, rs.max_mentions, s.idempotency_seconds * 1000, s.flood_max_repeats)


def limit_request(c: Comment, m: Matched, rs: RoomSettings, default_cooldown_seconds: float, rng: random.Random) -> LimitRequest:
    """What the limits script needs of one matched comment."""
    rule = m.candidate.rule
    window = rule.limits.window_seconds
    user_cd = rule.limits.user_cooldown_seconds
    pick = rng.randrange(len(m.variants)) if rule.choose == "random" else -1
    # the text a burst led by this asker would post (used only if the asker waits)
    body, names_asker = burst_body(rule.replies[m.variants[max(pick, 0)]], {**m.values, "room": c.room, "question": c.text}, c.asker)
    return LimitRequest(
        comment_id=c.id,
        user=c.user,
        nickname=c.asker,
        rule_id=rule.id,
        window_ms=int(1000 * window) if window else rs.window_ms,
        user_cooldown_ms=int(1000 * (user_cd if user_cd is not None else default_cooldown_seconds)),
        n_variants=len(m.variants),
        random_pick=pick,
        text_digest=m.digest,
        burst_body=body,
        burst_names_asker=names_asker,
    )


def round_trip(
    limiter: Limiter,
    queue: ModerationQueue,
    recorder: Recorder,
    cfg: ObserveConfig,
    observed: dict[str, list[Observed]],
    requests: dict[str, list[LimitRequest]],
    limits: dict[str, RoomLimits],
    now_ms: int,
) -> Answer:
    """One pipeline for the batch. Raises ``redis.RedisError`` when Redis is away (the
    recorder's taken bookkeeping is then lost: it holds nothing flagged); a room whose own
    script fails (an error reply) is in ``Answer.failed``, and the other rooms' answers stand."""
    pipe = limiter.client.pipeline(transaction=False)
    d_entries, d_events, d_feed = recorder.take()
    d_order = recorder.queue_on(pipe, d_entries, d_events, now_ms, d_feed)
    skip = len(pipe.command_stack)
    order: list[tuple[str, str]] = []
    for room in dict.fromkeys([*observed, *requests]):
        if room in observed:
            queue.observe_call(pipe, room, [o.entry for o in observed[room]], cfg, now_ms)
            order.append(("observe", room))
        if room in requests:
            limiter.call(room, requests[room], limits[room], now_ms, pipe)
            order.append(("limits", room))
    everything = execute(pipe, raise_on_error=False)  # one round trip, scripts included
    recorder.results(d_order, everything[: len(d_order)])
    results = everything[skip:]
    decisions: dict[str, list[Decision]] = {}
    settled: dict[str, Settled] = {}
    floods: dict[int, int] = {}
    failed: dict[tuple[str, str], Exception] = {}
    for (kind, room), res in zip(order, results, strict=True):
        if isinstance(res, Exception):
            failed[kind, room] = res
        elif kind == "limits":
            decisions[room], settled[room] = decode_all(res)
        else:
            for o, (count, _queued) in zip(observed[room], res, strict=True):
                floods[o.index] = int(count)
    return Answer(decisions, floods, settled, failed)
