"""Room pulse (舆情 during the show): per-minute mood in Redis, and mood-spike alerts.

Every reply request adds its comments to per-minute counters of the room (comment count,
sentiment shares, intent counts, controversy = comments flagged complaint or fraud_claim)
and the keywords of its negative comments, in the same pipeline as the rest of the
request. Minutes are the comment's own time (``ts``), so a replayed show keeps its shape.

The spike rule judges every minute that got comments, as it closes (by the state-poll
thread, :func:`check_active_rooms`): the room keeps the set of its minutes with comments
and the set of minutes not judged since they last got comments. Each unjudged minute is
judged; one older than the room's newest minute is complete and leaves the set, the newest
is judged again on the next round while it fills. So a replayed show (many minutes pass
between two polls) and a room with history (the replay's minutes are not its newest) both
alert on their spike minutes, and a marker per minute keeps any minute from alerting twice.
A minute spikes when it has at least ``MIN_COMMENTS`` comments, its baseline is the mean
of the room's previous ``BASELINE_MINUTES`` minutes that had comments (at least
``MIN_BASELINE_MINUTES`` of them), and either

* the negative share is at least ``max(2 × baseline, baseline + 0.20)``, or
* the controversy rate is at least ``max(3 × baseline, baseline + 0.10)``.

Ratios catch a jump in a calm room, the absolute margins keep a tiny baseline (1 % → 2 %)
from alerting. A raised alert is published on the room's alerts channel and put in the
room's urgent moderation stream (pulled before the normal queue) with example comments,
the top negative words of the last five minutes and a standard script for the host.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import redis

from nlp_service.store import actions
from nlp_service.store.pipeline import queue_all
from nlp_service.store.redis import Keys

MIN_COMMENTS = 20
BASELINE_MINUTES = 10
MIN_BASELINE_MINUTES = 3
NEGATIVE_RATIO, NEGATIVE_MARGIN = 2.0, 0.20
CONTROVERSY_RATIO, CONTROVERSY_MARGIN = 3.0, 0.10
KEEP_SECONDS = 12 * 3600  # a show, with room to spare
URGENT_KEEP_SECONDS = 7 * 86400  # an undecided mood_spike item: as long as the room's queue (Settings.room_keep_seconds default)


# slots, not frozen: built for every comment on the reply path, and a frozen dataclass's
# __init__ cost 1.4 µs against ~0.3 µs (timeit); nothing changes an event once built.
@dataclass(slots=True)
class PulseEvent:
    """What the pulse needs of one analysed comment."""

    minute: int  # epoch minute of the comment
    sentiment: str
    intent: str
    controversial: bool
    negative_keywords: tuple[str, ...]
    example: dict | None  # the comment, kept when it is negative


def queue_updates(pipe, keys: Keys, room: str, events: Iterable[PulseEvent]) -> None:
    """Add one request's comments of a room to its minute counters (on ``pipe``)."""
    counts, words, examples = tally(events)
    # the argument tuples of redis-py's hincrby/expire/zadd/zincrby/lpush/ltrim, queued
    # through store/pipeline.queue_all (same commands and bytes, without the per-method layers)
    commands: list[tuple] = []
    add = commands.append
    for minute, c in counts.items():
        key = keys.pulse(room, minute)
        for field, value in c.items():
            if value:
                add(("HINCRBY", key, field, value))
        add(("EXPIRE", key, KEEP_SECONDS))
        add(("ZADD", keys.active_rooms(), b"GT", minute, room))
    if counts:
        touched = [x for m in counts for x in (m, str(m))]  # ZADD's score, member pairs
        for key in (keys.pulse_minutes(room), keys.pulse_unjudged(room)):
            add(("ZADD", key, *touched))
            add(("EXPIRE", key, KEEP_SECONDS))
    for minute, w in words.items():
        key = keys.pulse_negative_words(room, minute)
        for word, value in w.items():
            add(("ZINCRBY", key, value, word))
        add(("EXPIRE", key, KEEP_SECONDS))
    if examples:
        key = keys.pulse_examples(room)
        add(("LPUSH", key, *examples))
        add(("LTRIM", key, 0, 49))
        add(("EXPIRE", key, KEEP_SECONDS))
    queue_all(pipe, commands)


_example_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(x, ensure_ascii=False) without its wrapper


def tally(events: Iterable[PulseEvent]) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]], list[str]]:
    """Per minute: the counters' increments and the negative words' counts; the examples' JSON.

    Plain dicts filled in the order a ``Counter`` per minute was (``n``, the sentiment, the
    intent, ``controversy``, then each new label as it first comes), so the same commands
    follow; ``Counter``'s ``__missing__`` and ``update`` are Python calls, and this ran at
    27 µs for a batch of 8 comments against 12 µs now (timeit; tested equal)."""
    counts: dict[int, dict[str, int]] = {}
    words: dict[int, dict[str, int]] = {}
    examples = []
    for e in events:
        minute = e.minute
        sentiment, intent = "sentiment:" + e.sentiment, "intent:" + e.intent
        c = counts.get(minute)
        if c is None:
            counts[minute] = {"n": 1, sentiment: 1, intent: 1, "controversy": int(e.controversial)}
        else:
            c["n"] += 1
            c[sentiment] = c.get(sentiment, 0) + 1
            c[intent] = c.get(intent, 0) + 1
            c["controversy"] += e.controversial
        if e.negative_keywords:
            w = words.get(minute)
            if w is None:
                w = words[minute] = {}
            for word in e.negative_keywords:
                w[word] = w.get(word, 0) + 1
        if e.example is not None:
            examples.append(_example_json(e.example))
    return counts, words, examples


