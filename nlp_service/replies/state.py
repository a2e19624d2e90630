"""Per-instance cache of the shared state, refreshed when the Redis state version moves.

A background thread reads one integer (the state version) every ``state_poll_seconds``;
when it changed, rooms reload lazily on their next comment (one pipelined round trip per
room per change). Steady state costs the reply path no Redis call at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from nlp_service.core import metrics
from nlp_service.core.config import Settings
from nlp_service.core.errors import StoreUnavailableError
from nlp_service.core.memo import BoundedMemo
from nlp_service.core.periodic import PeriodicThread
from nlp_service.moderation.lexicon import Lexicon
from nlp_service.moderation.lists import build_lexicon, scope_changes
from nlp_service.replies.matcher import CompiledRules, effective_rules
from nlp_service.replies.store import room_config, room_state
from nlp_service.store.redis import GLOBAL, Keys
from nlp_service.store.version import state_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoomSettings:
    bot_user: str | None
    budget_ms: int
    window_ms: int
    max_mentions: int


@dataclass(frozen=True)
class RoomSnapshot:
    version: int
    rules: CompiledRules
    variables: dict[str, str]
    settings: RoomSettings
    lexicon: Lexicon
    banned: dict[str, int]  # user → ban expiry, epoch ms
    # rule id → its usable variants with these variables (live/decide.usable_of), filled as
    # rules match: a snapshot's rules and variables never change
    usable: dict = field(default_factory=dict, compare=False, repr=False)

    def is_banned(self, user: str, now_ms: int) -> bool:
        until = self.banned.get(user)
        return until is not None and until > now_ms


class StateCache:
    def __init__(self, client: redis.Redis, keys: Keys, settings: Settings) -> None:
        self.client = client
        self.keys = keys
        self.settings = settings
        self.version = state_version(client, keys)
        # bounded by rooms only (cost 1 each): a snapshot's size is its rules, which the entry bound keeps sane
        self._rooms: BoundedMemo[str, RoomSnapshot] = BoundedMemo.of_entries(10_000, 1)
        self._lock = threading.Lock()
        self._poller = PeriodicThread("state-poll", settings.state_poll_seconds, self._tick)
        self._listeners: list[Callable[[int], None]] = []
        self._tick_listeners: list[Callable[[], None]] = []

    # --- polling ---------------------------------------------------------------------
    def start(self) -> None:
        self._poller.start()

    def stop(self) -> None:
        self._poller.stop()

    def on_change(self, listener: Callable[[int], None]) -> None:
        self._listeners.append(listener)

    def on_tick(self, listener: Callable[[], None]) -> None:
        """Run ``listener`` on every poll tick (spool replay uses it)."""
        self._tick_listeners.append(listener)

    def refresh(self) -> bool:
        """Read the version now; True when it moved. Cached rooms are rebuilt off to the side
        (here, not in request threads) and swapped in before the new version is published."""
        version = state_version(self.client, self.keys)
        if version == self.version:
            return False
        rebuilt, broken = {}, []
        for room in self._rooms.keys():
            try:
                rebuilt[room] = self._build(room, version)
            except (redis.ConnectionError, redis.TimeoutError):
                raise  # Redis away: keep serving from the cache, the next tick retries
            except Exception:  # one bad record must not stop rules, keys and revocations reaching every room
                log.exception("state refresh: room %r could not be rebuilt; it is rebuilt on its next comment", room)
                metrics.STATE_ERRORS.inc()
                broken.append(room)
        with self._lock:
            for room, snap in rebuilt.items():
                self._rooms.put(room, snap)
            for room in broken:
                self._rooms.discard(room)
            self.version = version
        for listener in self._listeners:
            listener(version)
        return True

    def _tick(self) -> None:
        self.refresh()  # on a Redis error we keep serving from the cache; the next tick retries
        for listener in self._tick_listeners:
            listener()

    # --- rooms -----------------------------------------------------------------------
    def room(self, room: str) -> RoomSnapshot:
        """The room's compiled rules, variables and settings for the current version."""
        snap = self._rooms.get(room)
        version = self.version
        if snap is not None and snap.version == version:
            return snap
        try:
            snap = self._build(room, version)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if snap is not None:  # Redis away: the room's last rules beat no answer
                return snap
            # a room this instance never loaded: a clear 503 for this request alone (the
            # coalescer reruns the others of its batch on their own), not a 500
            raise StoreUnavailableError(f"Redis is unreachable and room {room!r} was never loaded here; retry") from exc
        with self._lock:
            self._rooms.put(room, snap)
        return snap

    def _build(self, room: str, version: int) -> RoomSnapshot:
        global_rules, room_rules, variables, cfg = room_state(self.client, self.keys, room)
        changes = scope_changes(self.client, self.keys, [GLOBAL, room] if room != GLOBAL else [GLOBAL])
        banned = {u: int(float(t)) for u, t in self.client.hgetall(self.keys.banned(room)).items()}
        s = self.settings
        cfg = room_config(cfg, room)  # stored values that no longer validate fall back to the defaults
        settings = RoomSettings(
            bot_user=cfg.bot_user or None,
            budget_ms=max(1, int(1000 / (cfg.budget_per_second or s.reply_budget_per_second))),
            window_ms=int(1000 * (cfg.window_seconds or s.reply_window_seconds)),
            max_mentions=cfg.max_mentions or s.reply_max_mentions,
        )
        compiled = CompiledRules(effective_rules(global_rules, room_rules), s.regex_timeout_seconds)
        lexicon = build_lexicon(s.data_dir, [changes[k] for k in changes])
        return RoomSnapshot(version, compiled, variables, settings, lexicon, banned)
