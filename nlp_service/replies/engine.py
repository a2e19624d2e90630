"""The live reply path: analyse → (moderate) → match rules → limits in Redis → render.

``ReplyEngine.handle(comments)`` answers a batch with one Redis round trip (none when no
comment matched a rule); ``dry_run`` explains a decision without consuming any limit.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from nlp_service.analysis import Analysis, Analyzer
from nlp_service.core import metrics
from nlp_service.core.errors import InvalidTextError
from nlp_service.replies.limits import REPLY, Decision, Limiter, LimitRequest, RoomLimits
from nlp_service.replies.matcher import Candidate, MatchResult
from nlp_service.replies.rules import Rule, render
from nlp_service.store.state import RoomSnapshot, StateCache

PASS_MODERATION = {"action": "pass", "categories": []}


@dataclass
class Comment:
    id: str
    room: str
    user: str
    nickname: str
    text: str
    ts: int | None = None  # epoch ms; the server's clock when missing


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


@dataclass
class _Pending:
    index: int
    candidate: Candidate
    variants: list[int]  # usable reply variants (all their variables are set)
    values: dict[str, str]


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
    def __init__(self, analyzer: Analyzer, state: StateCache, limiter: Limiter) -> None:
        self.analyzer = analyzer
        self.state = state
        self.limiter = limiter
        self.settings = analyzer.settings
        self._rng = random.Random()

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
        """Answer a batch of comments, in order."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        outcomes = [Outcome(c) for c in comments]
        pending: dict[str, list[_Pending]] = {}
        snaps: dict[str, RoomSnapshot] = {}
        for i, (c, out) in enumerate(zip(comments, outcomes, strict=True)):
            metrics.COMMENTS.inc()
            try:
                out.analysis = self.analyzer.analyze(c.text)
            except InvalidTextError as exc:
                out.reason, out.error = "invalid_text", str(exc)
                continue
            snap = snaps.get(c.room) or snaps.setdefault(c.room, self.state.room(c.room))
            if snap.settings.bot_user and c.user == snap.settings.bot_user:
                out.reason = "own_bot"
                continue
            if out.moderation["action"] == "block":
                out.reason = "moderation"
                continue
            _, cand, reason, variants, _ = self._select(c, out.analysis, snap, now_ms)
            if cand is None:
                out.reason = reason
                if reason != "no_match":
                    metrics.COMMENTS_NOT_ANSWERED.labels(reason).inc()
                continue
            pending.setdefault(c.room, []).append(_Pending(i, cand, variants, snap.variables))
        if not pending:
            return outcomes
        requests = {}
        for room, items in pending.items():
            rs = snaps[room].settings
            cfg = RoomLimits(rs.budget_ms, rs.max_mentions, self.settings.idempotency_seconds * 1000)
            reqs = []
            for p in items:
                c, rule = comments[p.index], p.candidate.rule
                window = rule.limits.window_seconds
                user_cd = rule.limits.user_cooldown_seconds
                reqs.append(
                    LimitRequest(
                        comment_id=c.id,
                        user=c.user,
                        nickname=c.nickname or c.user,
                        rule_id=rule.id,
                        window_ms=int(1000 * window) if window else rs.window_ms,
                        user_cooldown_ms=int(1000 * (user_cd if user_cd is not None else self.settings.user_cooldown_seconds)),
                        n_variants=len(p.variants),
                        random_pick=self._rng.randrange(len(p.variants)) if rule.choose == "random" else -1,
                    )
                )
            requests[room] = (reqs, cfg)
        decisions = self.limiter.take(requests, now_ms)
        for room, items in pending.items():
            for p, d in zip(items, decisions[room], strict=True):
                self._apply(outcomes[p.index], p, d)
        return outcomes

    def _apply(self, out: Outcome, p: _Pending, d: Decision) -> None:
        rule = p.candidate.rule
        if d.status != REPLY:
            out.reason = d.status
            metrics.COMMENTS_NOT_ANSWERED.labels(d.status).inc()
            return
        c = out.comment
        variant = p.variants[d.variant % len(p.variants)]
        values = {**p.values, "nickname": c.nickname or c.user, "room": c.room, "question": c.text}
        body = render(rule.replies[variant], values)
        mentions = d.mentions or [c.nickname or c.user]
        text = " ".join("@" + m for m in mentions) + " " + body
        out.reply = {"text": text, "rule_id": rule.id, "mentions": mentions}
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
                outcome = "schedule" if "schedule" in detail else "missing_variable"
            considered.append({"rule_id": other.rule.id, "priority": other.rule.priority, "outcome": outcome, "detail": detail})
        for rule in snap.rules.disabled:
            considered.append({"rule_id": rule.id, "priority": rule.priority, "outcome": "disabled", "detail": ""})
        fired = None
        if cand is not None:
            k = self.limiter.keys
            rule = cand.rule
            pipe = self.limiter.client.pipeline(transaction=False)
            pipe.exists(k.rule_cooldown(comment.room, rule.id))
            pipe.exists(k.user_cooldown(comment.room, rule.id, comment.user))
            pipe.exists(k.room_budget(comment.room))
            rule_cd, user_cd, budget = pipe.execute()
            blocked = [name for name, on in (("rule_window_open", rule_cd), ("user_cooldown", user_cd), ("room_budget_spent", budget)) if on]
            values = {**snap.variables, "nickname": comment.nickname or comment.user, "room": comment.room, "question": comment.text}
            fired = {
                "rule_id": rule.id,
                "priority": rule.priority,
                "spans": [
                    {"start": s, "end": e, "term": t, "original": analysis.normalized.original_slice(s, e) if e > s else ""}
                    for s, e, t in cand.spans
                ],
                "intent": cand.intent,
                "confidence": cand.confidence,
                "would_reply": render(rule.replies[variants[0]], values),
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