def minutes(client: redis.Redis, keys: Keys, room: str, last_minute: int, count: int) -> list[tuple[int, dict[str, int]]]:
    """The room's counters for ``count`` minutes ending at ``last_minute``, oldest first."""
    pipe = client.pipeline(transaction=False)
    span = list(range(last_minute - count + 1, last_minute + 1))
    for m in span:
        pipe.hgetall(keys.pulse(room, m))
    return [(m, {k: int(v) for k, v in raw.items()}) for m, raw in zip(span, pipe.execute(), strict=True)]


def shares(c: dict[str, int]) -> tuple[float, float]:
    n = c.get("n", 0)
    return (c.get("sentiment:negative", 0) / n, c.get("controversy", 0) / n) if n else (0.0, 0.0)


def spike(series: list[tuple[int, dict[str, int]]]) -> dict | None:
    """Apply the spike rule to the newest minute of ``series`` (see the module docstring)."""
    (minute, now), history = series[-1], [c for _, c in series[:-1] if c.get("n")]
    if now.get("n", 0) < MIN_COMMENTS or len(history) < MIN_BASELINE_MINUTES:
        return None
    neg_now, con_now = shares(now)
    base_neg = sum(shares(c)[0] for c in history) / len(history)
    base_con = sum(shares(c)[1] for c in history) / len(history)
    reasons = []
    if neg_now >= max(NEGATIVE_RATIO * base_neg, base_neg + NEGATIVE_MARGIN):
        reasons.append(f"negative share {neg_now:.0%} vs baseline {base_neg:.0%}")
    if con_now >= max(CONTROVERSY_RATIO * base_con, base_con + CONTROVERSY_MARGIN):
        reasons.append(f"complaint/fraud rate {con_now:.0%} vs baseline {base_con:.0%}")
    if not reasons:
        return None
    return {"minute": minute, "comments": now["n"], "negative_share": round(neg_now, 4), "controversy_rate": round(con_now, 4),
            "baseline_negative_share": round(base_neg, 4), "baseline_controversy_rate": round(base_con, 4), "why": "; ".join(reasons)}  # fmt: skip


def top_negative_words(client: redis.Redis, keys: Keys, room: str, last_minute: int, minutes_back: int = 5, k: int = 10) -> list[tuple[str, int]]:
    pipe = client.pipeline(transaction=False)
    for m in range(last_minute - minutes_back + 1, last_minute + 1):
        pipe.zrange(keys.pulse_negative_words(room, m), 0, -1, withscores=True)
    total: Counter = Counter()
    for rows in pipe.execute():
        for word, score in rows:
            total[word] += int(score)
    return total.most_common(k)


def history(client: redis.Redis, keys: Keys, room: str, minute: int) -> list[tuple[int, dict[str, int]]]:
    """``minute``'s counters after those of the room's previous ``BASELINE_MINUTES`` minutes
    that had comments, oldest first (the input of :func:`spike`)."""
    before = client.zrevrangebyscore(keys.pulse_minutes(room), minute - 1, "-inf", start=0, num=BASELINE_MINUTES)
    span = [int(m) for m in reversed(before)] + [minute]
    pipe = client.pipeline(transaction=False)
    for m in span:
        pipe.hgetall(keys.pulse(room, m))
    return [(m, {k: int(v) for k, v in raw.items()}) for m, raw in zip(span, pipe.execute(), strict=True)]


