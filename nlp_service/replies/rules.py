"""Auto-reply rules: the model, its validation, and YAML import/export.

A rule says *when* to answer (match), *what* to answer (replies with template variables),
*how often* (limits) and *when it is active* (schedule). Validation happens when a rule is
saved, so the reply path never meets a broken rule: keywords are normalised the same way
comments are, template variables are parsed, and regexes that could hang are rejected.
"""

from __future__ import annotations

import datetime as dt
import string
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import regex
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nlp_service.classify.labels import INTENTS, SENTIMENTS
from nlp_service.core.errors import InvalidRuleError
from nlp_service.core.memo import BoundedMemo, text_cost
from nlp_service.replies.regex_safety import UnsafeRegex, check_structure
from nlp_service.text.normalize import normalize

GLOBAL_SCOPE = "global"
BUILTIN_VARIABLES = frozenset({"nickname", "room", "question"})
RULE_ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
ROOM_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
MAX_REGEX_LENGTH = 300



def _normalise_term(term: str) -> str:
    text = normalize(term).text
    if not text:
        raise ValueError(f"keyword {term!r} is empty after normalisation")
    return text


class Match(BaseModel):
    """Conditions, all of which must hold (those left empty are ignored); ``none`` vetoes."""

    model_config = ConfigDict(extra="forbid")

    any: list[str] = Field(default_factory=list, description="fires when any of these keywords occurs")
    all: list[str] = Field(default_factory=list, description="needs every one of these keywords")
    exact: list[str] = Field(default_factory=list, description="the whole comment equals one of these")
    regex: str | None = Field(None, max_length=MAX_REGEX_LENGTH, description="a pattern searched in the matching form")
    none: list[str] = Field(default_factory=list, description="negative words: any of them vetoes the rule")
    intent: str | None = Field(None, description="one of the PRODUCT.md intents")
    min_confidence: float = Field(0.5, ge=0, le=1)
    intents: dict[str, float] = Field(
        default_factory=dict,
        description="intent fallback: the rule also fires (OR) when the comment's intent is one of these at or above "
        "its confidence, even if no keyword matched; the keyword conditions above (with intent/min_confidence, ANDed) stay the fast path",
    )

    @field_validator("any", "all", "exact", "none")
    @classmethod
    def _normalise(cls, terms: list[str]) -> list[str]:
        if len(terms) > 500:
            raise ValueError("at most 500 keywords per list")
        return list(dict.fromkeys(_normalise_term(t) for t in terms))

    @field_validator("intent")
    @classmethod
    def _known_intent(cls, value: str | None) -> str | None:
        if value is not None and value not in INTENTS:
            raise ValueError(f"unknown intent {value!r}; use one of {', '.join(INTENTS)}")
        return value

    @field_validator("intents")
    @classmethod
    def _known_intents(cls, value: dict[str, float]) -> dict[str, float]:
        for name, threshold in value.items():
            if name not in INTENTS:
                raise ValueError(f"unknown intent {name!r} in intents; use one of {', '.join(INTENTS)}")
            if not 0 < threshold <= 1:
                raise ValueError(f"intents.{name} = {threshold}: a confidence must be in (0, 1]")
        return value

    @field_validator("regex")
    @classmethod
    def _safe_regex(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        check_regex(pattern)
        return pattern

    @model_validator(mode="after")
    def _has_a_condition(self) -> Match:
        if not (self.any or self.all or self.exact or self.regex or self.intent or self.intents):
            raise ValueError("match needs at least one of any, all, exact, regex, intent, intents")
        return self


def check_regex(pattern: str) -> regex.Pattern:
    """Compile ``pattern`` and refuse it when its shape can backtrack catastrophically.

    Decided by structure (see ``replies/regex_safety.py``), so whether a rule is accepted
    does not depend on the machine. Matching is also bounded at run time (``regex`` module
    timeout), so a slow pattern that slips through costs at most that bound per comment.
    """
    try:
        compiled = regex.compile(pattern)
    except regex.error as exc:
        raise ValueError(f"regex {pattern!r} does not compile: {exc}") from None
    try:
        check_structure(pattern)
    except UnsafeRegex as exc:
        raise ValueError(f"regex {pattern!r} backtracks catastrophically on some inputs: {exc.reason}; simplify it (e.g. (a+)+ → a+)") from None
    return compiled


class TimeWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: dt.time
    end: dt.time
    days: list[int] = Field(default_factory=lambda: list(range(7)), min_length=1, max_length=7, description="0 = Monday … 6 = Sunday")

    @field_validator("start", "end")
    @classmethod
    def _local_time(cls, value: dt.time) -> dt.time:
        # a window is local to the schedule's time zone; an offset ("23:53:59Z") would make
        # every comparison with a local time raise, i.e. a 500 for every matching comment
        if value.tzinfo is not None:
            raise ValueError("window times are local to the schedule's timezone: write them without a zone or offset (e.g. 20:00)")
        return value

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(d not in range(7) for d in value) or len(set(value)) != len(value):
            raise ValueError("days are distinct weekdays, 0 = Monday … 6 = Sunday")
        return value

    def contains(self, local: dt.datetime) -> bool:
        if local.weekday() not in self.days:
            return False
        t = local.time()
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end  # a window across midnight


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = "Asia/Shanghai"
    windows: list[TimeWindow] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from None
        return value

    def active(self, ts_ms: int) -> bool:
        local = dt.datetime.fromtimestamp(ts_ms / 1000, ZoneInfo(self.timezone))
        return any(w.contains(local) for w in self.windows)


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_seconds: float | None = Field(None, gt=0, le=3600, description="burst window / cooldown per room")
    user_cooldown_seconds: float | None = Field(None, ge=0, le=86400)


class Rule(BaseModel):
    """One auto-reply rule."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=RULE_ID_PATTERN)
    scope: str = Field(GLOBAL_SCOPE, pattern=ROOM_PATTERN, description="a room, or 'global' for every room")
    enabled: bool = True
    priority: int = Field(100, ge=0, le=1_000_000, description="lower wins")
    match: Match
    replies: list[str] = Field(min_length=1, max_length=50)
    choose: Literal["rotation", "random"] = "rotation"
    when_sentiment: list[Literal[SENTIMENTS]] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description="fire only for comments of these sentiments (empty: any); e.g. a cheerful FAQ answer for "
        "[neutral, positive] and an apology for [negative]",
    )
    limits: Limits = Field(default_factory=Limits)
    schedule: Schedule | None = None
    description: str = ""

    @field_validator("replies")
    @classmethod
    def _templates_parse(cls, replies: list[str]) -> list[str]:
        for text in replies:
            if not text.strip():
                raise ValueError("a reply must not be empty")
            if len(text) > 500:
                raise ValueError("a reply is at most 500 characters")
            template_variables(text)
        return replies

    def variables(self, variant: int) -> frozenset[str]:
        """The names a variant needs from the room's variables (the built-in ones left out)."""
        return _parsed(self.replies[variant])[1]


def template_variables(text: str) -> set[str]:
    """Names used as ``{name}`` in a reply template; raises on malformed braces."""
    names = set()
    try:
        for _, field, spec, conv in string.Formatter().parse(text):
            if field is None:
                continue
            if not field.isidentifier() or spec or conv:
                raise ValueError(f"template field {{{field}}} in {text!r}: use plain {{name}} variables")
            names.add(field)
    except ValueError as exc:
        raise ValueError(f"reply template {text!r}: {exc}") from None
    return names


# Templates are parsed on the reply path for every comment that matches their rule (its usable
# variants, the burst body, the reply): string.Formatter().parse was ~2 % of the engine
# thread's CPU at 40 % new texts. A template's names are kept (they change only when rules
# are saved); entries cost their text (measured order of magnitude).
_PARSED: BoundedMemo[str, tuple[frozenset[str], frozenset[str]]] = BoundedMemo(4096, 8 << 20, text_cost(4, 400))


def _parsed(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(names, names less the built-in ones) of a template, parsed once."""
    hit = _PARSED.get(text)
    if hit is None:
        names = frozenset(template_variables(text))
        hit = _PARSED.put(text, (names, names - BUILTIN_VARIABLES))
    return hit


def template_names(text: str) -> frozenset[str]:
    """:func:`template_variables` of a template, parsed once (the reply path's)."""
    return _parsed(text)[0]


def render(text: str, values: dict[str, str]) -> str:
    """Fill a validated template (every variable must be present)."""
    return text.format_map(values)


# A rules document is shallow and plain: bounds on nesting and aliases keep a hostile one
# (50,000 nested lists, a 300-byte "billion laughs" of aliases) from exhausting the worker.
YAML_MAX_DEPTH = 20
YAML_MAX_ALIASES = 50


def _check_yaml_shape(document: str) -> None:
    """Walk the YAML event stream (iterative: no recursion, no expansion) and refuse
    documents nested deeper than ``YAML_MAX_DEPTH`` or with more than ``YAML_MAX_ALIASES`` aliases."""
    depth = aliases = 0
    for event in yaml.parse(document, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > YAML_MAX_DEPTH:
                raise InvalidRuleError(f"rules YAML is nested deeper than {YAML_MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > YAML_MAX_ALIASES:
                raise InvalidRuleError(f"rules YAML uses more than {YAML_MAX_ALIASES} aliases (*name); write the values out")


def parse_rules_yaml(document: str) -> list[Rule]:
    """Rules from a YAML document: a list of rules, or ``{rules: [...]}`` (safe YAML, with
    bounded nesting and aliases)."""
    try:
        _check_yaml_shape(document)
        data = yaml.safe_load(document)
    except yaml.YAMLError as exc:
        raise InvalidRuleError(f"rules YAML does not parse: {exc}") from None
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    if not isinstance(data, list):
        raise InvalidRuleError("rules YAML must be a list of rules or a mapping with a 'rules' list")
    rules = []
    for i, item in enumerate(data):
        try:
            rules.append(Rule.model_validate(item))
        except ValueError as exc:
            raise InvalidRuleError(f"rule #{i} ({(item or {}).get('id', '?') if isinstance(item, dict) else '?'}): {exc}") from None
    return rules


def dump_rules_yaml(rules: list[Rule]) -> str:
    data = {"rules": [r.model_dump(mode="json", exclude_defaults=False) for r in rules]}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
