"""Request and response bodies of the HTTP API (the public contract's field names)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nlp_service.classify.labels import INTENTS, SENTIMENTS
from nlp_service.live.reasons import REASONS
from nlp_service.live.types import Comment
from nlp_service.moderation.labels import ACTIONS, CATEGORIES
from nlp_service.replies.rules import ROOM_PATTERN
from nlp_service.store.apikeys import Role

MAX_TEXT = 2000

# The enumerations of the OpenAPI document, built from the vocabularies (``Literal`` of a
# tuple is the Literal of its members), so a label is spelled in one place only.
SentimentLabel = Literal[SENTIMENTS]  # type: ignore[valid-type]
IntentLabel = Literal[INTENTS]  # type: ignore[valid-type]
ModerationAction = Literal[ACTIONS]  # type: ignore[valid-type]
ModerationCategory = Literal[CATEGORIES]  # type: ignore[valid-type]
Reason = Literal[REASONS]  # type: ignore[valid-type]


# One unit (epoch milliseconds) and a sane range: a 400-digit or 10^20 ts used to reach the
# rules' schedules and Redis (failing a whole shared batch), and "1764072600" as a string was
# read as seconds while 1764072600 as a number was milliseconds.
TS_MIN, TS_MAX = 946_684_800_000, 4_102_444_800_000  # 2000-01-01 … 2100-01-01 UTC
TS_RANGE_TEXT = "between 2000-01-01 and 2100-01-01"


def epoch_ms(value: object) -> int | None:
    """``ts`` as epoch milliseconds, whatever form it came in; ``ValueError`` names the fix."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise ValueError("ts must be epoch milliseconds or an ISO 8601 time with zone")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("ts must be whole epoch milliseconds")
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 16:
            value = int(text)
        else:
            try:
                when = dt.datetime.fromisoformat(text) if len(text) <= 40 else None
            except ValueError:
                when = None
            if when is None:
                raise ValueError("ts must be epoch milliseconds or an ISO 8601 time with zone, e.g. 2025-11-25T20:00:00+08:00")
            if when.tzinfo is None:
                raise ValueError("ISO 8601 time needs a zone, e.g. 2025-11-25T20:00:00+08:00")
            value = int(when.timestamp() * 1000)
    if not TS_MIN <= value <= TS_MAX:  # type: ignore[operator]
        raise ValueError(f"ts {value} is out of range: epoch milliseconds {TS_RANGE_TEXT} (seconds? multiply by 1000)")
    return value  # type: ignore[return-value]


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128, description="the platform's message id (idempotency)")
    room: str = Field(pattern=ROOM_PATTERN)
    user: str = Field(min_length=1, max_length=128)
    nickname: str = Field("", max_length=64)
    text: str = Field(max_length=MAX_TEXT)
    ts: int | None = Field(
        None, description=f"epoch milliseconds (an integer, or its digits as a string) or ISO 8601 with zone; {TS_RANGE_TEXT}"
    )

    @field_validator("ts", mode="before")
    @classmethod
    def _epoch_ms(cls, value: object) -> int | None:
        return epoch_ms(value)

    def to_comment(self) -> Comment:
        return Comment(self.id, self.room, self.user, self.nickname, self.text, self.ts)  # type: ignore[arg-type]


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comments: list[CommentIn] = Field(min_length=1)


class SentimentOut(BaseModel):
    label: SentimentLabel
    score: float = Field(description="P(positive) + ½·P(neutral)")


class IntentOut(BaseModel):
    label: IntentLabel
    confidence: float


class ModerationOut(BaseModel):
    action: ModerationAction
    categories: list[ModerationCategory]


class TermHit(BaseModel):
    category: ModerationCategory
    term: str
    start: int = Field(description="span in the original text")
    end: int
    text: str = Field(description="the original text of the span")
    how: str = Field(description="how it matched: exact, homophone, pinyin, pattern, model …")
    score: float | None = Field(None, description="the classifier's probability (how = model)")


class ModerationDetail(ModerationOut):
    """The full moderation result (``POST /v1/moderate``, a queued item)."""

    terms: list[TermHit]
    score: float
    suggested_reply: str | None


class ModerateOut(ModerationDetail):
    room: str


class ReplyOut(BaseModel):
    text: str
    rule_id: str
    mentions: list[str]
    answers: list[str] = Field(default_factory=list, description="ids of the comments this reply answers (its own and the aggregated askers it names)")


class CommentOut(BaseModel):
    id: str
    room: str
    sentiment: SentimentOut | None
    intent: IntentOut | None
    keywords: list[str]
    reply: ReplyOut | None
    reason: Reason | None = Field(description="why there is no reply (null when there is one)")
    moderation: ModerationOut
    error: str | None = None


class BatchOut(BaseModel):
    results: list[CommentOut]


class DryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    room: str = Field(pattern=ROOM_PATTERN)
    text: str = Field(max_length=MAX_TEXT)
    user: str = "dry-run"
    nickname: str = "dry-run"
    ts: int | None = None


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    role: Role
    rooms: list[Annotated[str, Field(pattern=ROOM_PATTERN + "|^\\*$")]] = Field(default_factory=lambda: ["*"], max_length=1000)


class PullIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rooms: list[Annotated[str, Field(pattern=ROOM_PATTERN)]] | None = Field(None, description="rooms to pull from; default every room the key may see", max_length=1000)
    count: int = Field(10, ge=1, le=100)
    wait_ms: int = Field(0, ge=0, le=30_000, description="wait up to this long for an item")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(description="approve | delete | ban | reply")
    reason: str = Field("", max_length=500)
    ban_seconds: int = Field(0, ge=0, le=365 * 86400)
    reply_text: str = Field("", max_length=500)


class TermsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    add: list[str] = Field(default_factory=list, max_length=200_000)
    remove: list[str] = Field(default_factory=list, max_length=200_000)


class BanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=128)
    seconds: int = Field(gt=0, le=365 * 86400)


class ModerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TEXT)
    room: str = Field("global", pattern=ROOM_PATTERN)


class KeyOut(BaseModel):
    key_id: str
    name: str
    role: Role
    rooms: list[str]


class KeyCreatedOut(KeyOut):
    key: str = Field(description="the key itself, shown this once")


class KeysOut(BaseModel):
    keys: list[KeyOut]


class FiredOut(BaseModel):
    rule_id: str
    priority: int
    spans: list[dict]
    intent: IntentLabel | None
    confidence: float | None
    would_reply: str
    mentions: list[str]
    limits_now: list[Literal["clear", "rule_window_open", "user_cooldown", "room_budget_spent"]]


class DryRunOut(BaseModel):
    room: str
    normalized: str
    intent: IntentOut
    sentiment: SentimentOut
    fired: FiredOut | None
    reason: Reason | None
    considered: list[dict]


class PulledItem(BaseModel):
    item_id: str
    room: str
    comment: dict
    moderation: ModerationOut
    deliveries: int
    recent_comments: list[dict]
    suggested_reply: str | None
    repeats: int = Field(1, description="comments the item holds: a storm of one text in the room is one item; a decision applies to every one")
    repeat_users: int = Field(1, description="distinct users among them")
    members: list[dict] = Field(default_factory=list, description="their comments (id, user, nickname, text, ts), oldest first; the first is `comment`")


class PullOut(BaseModel):
    items: list[PulledItem]


def documented(model: type[BaseModel], status: int = 200) -> dict:
    """Route arguments that put ``model`` in the OpenAPI document as the response body,
    while the route still returns its dict as it is (nothing filtered or reordered)."""
    return {"response_model": None, "responses": {status: {"model": model, "description": "Successful Response"}}}
