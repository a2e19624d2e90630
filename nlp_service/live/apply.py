"""Apply: turn what Redis decided into the outcomes (the reply text, or the reason)."""

from __future__ import annotations

from nlp_service.core import metrics
from nlp_service.live.reasons import MODERATION
from nlp_service.live.screen import flood_moderation
from nlp_service.live.types import Matched, Outcome
from nlp_service.replies.limits import REPLY, Decision, Settled
from nlp_service.replies.render import compose


def apply_decision(out: Outcome, m: Matched, d: Decision) -> None:
    """The reply (rendered with the askers the script named), or the limit that stopped it."""
    rule = m.candidate.rule
    if d.status != REPLY:
        out.reason = d.status
        metrics.COMMENTS_NOT_ANSWERED.labels(d.status).inc()
        return
    c = out.comment
    variant = m.variants[d.variant % len(m.variants)]
    values = {**m.values, "room": c.room, "question": c.text}
    text, mentions = compose(rule.replies[variant], values, c.asker, d.mentions or [c.asker])
    out.reply = {"text": text, "rule_id": rule.id, "mentions": mentions, "answers": d.named or [c.id]}
    if not d.retry:
        metrics.REPLIES_SENT.inc()
        metrics.RULE_HITS.labels(rule.id).inc()


def apply_flood(out: Outcome) -> None:
    """Redis counted this comment over the flood limit: block it (its reason stays if it had one)."""
    out.moderation = flood_moderation(out.moderation["categories"])
    if out.reason is None:
        out.reason = MODERATION


def count_settled(settled: Settled) -> None:
    """Metrics for what a limits call settled besides its own decisions."""
    if settled.bursts:
        metrics.REPLIES_SENT.inc(settled.bursts)
    if settled.dropped:
        metrics.COMMENTS_NOT_ANSWERED.labels("dropped_budget").inc(settled.dropped)
