"""Named exceptions of the service. No HTTP knowledge here: the API maps them to statuses."""

from __future__ import annotations


class NlpServiceError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidTextError(NlpServiceError, ValueError):
    """A comment that cannot be analysed; the message says what is wrong and how to fix it."""

    reason: str = "invalid_text"


class NotTextError(InvalidTextError):
    reason = "not_text"


class InvalidEncodingError(InvalidTextError):
    reason = "invalid_encoding"


class EmptyTextError(InvalidTextError):
    reason = "empty_text"


class TextTooLongError(InvalidTextError):
    reason = "text_too_long"


class ModelNotTrainedError(NlpServiceError, FileNotFoundError):
    """A model artifact is missing: run ``nlp-service train``."""


class DataFileError(NlpServiceError, ValueError):
    """A project data file (labelled examples, dictionary) is missing or malformed."""


class InvalidRuleError(NlpServiceError, ValueError):
    """A reply rule (or a YAML document of rules) that fails validation."""


class InvalidRoleError(NlpServiceError, ValueError):
    """An API key role that is not one of admin, bot, moderator, analyst."""


class InvalidWordListError(NlpServiceError, ValueError):
    """A word-list change that cannot be applied: an unknown category, an over-long term."""


class QueueItemNotFoundError(NlpServiceError, KeyError):
    """No moderation item with that id (or an id not of the form <room>~<stream id>)."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "item not found"


class QueueItemBusyError(NlpServiceError):
    """Comments kept joining a grouped queue item while a decision was being applied to it;
    nothing was decided: send the decision again."""


class InvalidDecisionError(NlpServiceError, ValueError):
    """A moderator decision that cannot be applied (unknown action, a ban without seconds …)."""


class RuleNotFoundError(NlpServiceError, KeyError):
    """No rule with that id in that scope."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "rule not found"


class AuthError(NlpServiceError):
    """Missing or unknown API key (HTTP 401)."""

    reason = "unauthorized"


class ForbiddenError(NlpServiceError):
    """A valid key whose role or rooms do not allow this (HTTP 403)."""

    reason = "forbidden"


class RateLimitedError(NlpServiceError):
    """The key is over its request or comment rate (HTTP 429 with Retry-After)."""

    reason = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailableError(NlpServiceError):
    """Redis cannot be reached."""


class InvalidTimeZoneError(NlpServiceError, ValueError):
    """A time zone name that is not an IANA zone."""

    reason = "invalid_time_zone"
