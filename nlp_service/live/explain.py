"""Explain: the dry run's account of a comment, read from the same :class:`Selection` the
live path acts on, consuming nothing (the limit keys are only read)."""

from __future__ import annotations

from dataclasses import dataclass

from nlp_service.analysis import Analysis
from nlp_service.live.decide import Selection
from nlp_service.live.types import Comment
from nlp_service.replies.limits import Limiter
from nlp_service.replies.render import compose
from nlp_service.replies.rules import Rule


@dataclass(frozen=True, slots=True)
class Gates:
    """The end times (epoch ms) the limit keys hold for one rule, user and room; None: unset."""

    rule_window: float | None
    user_cooldown: float | None
    room_budget: float | None
    rotation: int = 0  # the rule's rotation counter

    def closed(self, now_ms: int) -> list[str]:
        """The limits that would stop a reply now, by their dry-run names."""
        gates = (("rule_window_open", self.rule_window), ("user_cooldown", self.user_cooldown), ("room_budget_spent", self.room_budget))
        return [name for name, until in gates if until and until > now_ms]


def read_gates(limiter: Limiter, room: str, rule_id: str, user: str) -> Gates:
    """One round trip of plain GETs: nothing is taken."""
    k = limiter.keys
    pipe = limiter.client.pipeline(transaction=False)
    pipe.get(k.rule_cooldown(room, rule_id))
    pipe.get(k.user_cooldown(room, rule_id, user))
    pipe.get(k.room_budget(room))
    pipe.get(k.rotation(room, rule_id))
    rule_cd, user_cd, budget, turn = pipe.execute()
    as_ms = lambda v: float(v) if v else None  # noqa: E731 - the keys hold their end time
    return Gates(as_ms(rule_cd), as_ms(user_cd), as_ms(budget), int(turn or 0))


def considered(sel: Selection, disabled: list[Rule]) -> list[dict]:
    """Every rule that did not fire, and why: rejected by the matcher, passed over (the
    structured :class:`~nlp_service.live.decide.Skip`), outranked, or disabled."""
    cand = sel.chosen
    out = [{"rule_id": r.rule.id, "priority": r.rule.priority, "outcome": r.reason, "detail": r.detail} for r in sel.match.rejected]
    for other in sel.match.candidates:
        if cand is not None and other.rule.id == cand.rule.id:
            continue
        skip = sel.skip_of(other.rule.id)
        if skip is not None:
            outcome, detail = skip.why, skip.detail()
        else:
            outcome = "lower_priority" if cand is not None and other.rule.priority >= cand.rule.priority else "skipped"
            detail = ""
        out.append({"rule_id": other.rule.id, "priority": other.rule.priority, "outcome": outcome, "detail": detail})
    out += [{"rule_id": rule.id, "priority": rule.priority, "outcome": "disabled", "detail": ""} for rule in disabled]
    return out


def fired(comment: Comment, analysis: Analysis, sel: Selection, variables: dict[str, str], gates: Gates, now_ms: int) -> dict:
    """The chosen rule, its evidence, the exact text the bot would post now, and the limits."""
    if sel.chosen is None:
        raise ValueError("no rule was chosen: nothing fired")
    cand, rule = sel.chosen, sel.chosen.rule
    values = {**variables, "room": comment.room, "question": comment.text}
    nxt = 0 if rule.choose == "random" else gates.rotation % len(sel.variants)  # the variant rotation gives next
    text, mentions = compose(rule.replies[sel.variants[nxt]], values, comment.asker, [comment.asker])
    return {
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
        "limits_now": gates.closed(now_ms) or ["clear"],
    }


def explain(comment: Comment, analysis: Analysis, sel: Selection, disabled: list[Rule], fired_rule: dict | None) -> dict:
    """The dry-run body (``POST /v1/rules/dry-run``)."""
    return {
        "room": comment.room,
        "normalized": analysis.normalized.text,
        "intent": analysis.intent.to_dict(),
        "sentiment": analysis.sentiment.to_dict(),
        "fired": fired_rule,
        "reason": None if fired_rule else sel.reason,
        "considered": considered(sel, disabled),
    }
