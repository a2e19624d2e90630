"""Why a comment got no reply: the ``reason`` of a reply response, one vocabulary.

The limits script's statuses (``replies/limits.py``), the rule choice's (``decide.py``) and
the engine's own. The response model (``api/schemas.py``) declares ``reason`` as one of
:data:`REASONS`, so the OpenAPI document lists them.
"""

from __future__ import annotations

from nlp_service.replies.limits import AGGREGATED, BANNED, BUDGET, FLOOD, MENTION_CAP, USER_COOLDOWN
from nlp_service.replies.matcher import (
    REGEX_BUDGET,  # no rule fired, a regex was skipped: the room's regex time was spent
)

NO_MATCH = "no_match"  # no rule matched (or only rules the comment's sentiment rules out)
SCHEDULE = "schedule"  # the rule that matched is outside its schedule
MISSING_VARIABLE = "missing_variable"  # the rule that matched has no variant whose variables are set
INVALID_TEXT = "invalid_text"  # the text cannot be analysed (empty, too long, bad encoding)
MODERATION = "moderation"  # blocked by moderation (or flood)
OWN_BOT = "own_bot"  # the room's bot user: its own messages are never questions
STORE_UNAVAILABLE = "store_unavailable"  # Redis away: analysed and moderated, not answered

REASONS = (
    NO_MATCH, SCHEDULE, MISSING_VARIABLE, INVALID_TEXT, MODERATION, OWN_BOT, STORE_UNAVAILABLE,
    BANNED, USER_COOLDOWN, AGGREGATED, MENTION_CAP, BUDGET, FLOOD, REGEX_BUDGET,
)  # fmt: skip
