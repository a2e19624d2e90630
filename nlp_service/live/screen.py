"""Screen: what a comment is before any rule is tried, and where it goes in Redis.

Pure helpers for the per-comment part of ``ReplyEngine.handle`` (the queue record, the pulse
event, the flood verdict), and :class:`Plan`, which gathers a batch's comments by room: the
ones Redis must see in this request (flagged, repeated or matched: ``observed`` and
``matched``) and the ones that can wait for the recorder (``deferred``, ``events``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from nlp_service.analysis import Analysis
from nlp_service.live.types import Comment, Matched, Observed
from nlp_service.moderation.labels import BLOCK
from nlp_service.moderation.pulse import PulseEvent
from nlp_service.moderation.queue import QueueEntry
from nlp_service.replies.matcher import RegexBudget
from nlp_service.replies.state import RoomSnapshot, StateCache
from nlp_service.text.fold import group_form


def digest(normalized_text: str) -> str:
    """A short fingerprint of the normalised text (the flood counter's key)."""
    return hashlib.blake2b(normalized_text.encode("utf-8"), digest_size=8).hexdigest()


def queue_record(c: Comment, normalized_text: str, flagged: bool = False) -> dict:
    """What the queue and a moderator see of a comment; a flagged one also carries the digest
    of its group form (``text/fold.py``), the queue item a storm of the same text shares."""
    record = {"id": c.id, "room": c.room, "user": c.user, "nickname": c.nickname, "text": c.text, "ts": c.ts, "digest": digest(normalized_text or c.text)}
    if flagged:
        record["group"] = digest(group_form(c.text, normalized_text or c.text))
    return record


def pulse_event(c: Comment, analysis: Analysis, categories: tuple[str, ...], now_ms: int) -> PulseEvent:
    """The comment's contribution to the room's minute (``moderation/pulse.py``)."""
    negative = analysis.sentiment.label == "negative"
    return PulseEvent(
        minute=(c.ts if c.ts is not None else now_ms) // 60_000,
        sentiment=analysis.sentiment.label,
        intent=analysis.intent.label,
        controversial="complaint" in categories or "fraud_claim" in categories,
        negative_keywords=analysis.keywords if negative else (),
        example={"id": c.id, "user": c.user, "nickname": c.nickname, "text": c.text, "ts": c.ts} if negative else None,
    )


def flood_moderation(categories) -> dict:
    """A flood block, keeping whatever else the comment was flagged for."""
    return {"action": BLOCK, "categories": ["flood", *[x for x in categories if x != "flood"]]}


@dataclass(slots=True)
class Plan:
    """One batch, sorted by room and by what Redis must do with each comment."""

    snaps: dict[str, RoomSnapshot] = field(default_factory=dict)  # one snapshot per room for the whole batch
    observed: dict[str, list[Observed]] = field(default_factory=dict)  # counted / queued in this request
    matched: dict[str, list[Matched]] = field(default_factory=dict)  # ask the limits script
    deferred: dict[str, list[QueueEntry]] = field(default_factory=dict)  # counted later by the recorder
    events: dict[str, list[PulseEvent]] = field(default_factory=dict)  # the room pulse (recorder)
    digests: dict[int, str] = field(default_factory=dict)  # comment index → text digest
    regex: dict[str, RegexBudget] = field(default_factory=dict)  # each room's regex time in this batch

    def snapshot(self, room: str, state: StateCache) -> RoomSnapshot:
        snap = self.snaps.get(room)
        if snap is None:
            snap = self.snaps[room] = state.room(room)
        return snap

    def regex_budget(self, room: str, seconds: float) -> RegexBudget:
        """The room's regex budget for this batch (``seconds`` when first asked)."""
        budget = self.regex.get(room)
        if budget is None:
            budget = self.regex[room] = RegexBudget(seconds)
        return budget

    def observe(self, room: str, index: int, entry: QueueEntry) -> None:
        self.observed.setdefault(room, []).append(Observed(index, entry))

    def defer(self, room: str, entry: QueueEntry) -> None:
        self.deferred.setdefault(room, []).append(entry)

    def match(self, room: str, matched: Matched) -> None:
        self.matched.setdefault(room, []).append(matched)

    def event(self, room: str, event: PulseEvent) -> None:
        self.events.setdefault(room, []).append(event)

    @property
    def needs_redis(self) -> bool:
        """Whether the batch needs a round trip now (otherwise the recorder takes it all)."""
        return bool(self.observed or self.matched)