def check_room(client: redis.Redis, keys: Keys, room: str, minute: int, script: str | None) -> dict | None:
    """Raise a mood_spike alert for ``minute`` if the rule says so (once per minute)."""
    alert = spike(history(client, keys, room, minute))
    if alert is None:
        return None
    if not client.set(keys.pulse_alerted(room, minute), "1", nx=True, ex=KEEP_SECONDS):
        return None
    examples = [json.loads(x) for x in client.lrange(keys.pulse_examples(room), 0, 4)]
    alert.update(
        kind="mood_spike", room=room, raised_at=int(time.time() * 1000),
        top_negative_words=top_negative_words(client, keys, room, minute), examples=examples, suggested_reply=script,
    )  # fmt: skip
    payload = json.dumps(alert, ensure_ascii=False)
    record = {"id": f"mood_spike:{minute}", "room": room, "user": "", "nickname": "", "text": alert["why"], "ts": minute * 60_000}
    moderation = {"action": "review", "categories": ["mood_spike"], "terms": [], "score": alert["negative_share"], "suggested_reply": script, "alert": alert}
    pipe = client.pipeline()
    pipe.xgroup_create(keys.urgent_stream(room), "moderators", id="0", mkstream=True)
    pipe.execute(raise_on_error=False)
    pipe = client.pipeline()
    pipe.xadd(keys.urgent_stream(room), {"record": json.dumps(record, ensure_ascii=False), "moderation": json.dumps(moderation, ensure_ascii=False)})
    pipe.expire(keys.urgent_stream(room), URGENT_KEEP_SECONDS)
    pipe.sadd(keys.mod_rooms(), room)
    pipe.publish(keys.alerts_channel(room), payload)
    actions.append(pipe, keys, room, "host_alert", {"alert": alert})
    pipe.lpush(keys.pulse_alerts(room), payload)
    pipe.ltrim(keys.pulse_alerts(room), 0, 99)
    pipe.expire(keys.pulse_alerts(room), KEEP_SECONDS)
    pipe.execute()
    return alert


def judge_room(client: redis.Redis, keys: Keys, room: str, script: str | None) -> list[dict]:
    """Judge every minute of the room that got comments since it was last judged (see the
    module docstring); complete minutes leave the unjudged set."""
    unjudged = sorted(int(m) for m in client.zrange(keys.pulse_unjudged(room), 0, -1))
    if not unjudged:
        return []
    newest = client.zrevrange(keys.pulse_minutes(room), 0, 0)
    newest_minute = int(newest[0]) if newest else unjudged[-1]
    alerts = []
    for minute in unjudged:
        alert = check_room(client, keys, room, minute, script)
        if alert:
            alerts.append(alert)
    done = [str(m) for m in unjudged if m < newest_minute]
    if done:
        client.zrem(keys.pulse_unjudged(room), *done)
    return alerts


def check_active_rooms(client: redis.Redis, keys: Keys, script: str | None, limit: int = 1000) -> list[dict]:
    """Judge the unjudged minutes of the rooms with the most recent comments (poll thread)."""
    alerts = []
    for room in client.zrevrange(keys.active_rooms(), 0, limit - 1):
        alerts += judge_room(client, keys, room, script)
    return alerts


def raised(client: redis.Redis, keys: Keys, room: str, count: int = 100) -> list[dict]:
    """The room's raised alerts, newest first."""
    return [json.loads(x) for x in client.lrange(keys.pulse_alerts(room), 0, count - 1)]


def _minute_view(minute: int, c: dict[str, int], words: list[tuple[str, float]], alerted: bool, tz: ZoneInfo) -> dict:
    n = c.get("n", 0)
    counts = {label: c.get("sentiment:" + label, 0) for label in ("positive", "neutral", "negative")}
    intents = sorted(((k.split(":", 1)[1], v) for k, v in c.items() if k.startswith("intent:") and v), key=lambda x: (-x[1], x[0]))
    return {
        "minute": dt.datetime.fromtimestamp(minute * 60, tz).isoformat(),
        "ts": minute * 60_000,
        "comments": n,
        "sentiment": counts,
        "shares": {**{k: round(v / n, 4) if n else 0.0 for k, v in counts.items()}, "controversy": round(c.get("controversy", 0) / n, 4) if n else 0.0},
        "controversial": c.get("controversy", 0),
        "top_intents": [{"intent": i, "count": v} for i, v in intents[:5]],
        "negative_words": [{"word": w, "count": int(v)} for w, v in words[:5]],
        "alert": alerted,
    }


def dashboard(client: redis.Redis, keys: Keys, room: str, count: int, tz: ZoneInfo) -> dict:
    """The room's last ``count`` minutes that had comments, read like a dashboard: shares,
    counts, top intents and negative words per minute, ISO 8601 times in ``tz``, and the
    alerts raised (newest first)."""
    recent = sorted(int(m) for m in client.zrevrange(keys.pulse_minutes(room), 0, count - 1))
    pipe = client.pipeline(transaction=False)
    for m in recent:
        pipe.hgetall(keys.pulse(room, m))
        pipe.zrevrange(keys.pulse_negative_words(room, m), 0, 4, withscores=True)
        pipe.exists(keys.pulse_alerted(room, m))
    raw = pipe.execute()
    minutes_out = [
        _minute_view(m, {k: int(v) for k, v in raw[3 * i].items()}, raw[3 * i + 1], bool(raw[3 * i + 2]), tz) for i, m in enumerate(recent)
    ]
    alerts = raised(client, keys, room)
    for a in alerts:
        a["minute_iso"] = dt.datetime.fromtimestamp(a["minute"] * 60, tz).isoformat()
    last = recent[-1] if recent else None
    return {
        "room": room,
        "timezone": str(tz),
        "minutes": minutes_out,
        "alerts": alerts,
        "top_negative_words": [{"word": w, "count": c} for w, c in top_negative_words(client, keys, room, last)] if last is not None else [],
    }
