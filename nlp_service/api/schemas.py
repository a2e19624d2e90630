"""Request and response bodies of the HTTP API (the public contract's field names)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nlp_service.live.types import Comment
from nlp_service.replies.rules import ROOM_PATTERN

MAX_TEXT = 2000


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


class Label(BaseModel):
    label: str
    score: float | None = None
    confidence: float | None = None


class ReplyOut(BaseModel):
    text: str
    rule_id: str
    mentions: list[str]
    answers: list[str] = Field(default_factory=list, description="ids of the comments this reply answers (its own and the aggregated askers it names)")


class CommentOut(BaseModel):
    id: str
    room: str
    sentiment: dict | None
    intent: dict | None
    keywords: list[str]
    reply: ReplyOut | None
    reason: str | None
    moderation: dict
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
    role: str
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
