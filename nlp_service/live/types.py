"""The values that travel between the live path's stages (see ``live/engine.py``).

A comment comes in as a :class:`Comment` and leaves as an :class:`Outcome`; in between, a
comment that matched a rule is a :class:`Matched` (it asks the limits script for the right
to be answered) and a comment Redis must count or queue now is an :class:`Observed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nlp_service.analysis import Analysis
from nlp_service.moderation.queue import QueueEntry
from nlp_service.replies.matcher import Candidate

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

    @property
    def asker(self) -> str:
        """The name a reply mentions: the nickname, else the user id."""
        return self.nickname or self.user


@dataclass
class Outcome:
    """What the engine says of one comment; filled in stage by stage (the response body)."""

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

    def feed_record(self) -> dict:
        """What the room's live feed keeps of the comment (``store/roomfeed.py``): who said
        what, its labels, and the reply text it got or the reason it got none."""
        c, a, r = self.comment, self.analysis, self.reply
        return {
            "id": c.id, "user": c.user, "nickname": c.nickname, "text": c.text, "ts": c.ts,
            "sentiment": a.sentiment.label if a else None, "intent": a.intent.label if a else None,
            "action": self.moderation["action"], "categories": self.moderation["categories"],
            "reply": r["text"] if r else None, "rule_id": r["rule_id"] if r else None, "reason": self.reason,
        }  # fmt: skip


# slots, not frozen: a frozen dataclass's __init__ costs 1.2 µs against 0.2 µs (one
# object.__setattr__ per field; timeit, Python 3.11), paid per comment on the reply path.
# Nothing mutates it after it is built.
@dataclass(slots=True)
class Matched:
    """A comment whose rule was chosen (``decide.select``): it waits for the limits' decision."""

    index: int  # the comment's place in the batch
    candidate: Candidate
    variants: tuple[int, ...]  # usable reply variants (all their variables are set)
    values: dict[str, str]  # the room's variables
    digest: str = ""  # of the normalised text (flood counter key)


@dataclass(slots=True)  # not frozen: see Matched
class Observed:
    """A comment that goes to Redis in the request: flagged, a repeat, or matched."""

    index: int
    entry: QueueEntry
