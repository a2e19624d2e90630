"""Everything a running instance holds: settings, Redis, the analyzer, caches, the engine.

Built once at start-up (``Services.start``) and closed at shutdown; the CLI and tests
build it the same way, so two instances in one test are two ``Services``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import redis
from redis.cluster import RedisCluster

from nlp_service.analysis import Analyzer
from nlp_service.core.config import Settings
from nlp_service.core.ratelimit import KeyRateLimiter
from nlp_service.live.coalesce import Receiver, ReplyCoalescer, text_chars
from nlp_service.live.engine import ReplyEngine
from nlp_service.live.inloop import LoopReplies
from nlp_service.live.prescreen import Prescreen
from nlp_service.live.types import Comment, Outcome
from nlp_service.moderation import pulse
from nlp_service.moderation.detect import configure_memo
from nlp_service.moderation.queue import ModerationQueue
from nlp_service.moderation.spool import Spool
from nlp_service.replies.limits import Limiter
from nlp_service.replies.state import StateCache
from nlp_service.replies.store import seed_rules_once
from nlp_service.store import apikeys
from nlp_service.store.redis import Keys, connect

log = logging.getLogger("nlp_service")


@dataclass
class Services:
    settings: Settings
    client: redis.Redis
    keys: Keys
    analyzer: Analyzer
    state: StateCache
    engine: ReplyEngine
    api_keys: dict[str, apikeys.ApiKey]
    generated_admin_key: str | None = None
    _last_run: dict[str, float] = field(default_factory=dict)
    coalescer: ReplyCoalescer = field(init=False)
    prescreen: Prescreen = field(init=False)
    rate_limiter: KeyRateLimiter = field(init=False)
    _in_loop: LoopReplies | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        s = self.settings
        # a batch holds at most two slices' worth of characters: the engine thread is never held long
        self.coalescer = ReplyCoalescer(
            self.engine.handle, max_batch=s.max_batch, max_chars=2 * s.reply_slice_chars, slice_chars=s.reply_slice_chars,
            room_chars_per_second=s.reply_room_chars_per_second,
        )
        self.prescreen = Prescreen(self.engine.warm, s.reply_prescreen_chars, switch_seconds=s.gil_switch_seconds)  # long comments: their own lane first
        self.rate_limiter = KeyRateLimiter(s.key_requests_per_second, s.key_comments_per_second, s.key_rate_burst_seconds)

    @classmethod
    def start(cls, settings: Settings, client: redis.Redis | None = None, poll: bool = True, analyzer: Analyzer | None = None) -> Services:
        """Connect and load. ``analyzer``: one loaded before (``serve --workers N`` loads it
        once in the process the workers are forked from, so they share its memory)."""
        client = client if client is not None else connect(settings)
        keys = Keys(settings.key_prefix)
        configure_memo(settings.moderation_memo_size, settings.moderation_memo_bytes)
        analyzer = analyzer if analyzer is not None else Analyzer.load(settings)
        seeded = seed_rules_once(client, keys, settings.seed_rules_file)
        if seeded:
            log.info("loaded %d seed rules from %s", seeded, settings.seed_rules_file)
        admin = settings.admin_key.get_secret_value() if settings.admin_key else None
        generated = apikeys.ensure_admin(client, keys, admin)
        state = StateCache(client, keys, settings)
        services = cls(
            settings=settings,
            client=client,
            keys=keys,
            analyzer=analyzer,
            state=state,
            engine=ReplyEngine(analyzer, state, Limiter(client, keys, settings.room_keep_seconds), ModerationQueue(client, keys, settings), Spool(settings.spool_file)),
            api_keys=apikeys.load_keys(client, keys),
            generated_admin_key=generated,
        )
        state.on_change(lambda _v: services.reload_keys())
        state.on_tick(services.replay_spool)
        state.on_tick(services.check_pulse)
        state.on_tick(services.post_bursts)
        state.on_tick(services.trim_queues)
        if poll:
            state.start()
            services.engine.recorder.start()
        return services

    def replay_spool(self) -> int:
        """Move spooled flagged comments into the streams once Redis answers (poll thread)."""
        spool = self.engine.spool
        if not spool.pending():
            return 0
        queued = spool.replay(self.engine.queue, self.engine.queue_config, int(time.time() * 1000))
        log.info("replayed the moderation spool: %d comments queued", queued)
        return queued

    def _due(self, task: str, every_seconds: float) -> bool:
        """True at most once every ``every_seconds`` per task (poll-thread chores)."""
        now = time.monotonic()
        if now - self._last_run.get(task, float("-inf")) < every_seconds:
            return False
        self._last_run[task] = now
        return True

    def check_pulse(self, every_seconds: float = 5.0) -> list[dict]:
        """Mood-spike check of the active rooms, at most every ``every_seconds`` (poll thread)."""
        if not self._due("pulse", every_seconds):
            return []
        script = (self.engine.standard_answers.get("mood_spike") or [None])[0]
        return pulse.check_active_rooms(self.client, self.keys, script)

    def post_bursts(self) -> int:
        """Post the reply bursts of closed windows (poll thread, every tick: a burst is due
        one window after the question that opened it)."""
        return self.engine.post_due_bursts()

    def trim_queues(self, every_seconds: float = 60.0) -> int:
        """Cap the moderation streams (decided items only; see ``ModerationQueue.trim``)."""
        if not self._due("trim", every_seconds):
            return 0
        queue = self.engine.queue
        return sum(queue.trim(room) for room in queue.rooms())

    def reload_keys(self) -> None:
        self.api_keys = apikeys.load_keys(self.client, self.keys)

    def ready(self) -> tuple[bool, str]:
        try:
            self.client.ping()
        except redis.RedisError as exc:
            return False, f"redis: {exc}"
        return True, "ok"

    async def reply(self, comments: list[Comment]) -> list[Outcome]:
        """The outcomes of a reply request: its long comments through the prescreen lane,
        then the shared batches (``live/coalesce.py``)."""
        await self.prescreen.ready(comments)
        return await self.coalescer.submit(comments)

    def reply_to(self, comments: list[Comment], loop: asyncio.AbstractEventLoop, receiver: Receiver) -> bool:
        """:meth:`reply` without a coroutine to await: the outcomes go to ``receiver`` in a
        callback on ``loop``, where the HTTP protocol writes the response (``api/direct.py``).
        False, with nothing queued, for a request that must take :meth:`reply`: one with long
        comments (the prescreen lane first) or one cut into slices."""
        if self.prescreen.long(comments):
            return False
        s = self.settings
        # on the event loop (live/inloop.py), but for a cluster client (a round trip per node,
        # read by redis-py) and a request cut into slices (the coalescer interleaves rooms)
        if not s.reply_in_loop or isinstance(self.client, RedisCluster) or text_chars(comments) > s.reply_slice_chars:
            return self.coalescer.submit_to(comments, loop, receiver)
        in_loop = self._in_loop
        if in_loop is None or in_loop.loop is not loop:  # one per event loop (a server has one)
            in_loop = self._in_loop = LoopReplies(self.engine, loop, s.max_batch, 2 * s.reply_slice_chars, s.redis_reply_timeout_seconds)
        in_loop.submit(comments, receiver)
        return True

    def close(self) -> None:
        if self._in_loop is not None:
            self._in_loop.close()
        self.prescreen.close()
        self.coalescer.close()
        self.state.stop()
        self.engine.recorder.stop()
