"""Round trip: a batch's one pipeline to Redis, and what came back.

In order: the recorder's deferred bookkeeping of earlier comments (first, so that counts stay
in order), then per room one script call: the room's deferred comments and this batch's
through the moderation/observe part (``moderation/queue.py``), then the limits
(``replies/limits.py``), as ``replies/room_script.py`` joins them. One ``execute``, scripts
included; :func:`send` writes it and ``Sent.answer`` reads it (between the two the event loop
screens the next batch: live/inloop.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from nlp_service.core.config import Settings
from nlp_service.live.types import Comment, Matched, Observed
from nlp_service.moderation.queue import ModerationQueue, ObserveConfig
from nlp_service.moderation.queue import observed as observed_pairs
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
from nlp_service.store.pipeline import Round, finish, start


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


def send(
    limiter: Limiter,
    queue: ModerationQueue,
    recorder: Recorder,
    cfg: ObserveConfig,
    observed: dict[str, list[Observed]],
    requests: dict[str, list[LimitRequest]],
    limits: dict[str, RoomLimits],
    now_ms: int,
    after: Sent | None = None,
) -> Sent:
    """The batch's one pipeline, built and written to Redis (behind ``after``'s, on its
    connection, when that round is not read yet); ``Sent.answer()`` reads what came back: it
    raises ``redis.RedisError`` when Redis is away (the recorder's taken bookkeeping is then
    lost: it holds nothing flagged), and a room whose own script fails (an error reply) is in
    ``Answer.failed`` while the other rooms' answers stand."""
    pipe = limiter.client.pipeline(transaction=False)
    d_entries, d_events, d_feed = recorder.take()
    rooms = list(dict.fromkeys([*observed, *requests]))
    # a room of the batch takes the recorder's deferred comments of the room into its own
    # script call, before its batch's (the order their calls had): one call per room
    riding = {room: d_entries.pop(room) for room in rooms if room in d_entries}
    d_order = recorder.queue_on(pipe, d_entries, d_events, now_ms, d_feed)
    skip = len(pipe.command_stack)
    for room in rooms:
        entries = [*riding.get(room, ()), *(o.entry for o in observed.get(room, ()))]
        if room not in requests:
            queue.observe_call(pipe, room, entries, cfg, now_ms)
            continue
        parts = queue.observe_parts(room, entries, cfg, now_ms) if entries else None
        limiter.call(room, requests[room], limits[room], now_ms, pipe, observe=parts)  # the room script (replies/room_script.py)
        if entries:
            queue.listed(pipe, room)
    round_ = start(pipe, after.round if after is not None else None)  # one round trip, scripts included
    return Sent(round_, recorder, observed, requests, rooms, riding, d_order, skip)


class Sent:
    """A batch's round trip written to Redis (:func:`send`), its answer not read yet."""

    __slots__ = ("round", "recorder", "observed", "requests", "rooms", "riding", "d_order", "skip")

    def __init__(
        self, round_: Round, recorder: Recorder, observed: dict[str, list[Observed]], requests: dict[str, list[LimitRequest]],
        rooms: list[str], riding: dict[str, list], d_order: list, skip: int,
    ) -> None:  # fmt: skip
        self.round, self.recorder, self.observed, self.requests = round_, recorder, observed, requests
        self.rooms, self.riding, self.d_order, self.skip = rooms, riding, d_order, skip

    def answer(self) -> Answer:
        """Read the round's replies (see :func:`send`)."""
        recorder, observed, requests = self.recorder, self.observed, self.requests
        everything = finish(self.round, raise_on_error=False)
        recorder.results(self.d_order, everything[: len(self.d_order)])
        decisions: dict[str, list[Decision]] = {}
        settled: dict[str, Settled] = {}
        floods: dict[int, int] = {}
        failed: dict[tuple[str, str], Exception] = {}
        for room, res in zip(self.rooms, everything[self.skip :], strict=True):
            deferred = self.riding.get(room, [])
            if isinstance(res, Exception):
                failed.update({(kind, room): res for kind, part in (("observe", observed), ("limits", requests)) if room in part})
                if deferred:
                    recorder.results([(room, deferred)], [res])  # logged: that room's deferred counts are lost
                continue
            seen, limited = _parts(res, observed=bool(deferred) or room in observed, limited=room in requests)
            if seen is not None:
                recorder.results([(room, deferred)], [seen[: 2 * len(deferred)]])  # two values an entry (queue.observed)
                for o, (count, _queued) in zip(observed.get(room, ()), observed_pairs(seen[2 * len(deferred) :]), strict=True):
                    floods[o.index] = int(count)
            if limited is not None:
                decisions[room], settled[room] = decode_all(limited)
        return Answer(decisions, floods, settled, failed)


def _parts(res: list, observed: bool, limited: bool) -> tuple[list | None, list | None]:
    """A room's answer as (observe answer, limits answer), None for a part its call did not
    have: the room script answers both, a lone observe or limits script its own."""
    if observed and limited:
        return res[0], res[1]
    return (res, None) if observed else (None, res)
