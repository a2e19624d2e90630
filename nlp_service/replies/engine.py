"""The live reply path: analyse → (moderate) → match rules → limits in Redis → render.

``ReplyEngine.handle(comments)`` answers a batch with one Redis round trip (none when no
comment matched a rule); ``dry_run`` explains a decision without consuming any limit.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from dataclasses import dataclass, field

import redis

from nlp_service.analysis import Analysis, Analyzer
from nlp_service.core import metrics
from nlp_service.core.errors import InvalidTextError
from nlp_service.moderation.classifier import load as load_classifier
from nlp_service.moderation.detect import moderate_memo
from nlp_service.moderation.labels import BLOCK
from nlp_service.moderation.lists import load_replies
from nlp_service.moderation.pulse import PulseEvent
from nlp_service.moderation.queue import ModerationQueue
from nlp_service.moderation.recorder import Recorder
from nlp_service.moderation.spool import Spool
from nlp_service.replies.limits import (
    REPLY,
    Decision,
    Limiter,
    LimitRequest,
    RoomLimits,
    Settled,
    decode_all,
    sweep,
)
from nlp_service.replies.matcher import Candidate, MatchResult
from nlp_service.replies.render import burst_body, compose
from nlp_service.replies.rules import Rule
from nlp_service.replies.state import RoomSnapshot, StateCache
from nlp_service.store.redis import execute

log = logging.getLogger(__name__)

PASS_MODERATION = {"action": "pass", "categories": []}


@dataclass
class Comment:
    id: str
    room: str
    user: str
    nickname: str
    text: str
    ts: int | None = None  # epoch ms; the server's clock when missing
    sender: str | None = None  # name of the bot key that sent it: the bot's own user unless the room sets bot_user


@dataclass
class Outcome:
    comment: Comment
    analysis: Analysis | None = None
    reply: dict | None = None
    reason: str | None = None
    moderation: dict = field(default_factory=lambda: dict(PASS_MODERATION))
    error: str | None = None

    def to_dict(self) -> dict:
        a = self.analysis
        return {
            "id": self.comment.id,
            "room": self.comment.room,
            "sentiment": a.sentiment.to_dict() if a else None,
            "intent": a.intent.to_dict() if a else None,
            "keywords": list(a.keywords) if a else [],
            "reply": self.reply,
            "reason": self.reason,
            "moderation": self.moderation,
            **({"error": self.error} if self.error else {}),
        }


def record_settled(settled: Settled) -> None:
    """Metrics for what a limits call settled besides its own decisions."""
    if settled.bursts:
        metrics.REPLIES_SENT.inc(settled.bursts)
    if settled.dropped:
        metrics.COMMENTS_NOT_ANSWERED.labels("dropped_budget").inc(settled.dropped)


def _pulse_event(c: Comment, analysis: Analysis, categories: tuple[str, ...], now_ms: int) -> PulseEvent:
    negative = analysis.sentiment.label == "negative"
    return PulseEvent(
        minute=(c.ts if c.ts is not None else now_ms) // 60_000,
        sentiment=analysis.sentiment.label,
        intent=analysis.intent.label,
        controversial="complaint" in categories or "fraud_claim" in categories,
        negative_keywords=analysis.keywords if negative else (),
        example={"id": c.id, "user": c.user, "nickname": c.nickname, "text": c.text, "ts": c.ts} if negative else None,
    )


def _flood_moderation(categories) -> dict:
    """A flood block, keeping whatever else the comment was flagged for."""
    return {"action": BLOCK, "categories": ["flood", *[x for x in categories if x != "flood"]]}


def _digest(normalized_text: str) -> str:
    return hashlib.blake2b(normalized_text.encode("utf-8"), digest_size=8).hexdigest()


def _record(c: Comment, normalized_text: str) -> dict:
    """What the queue and a moderator see of a comment."""
    return {"id": c.id, "room": c.room, "user": c.user, "nickname": c.nickname, "text": c.text, "ts": c.ts, "digest": _digest(normalized_text or c.text)}


@dataclass
class _Pending:
    index: int
    candidate: Candidate
    variants: list[int]  # usable reply variants (all their variables are set)
    values: dict[str, str]
    digest: str = ""  # of the normalised text (flood counter key)


def usable_variants(rule: Rule, variables: dict[str, str]) -> tuple[list[int], set[str]]:
    """Variants whose variables are all set, and the names missing from the others."""
    usable, missing = [], set()
    for i in range(len(rule.replies)):
        lacking = rule.variables(i) - variables.keys()
        if lacking:
            missing |= lacking
        else:
            usable.append(i)
    return usable, missing


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
        self._rng = random.Random()
        # rooms where an asker of this instance waits for a burst → when the bursts fall due
        self._bursts_due: dict[str, set[int]] = {}
        self._bursts_lock = threading.Lock()
        self.recorder = Recorder(queue, self.queue_config, self.mark_flooder)
        self._seen: dict[tuple, float] = {}  # (room, user, digest) → until (monotonic): repeats go to Redis at once
        self._flooders: dict[tuple, float] = {}  # known flooders on this instance → until

    def _seen_recently(self, key: tuple) -> bool:
        now = time.monotonic()
        repeat = self._seen.get(key, 0.0) > now
        if len(self._seen) > 200_000:
            self._seen.clear()
        self._seen[key] = now + self.settings.flood_window_seconds
        return repeat

    def mark_flooder(self, room: str, user: str, digest: str) -> None:
        if len(self._flooders) > 100_000:
            self._flooders.clear()
        self._flooders[(room, user, digest)] = time.monotonic() + self.settings.flood_window_seconds

    def _select(self, comment: Comment, analysis: Analysis, snap: RoomSnapshot, now_ms: int) -> tuple[MatchResult, Candidate | None, str, list[int], list[str]]:
        """The rule to try for a comment: (match result, candidate or None, reason, usable variants, notes)."""
        result = snap.rules.match(analysis.normalized.text, analysis.intent.label, analysis.intent.confidence)
        if result.regex_timeouts:
            metrics.REGEX_TIMEOUTS.inc(result.regex_timeouts)
        notes: list[str] = []
        ts = comment.ts if comment.ts is not None else now_ms
        reason = "no_match"
        for cand in result.candidates:
            rule = cand.rule
            if rule.when_sentiment and analysis.sentiment.label not in rule.when_sentiment:
                notes.append(f"{rule.id}: sentiment {analysis.sentiment.label} is not one of {', '.join(rule.when_sentiment)}")
                continue
            if rule.schedule is not None and not rule.schedule.active(ts):
                notes.append(f"{rule.id}: outside its schedule")
                reason = "schedule"
                continue
            variants, missing = usable_variants(rule, snap.variables)
            if not variants:
                notes.append(f"{rule.id}: variable(s) not set: {', '.join(sorted(missing))}")
                reason = "missing_variable"
                continue
            return result, cand, "", variants, notes
        return result, None, reason, [], notes

    def handle(self, comments: list[Comment], now_ms: int | None = None) -> list[Outcome]:
        """Answer a batch of comments, in order, with one Redis round trip."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        outcomes = [Outcome(c) for c in comments]
        pending: dict[str, list[_Pending]] = {}
        observed: dict[str, list[tuple[int, tuple]]] = {}
        events: dict[str, list[PulseEvent]] = {}
        deferred: dict[str, list[tuple]] = {}
        digests: dict[int, str] = {}
        snaps: dict[str, RoomSnapshot] = {}
        for i, (c, out) in enumerate(zip(comments, outcomes, strict=True)):
            metrics.COMMENTS.inc()
            snap = snaps.get(c.room) or snaps.setdefault(c.room, self.state.room(c.room))
            if snap.is_banned(c.user, now_ms):  # blocked without analysis, still recorded
                out.reason, out.moderation = "banned", {"action": BLOCK, "categories": []}
                deferred.setdefault(c.room, []).append((c.id, c.user, _record(c, ""), None, True))
                continue
            try:
                out.analysis = self.analyzer.analyze(c.text)
            except InvalidTextError as exc:
                out.reason, out.error = "invalid_text", str(exc)
                continue
            mod = moderate_memo(out.analysis, snap.lexicon, self.standard_answers, self.moderation_model)
            out.moderation = mod.to_dict()
            payload = mod.to_dict(full=True) if mod.flagged else None
            record = _record(c, out.analysis.normalized.text)
            digests[i] = record["digest"]
            entry = (c.id, c.user, record, payload, True)
            events.setdefault(c.room, []).append(_pulse_event(c, out.analysis, mod.categories, now_ms))
            key = (c.room, c.user, record["digest"])
            repeat = self._seen_recently(key)
            if self._flooders.get(key, 0.0) > time.monotonic():  # known flooder: block now
                out.moderation = _flood_moderation(mod.categories)
                out.reason = "moderation"
                deferred.setdefault(c.room, []).append(entry)
                continue
            if payload is not None or repeat:  # flagged (queue it durably) or a repeat (count it now)
                observed.setdefault(c.room, []).append((i, entry))
            if mod.action == BLOCK:
                out.reason = "moderation"
                continue
            if c.user == (snap.settings.bot_user or c.sender):  # the bot's own message is never a question
                out.reason = "own_bot"
                if not (payload is not None or repeat):
                    deferred.setdefault(c.room, []).append(entry)
                continue
            _, cand, reason, variants, _ = self._select(c, out.analysis, snap, now_ms)
            if cand is None:
                out.reason = reason
                if reason != "no_match":
                    metrics.COMMENTS_NOT_ANSWERED.labels(reason).inc()
                if not (payload is not None or repeat):
                    deferred.setdefault(c.room, []).append(entry)
                continue
            if not (payload is not None or repeat):
                observed.setdefault(c.room, []).append((i, entry))  # it goes to Redis anyway
            pending.setdefault(c.room, []).append(_Pending(i, cand, variants, snap.variables, record["digest"]))
        for room in set(deferred) | set(events):
            self.recorder.add(room, deferred.get(room, []), events.get(room, []))
        if not observed and not pending:
            return outcomes
        try:
            decisions, flood_counts = self._round_trip(comments, observed, pending, snaps, now_ms)
        except redis.RedisError as exc:
            self._spool(comments, outcomes, observed, exc)
            for items in pending.values():
                for p in items:
                    outcomes[p.index].reason = "store_unavailable"
            return outcomes
        flood_max = self.settings.flood_max_repeats
        for i, count in flood_counts.items():
            if count > flood_max:
                c = comments[i]
                self.mark_flooder(c.room, c.user, digests[i])
                outcomes[i].moderation = _flood_moderation(outcomes[i].moderation["categories"])
                if outcomes[i].reason is None:
                    outcomes[i].reason = "moderation"
        for room, items in pending.items():
            for p, d in zip(items, decisions.get(room, []), strict=True):
                self._apply(outcomes[p.index], p, d)
        return outcomes

    def _round_trip(self, comments, observed, pending, snaps, now_ms) -> tuple[dict[str, list[Decision]], dict[int, int]]:
        """One pipeline: the deferred bookkeeping of earlier comments first (so counts stay in
        order), then per room the moderation/observe script and the limits script."""
        pipe = self.limiter.client.pipeline(transaction=False)
        d_entries, d_events = self.recorder.take()
        d_order = self.recorder.queue_on(pipe, d_entries, d_events, now_ms)
        skip = len(pipe.command_stack)
        order: list[tuple[str, str]] = []
        cfg = self.queue_config
        for room in dict.fromkeys([*observed, *pending]):
            if room in observed:
                self.queue.observe_call(pipe, room, [e for _, e in observed[room]], cfg, now_ms)
                order.append(("observe", room))
            if room in pending:
                rs = snaps[room].settings
                self.limiter.call(room, [self._request(comments[p.index], p, rs) for p in pending[room]], self.room_limits(snaps[room]), now_ms, pipe)
                order.append(("limits", room))
        everything = execute(pipe)  # one round trip, scripts included
        self.recorder.results(d_order, everything[: len(d_order)])
        results = everything[skip:]
        decisions: dict[str, list[Decision]] = {}
        floods: dict[int, int] = {}
        for (kind, room), res in zip(order, results, strict=True):
            if kind == "limits":
                decisions[room], settled = decode_all(res)
                self._settled(room, settled)
            else:
                for (i, _), (count, _queued) in zip(observed[room], res, strict=True):
                    floods[i] = int(count)
        return decisions, floods

    def _request(self, c: Comment, p: _Pending, rs) -> LimitRequest:
        rule = p.candidate.rule
        window = rule.limits.window_seconds
        user_cd = rule.limits.user_cooldown_seconds
        pick = self._rng.randrange(len(p.variants)) if rule.choose == "random" else -1
        asker = c.nickname or c.user
        # the text a burst led by this asker would post (used only if the asker waits)
        body, names_asker = burst_body(rule.replies[p.variants[max(pick, 0)]], {**p.values, "room": c.room, "question": c.text}, asker)
        return LimitRequest(
            comment_id=c.id,
            user=c.user,
            nickname=c.nickname or c.user,
            rule_id=rule.id,
            window_ms=int(1000 * window) if window else rs.window_ms,
            user_cooldown_ms=int(1000 * (user_cd if user_cd is not None else self.settings.user_cooldown_seconds)),
            n_variants=len(p.variants),
            random_pick=pick,
            text_digest=p.digest,
            burst_body=body,
            burst_names_asker=names_asker,
        )

    def room_limits(self, snap: RoomSnapshot) -> RoomLimits:
        rs = snap.settings
        return RoomLimits(rs.budget_ms, rs.max_mentions, self.settings.idempotency_seconds * 1000, self.settings.flood_max_repeats)

    def next_burst_due(self) -> int | None:
        """When the earliest burst this instance knows of falls due (epoch ms), if any."""
        with self._bursts_lock:
            return min((min(d) for d in self._bursts_due.values()), default=None)

    def post_due_bursts(self, now_ms: int | None = None, rooms: list[str] | None = None) -> int:
        """Post the bursts of closed windows (one round trip; poll thread: a quiet room has no
        next call to post them): of ``rooms``, or of the rooms where this instance saw an
        asker wait and the burst is now due. Returns how many were posted."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        if rooms is None:
            with self._bursts_lock:
                rooms = [r for r, dues in self._bursts_due.items() if min(dues) <= now_ms]
                for r in rooms:
                    later = {d for d in self._bursts_due[r] if d > now_ms}
                    if later:
                        self._bursts_due[r] = later
                    else:
                        del self._bursts_due[r]
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
        record_settled(settled)
        if settled.next_due is not None:
            with self._bursts_lock:
                self._bursts_due.setdefault(room, set()).add(settled.next_due)

    def _spool(self, comments, outcomes, observed, exc: Exception) -> None:
        """Redis is away: keep every flagged comment in the local spool (replayed later)."""
        entries = []
        for room, items in observed.items():
            for _i, (comment_id, user, record, payload, _) in items:
                if payload:
                    entries.append({"room": room, "comment_id": comment_id, "user": user, "record": record, "moderation": payload})
        self.spool.append(entries)
        metrics.SPOOLED.inc(len(entries))
        log.warning("redis unavailable (%s); spooled %d flagged comments", exc, len(entries))

    @property
    def queue_config(self) -> dict:
        s = self.settings
        return {
            "keep": s.recent_comments_kept,
            "flood_ms": s.flood_window_seconds * 1000,
            "flood_max": s.flood_max_repeats,
            "dedupe_s": s.moderation_dedupe_seconds,
        }

    def _apply(self, out: Outcome, p: _Pending, d: Decision) -> None:
        rule = p.candidate.rule
        if d.status != REPLY:
            out.reason = d.status
            metrics.COMMENTS_NOT_ANSWERED.labels(d.status).inc()
            return
        c = out.comment
        variant = p.variants[d.variant % len(p.variants)]
        asker = c.nickname or c.user
        values = {**p.values, "room": c.room, "question": c.text}
        text, mentions = compose(rule.replies[variant], values, asker, d.mentions or [asker])
        out.reply = {"text": text, "rule_id": rule.id, "mentions": mentions, "answers": d.named or [c.id]}
        if not d.retry:
            metrics.REPLIES_SENT.inc()
            metrics.RULE_HITS.labels(rule.id).inc()

    def dry_run(self, comment: Comment, now_ms: int | None = None) -> dict:
        """Which rule would fire and why, which lost and why, consuming no limit."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        analysis = self.analyzer.analyze(comment.text)
        snap = self.state.room(comment.room)
        result, cand, reason, variants, notes = self._select(comment, analysis, snap, now_ms)
        considered = []
        for r in result.rejected:
            considered.append({"rule_id": r.rule.id, "priority": r.rule.priority, "outcome": r.reason, "detail": r.detail})
        for other in result.candidates:
            if cand is not None and other.rule.id == cand.rule.id:
                continue
            outcome = "lower_priority" if cand is not None and other.rule.priority >= cand.rule.priority else "skipped"
            detail = next((n for n in notes if n.startswith(other.rule.id + ":")), "")
            if detail:
                outcome = "schedule" if "schedule" in detail else "sentiment" if ": sentiment " in detail else "missing_variable"
            considered.append({"rule_id": other.rule.id, "priority": other.rule.priority, "outcome": outcome, "detail": detail})
        for rule in snap.rules.disabled:
            considered.append({"rule_id": rule.id, "priority": rule.priority, "outcome": "disabled", "detail": ""})
        fired = None
        if cand is not None:
            k = self.limiter.keys
            rule = cand.rule
            pipe = self.limiter.client.pipeline(transaction=False)
            pipe.get(k.rule_cooldown(comment.room, rule.id))
            pipe.get(k.user_cooldown(comment.room, rule.id, comment.user))
            pipe.get(k.room_budget(comment.room))
            pipe.get(k.rotation(comment.room, rule.id))
            rule_cd, user_cd, budget, turn = pipe.execute()
            gates = (("rule_window_open", rule_cd), ("user_cooldown", user_cd), ("room_budget_spent", budget))
            blocked = [name for name, until in gates if until and float(until) > now_ms]  # the keys hold their end time
            asker = comment.nickname or comment.user
            values = {**snap.variables, "room": comment.room, "question": comment.text}
            nxt = 0 if rule.choose == "random" else int(turn or 0) % len(variants)  # the variant rotation gives next
            text, mentions = compose(rule.replies[variants[nxt]], values, asker, [asker])
            fired = {
                "rule_id": rule.id,
                "priority": rule.priority,
                "spans": [
                    {"start": s, "end": e, "term": t, "original": analysis.normalized.original_slice(s, e) if e > s else ""}
                    for s, e, t in cand.spans
                ],
                "intent": cand.intent,
                "confidence": cand.confidence,
                "would_reply": text,  # exactly what the bot would post now, mentions included
                "mentions": mentions,
                "limits_now": blocked or ["clear"],
            }
        return {
            "room": comment.room,
            "normalized": analysis.normalized.text,
            "intent": analysis.intent.to_dict(),
            "sentiment": analysis.sentiment.to_dict(),
            "fired": fired,
            "reason": None if fired else reason,
            "considered": considered,
        }
