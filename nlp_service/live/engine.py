"""The live reply path, stage by stage: screen → decide → round trip → apply (→ explain).

``ReplyEngine.handle(comments)`` answers a batch with one Redis round trip (none when no
comment matched a rule, was flagged or repeated itself), in two halves (``begin``: screen
and send; ``finish``: read and apply) that the event loop runs apart, screening the next batch
in between (``inloop.py``); ``dry_run`` explains a decision without consuming any limit. The
stages live beside this file:

* ``screen.py``: bans, analysis, moderation, the local flood memory (``flood.py``), and
  where each comment goes in Redis (a :class:`~nlp_service.live.screen.Plan`);
* ``decide.py``: which rule a comment gets (pure; a ``Selection`` with its reasons as data);
* ``roundtrip.py``: the batch's one pipeline (observe and limits scripts, per room);
* ``apply.py``: the decisions and flood counts into the outcomes;
* ``explain.py``: the dry run; ``bursts.py``: when waiting askers' bursts fall due.

What this thread pays per comment was cut by ~19 % (issue 15): key strings built onto a kept
room prefix (``store/redis.py``), the pulse tallied in plain dicts and queued at once, a
template's names parsed once, a rule's usable variants kept per snapshot, regex-free matches
kept per text, decisions parsed by pydantic-core, key builders looked up once a batch; the
same Redis commands and bytes (each piece tested equal to what it replaced). Measured
(callgrind, 2026-12-06, against main 945b0b2): ``REDIS_URL=… python
bench/bench_engine_batches.py --against DIR`` 368,756 → 297,004 instructions a comment;
``bench/bench_http_callgrind.py --permille 400 1000`` (two runs a side, in turn) the reply
request 649K, 652K → 576K, 583K at 40 % new texts and 702K, 701K → 676K, 678K at all new.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass

import redis

from nlp_service.analysis import Analysis, Analyzer
from nlp_service.core import metrics
from nlp_service.core.errors import InvalidTextError
from nlp_service.live import explain
from nlp_service.live.apply import apply_decision, apply_flood, count_settled
from nlp_service.live.bursts import BurstSchedule
from nlp_service.live.decide import Selection, select
from nlp_service.live.flood import FloodMemory
from nlp_service.live.reasons import INVALID_TEXT, MODERATION, NO_MATCH, OWN_BOT, STORE_UNAVAILABLE
from nlp_service.live.roundtrip import Sent, limit_request, observe_config, room_limits, send
from nlp_service.live.screen import Plan, flood_moderation, pulse_event, queue_record
from nlp_service.live.types import Comment, Matched, Observed, Outcome
from nlp_service.moderation.classifier import load as load_classifier
from nlp_service.moderation.detect import moderate_memo
from nlp_service.moderation.labels import BLOCK
from nlp_service.moderation.lists import load_replies
from nlp_service.moderation.queue import ModerationQueue, ObserveConfig, QueueEntry
from nlp_service.moderation.recorder import Recorder
from nlp_service.moderation.spool import Spool
from nlp_service.replies.limits import BANNED, Limiter, RoomLimits, Settled, decode_all, sweep
from nlp_service.replies.matcher import RegexBudget
from nlp_service.replies.state import RoomSnapshot, StateCache
from nlp_service.store.pipeline import execute
from nlp_service.store.roomfeed import FeedConfig

log = logging.getLogger(__name__)


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class Pending:
    """A batch begun (:meth:`ReplyEngine.begin`): screened, its round trip (if it needs one)
    sent; :meth:`ReplyEngine.finish` reads the answer into ``outcomes``."""

    comments: list[Comment]
    outcomes: list[Outcome]
    plan: Plan
    sent: Sent | None


class ReplyEngine:
    def __init__(self, analyzer: Analyzer, state: StateCache, limiter: Limiter, queue: ModerationQueue, spool: Spool) -> None:
        self.analyzer = analyzer
        self.state = state
        self.limiter = limiter
        self.queue = queue
        self.spool = spool
        self.settings = analyzer.settings
        self.standard_answers = load_replies(self.settings.data_dir)
        self.moderation_model = load_classifier(self.settings.models_dir)  # None until trained: lists alone
        self.queue_config: ObserveConfig = observe_config(self.settings)
        self._rng = random.Random()
        self.bursts = BurstSchedule()  # rooms where an asker of this instance waits for a burst
        self.flood = FloodMemory(self.settings.flood_window_seconds)
        feed = FeedConfig(self.settings.room_feed_entries, self.settings.room_feed_seconds)
        self.recorder = Recorder(queue, self.queue_config, self.flood.mark, feed=feed)

    # --- the live path -----------------------------------------------------------------
    def handle(self, comments: list[Comment], now_ms: int | None = None) -> list[Outcome]:
        """Answer a batch of comments, in order, with one Redis round trip."""
        return self.finish(self.begin(comments, now_ms))

    def begin(self, comments: list[Comment], now_ms: int | None = None, after: Pending | None = None) -> Pending:
        """The first half of :meth:`handle`: the batch screened and its round trip written to
        Redis (behind ``after``'s, on its connection, when ``after`` is a batch begun and not
        finished: Redis runs this batch's commands after that one's). :meth:`finish` reads
        the answer; batches are finished in the order they were begun."""
        now_ms = now_ms if now_ms is not None else _now_ms()
        outcomes = [Outcome(c) for c in comments]
        plan = Plan()
        metrics.COMMENTS.inc(len(outcomes))  # once a batch: a counter's inc is ~1 µs
        for i, out in enumerate(outcomes):
            self._screen(i, out, plan, now_ms)
        for room in set(plan.deferred) | set(plan.events):
            self.recorder.add(room, plan.deferred.get(room, []), plan.events.get(room, []))
        sent = self._send(comments, plan, now_ms, after.sent if after is not None else None) if plan.needs_redis else None
        return Pending(comments, outcomes, plan, sent)

    def finish(self, pending: Pending) -> list[Outcome]:
        """The second half of :meth:`handle`: the round trip's answer into the outcomes."""
        comments, outcomes, plan = pending.comments, pending.outcomes, pending.plan
        if pending.sent is None:
            self._feed(outcomes)
            return outcomes
        try:
            answer = pending.sent.answer()
        except redis.RedisError as exc:
            self._spool(plan.observed, exc)
            for items in plan.matched.values():
                for m in items:
                    outcomes[m.index].reason = STORE_UNAVAILABLE
            self._feed(outcomes)
            return outcomes
        for room, settled in answer.settled.items():
            self._settled(room, settled)
        for i, count in answer.floods.items():
            if count > self.settings.flood_max_repeats:
                c = comments[i]
                self.flood.mark(c.room, c.user, plan.digests[i])
                apply_flood(outcomes[i])
        for room, items in plan.matched.items():
            if ("limits", room) in answer.failed:
                continue
            for m, d in zip(items, answer.decisions.get(room, []), strict=True):
                apply_decision(outcomes[m.index], m, d)
        self._room_failures(answer.failed, plan, outcomes)
        self._feed(outcomes)
        return outcomes

    def _room_failures(self, failed: dict[tuple[str, str], Exception], plan: Plan, outcomes: list[Outcome]) -> None:
        """A room whose script Redis refused: its flagged comments to the spool, its matched
        ones ``store_unavailable``, as if Redis were away for that room alone."""
        for (kind, room), exc in failed.items():
            if kind == "observe":
                self._spool({room: plan.observed[room]}, exc)
            else:
                for m in plan.matched[room]:
                    outcomes[m.index].reason = STORE_UNAVAILABLE

    def warm(self, comment: Comment) -> None:
        """Analyse and moderate ``comment`` into the caches its batch will read (the prescreen
        lane, ``live/prescreen.py``): the same calls as :meth:`_screen`, nothing decided."""
        analysis = self.analyzer.analyze(comment.text)
        moderate_memo(analysis, self.state.room(comment.room).lexicon, self.standard_answers, self.moderation_model)

    def _feed(self, outcomes: list[Outcome]) -> None:
        """The batch's final outcomes to the room's live feed (appended by the recorder, after
        this request answered: the feed never costs the reply a round trip)."""
        if self.recorder.feed_cfg is None:
            return
        feed: dict[str, list[dict]] = {}
        for out in outcomes:
            feed.setdefault(out.comment.room, []).append(out.feed_record())
        self.recorder.add_feed(feed)

    def _screen(self, i: int, out: Outcome, plan: Plan, now_ms: int) -> None:
        """One comment before Redis: ban, analysis, moderation, flood, own bot, rule."""
        c = out.comment
        snap = plan.snapshot(c.room, self.state)
        if snap.is_banned(c.user, now_ms):  # blocked without analysis, still recorded
            out.reason, out.moderation = BANNED, {"action": BLOCK, "categories": []}
            plan.defer(c.room, QueueEntry(c.id, c.user, queue_record(c, ""), None))
            return
        try:
            out.analysis = self.analyzer.analyze(c.text)
        except InvalidTextError as exc:
            out.reason, out.error = INVALID_TEXT, str(exc)
            return
        mod = moderate_memo(out.analysis, snap.lexicon, self.standard_answers, self.moderation_model)
        out.moderation = mod.to_dict()
        entry = QueueEntry(c.id, c.user, queue_record(c, out.analysis.normalized.text, mod.flagged), mod.to_dict(full=True) if mod.flagged else None)
        plan.digests[i] = digest = entry.digest
        plan.event(c.room, pulse_event(c, out.analysis, mod.categories, now_ms))
        repeat, flooder = self.flood.check(c.room, c.user, digest)
        if flooder:  # known flooder: block now
            out.moderation, out.reason = flood_moderation(mod.categories), MODERATION
            plan.defer(c.room, entry)
            return
        matched = None
        if mod.action == BLOCK:
            out.reason = MODERATION
        elif c.user == (snap.settings.bot_user or c.sender):  # the bot's own message is never a question
            out.reason = OWN_BOT
        else:
            matched = self._decide(i, out, snap, digest, now_ms, plan.regex_budget(c.room, self.settings.regex_room_batch_seconds))
        # flagged (queue it durably), a repeat (count it now) or matched (it goes to Redis anyway)
        if mod.flagged or repeat or matched is not None:
            plan.observe(c.room, i, entry)
        else:
            plan.defer(c.room, entry)
        if matched is not None:
            plan.match(c.room, matched)

    def _select(self, comment: Comment, analysis: Analysis, snap: RoomSnapshot, now_ms: int, budget: RegexBudget | None = None) -> Selection:
        """Match the room's rules (regexes within the room's ``budget`` for the batch), then
        :func:`~nlp_service.live.decide.select` (shared with the dry run)."""
        result = snap.rules.match(analysis.normalized.text, analysis.intent.label, analysis.intent.confidence, budget)
        if result.regex_timeouts:
            metrics.REGEX_TIMEOUTS.inc(result.regex_timeouts)
        if result.regex_skipped:
            metrics.REGEX_SKIPPED.inc(result.regex_skipped)
        ts = comment.ts if comment.ts is not None else now_ms
        return select(result, analysis.sentiment.label, snap.variables, ts, snap.usable)

    def _decide(self, i: int, out: Outcome, snap: RoomSnapshot, digest: str, now_ms: int, budget: RegexBudget) -> Matched | None:
        """The rule this comment asks the limits for, or None (and the reason) when none fits."""
        sel = self._select(out.comment, out.analysis, snap, now_ms, budget)
        if sel.chosen is None:
            out.reason = sel.reason
            if sel.reason != NO_MATCH:
                metrics.COMMENTS_NOT_ANSWERED.labels(sel.reason).inc()
            return None
        return Matched(i, sel.chosen, sel.variants, snap.variables, digest)

    def _send(self, comments: list[Comment], plan: Plan, now_ms: int, after: Sent | None) -> Sent:
        requests, limits = {}, {}
        for room, items in plan.matched.items():
            snap = plan.snaps[room]
            requests[room] = [limit_request(comments[m.index], m, snap.settings, self.settings.user_cooldown_seconds, self._rng) for m in items]
            limits[room] = self.room_limits(snap)
        return send(self.limiter, self.queue, self.recorder, self.queue_config, plan.observed, requests, limits, now_ms, after)

    def _spool(self, observed: dict[str, list[Observed]], exc: Exception) -> None:
        """Redis is away: keep every flagged comment in the local spool (replayed later)."""
        entries = [
            {"room": room, "comment_id": o.entry.comment_id, "user": o.entry.user, "record": o.entry.record, "moderation": o.entry.payload}
            for room, items in observed.items()
            for o in items
            if o.entry.payload
        ]
        self.spool.append(entries)
        metrics.SPOOLED.inc(len(entries))
        log.warning("redis unavailable (%s); spooled %d flagged comments", exc, len(entries))

    def room_limits(self, snap: RoomSnapshot) -> RoomLimits:
        return room_limits(snap, self.settings)

    # --- chores: bursts of closed windows -------------------------------------------------
    def next_burst_due(self) -> int | None:
        """When the earliest burst this instance knows of falls due (epoch ms), if any."""
        return self.bursts.next_due()

    def post_due_bursts(self, now_ms: int | None = None, rooms: list[str] | None = None) -> int:
        """Post the bursts of closed windows (one round trip; poll thread: a quiet room has no
        next call to post them): of ``rooms``, or of the rooms where this instance saw an
        asker wait and the burst is now due. Returns how many were posted."""
        now_ms = now_ms if now_ms is not None else _now_ms()
        if rooms is None:
            rooms = self.bursts.take_due(now_ms)
        if not rooms:
            return 0
        pipe = self.limiter.client.pipeline(transaction=False)
        for room in rooms:
            sweep(self.limiter, room, self.room_limits(self.state.room(room)), now_ms, pipe)
        posted = 0
        for room, res in zip(rooms, execute(pipe), strict=True):
            settled = decode_all(res)[1]
            self._settled(room, settled)
            posted += settled.bursts
        return posted

    def _settled(self, room: str, settled: Settled) -> None:
        """Metrics, and remember when the room's next burst is due (for the poll thread)."""
        count_settled(settled)
        if settled.next_due is not None:
            self.bursts.add(room, settled.next_due)

    # --- the dry run ----------------------------------------------------------------------
    def dry_run(self, comment: Comment, now_ms: int | None = None) -> dict:
        """Which rule would fire and why, which lost and why, consuming no limit."""
        now_ms = now_ms if now_ms is not None else _now_ms()
        analysis = self.analyzer.analyze(comment.text)
        snap = self.state.room(comment.room)
        sel = self._select(comment, analysis, snap, now_ms)
        fired = None
        if sel.chosen is not None:
            gates = explain.read_gates(self.limiter, comment.room, sel.chosen.rule.id, comment.user)
            fired = explain.fired(comment, analysis, sel, snap.variables, gates, now_ms)
        return explain.explain(comment, analysis, sel, snap.rules.disabled, fired)
