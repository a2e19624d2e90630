"""Replay a recorded room through a running service, as the room bot would.

Reads JSONL comments (id, room, user, nickname, text, ts), sends them to
``POST /v1/reply/batch`` in batches that follow the recording's clock (sped up by
``speed``), follows each room's action feed for the reply bursts posted when a window
closes (``GET /v1/rooms/{room}/actions``), and yields what a bot would post; the summary
counts what happened.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx


@dataclass
class ReplaySummary:
    comments: int = 0
    replies: int = 0
    askers_in_replies: int = 0
    named_ids: set = field(default_factory=set)  # comment ids named in another comment's reply
    held_ids: set = field(default_factory=set)  # aggregated / mention_cap / budget: answered only if named
    waiting_ids: set = field(default_factory=set)  # aggregated: named by a reply or by a burst
    reasons: Counter = field(default_factory=Counter)
    errors: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "comments": self.comments,
            "replies": self.replies,
            "askers_named_in_replies": self.askers_in_replies,
            "dropped_by_budget": self.reasons.get("budget", 0),
            "dropped_by_mention_cap": self.reasons.get("mention_cap", 0),
            "aggregated_into_a_reply": self.reasons.get("aggregated", 0),
            "aggregated_and_named": len(self.named_ids & self.held_ids),
            "aggregated_not_named": len(self.held_ids - self.named_ids),
            "dropped_by_user_cooldown": self.reasons.get("user_cooldown", 0),
            "dropped_by_moderation": self.reasons.get("moderation", 0) + self.reasons.get("banned", 0),
            "no_rule_matched": self.reasons.get("no_match", 0),
            "other_reasons": {k: v for k, v in self.reasons.items() if k not in {"budget", "mention_cap", "aggregated", "user_cooldown", "moderation", "banned", "no_match"}},
            "http_errors": self.errors,
            "seconds": round(self.seconds, 2),
        }


def read_comments(path: Path, room: str | None) -> list[dict]:
    comments = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                c = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
            if room:
                c["room"] = room
            comments.append(c)
    return comments


def connect(base_url: str, api_key: str, timeout: float = 10.0) -> httpx.Client:
    """An HTTP client for a running service."""
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout)


def replay(
    comments: list[dict], http: httpx.Client, speed: float = 1.0, batch_window_ms: int = 250,
    summary: ReplaySummary | None = None,
    log: TextIO | None = None,
    settle_seconds: float = 60.0,
    quiet_seconds: float = 12.0,
) -> Iterator[tuple[dict, dict]]:
    """Yield (comment, reply) for every reply, sending comments at ``speed``× the recording
    (0 = as fast as possible) in batches of the comments within ``batch_window_ms``. A burst
    from the action feed is yielded with a stand-in comment ``{"id": "action:<id>", ...}``.
    After the last batch the feed is followed until every aggregated asker is named (at
    most ``settle_seconds``), for the bursts of the windows still open."""
    summary = summary if summary is not None else ReplaySummary()
    start_wall = time.monotonic()
    feeds = _Feeds(http, {c.get("room") for c in comments if c.get("room")})
    t0 = comments[0].get("ts", 0) if comments else 0
    i = 0
    while i < len(comments):
        first_ts = comments[i].get("ts", t0)
        batch = []
        while i < len(comments) and comments[i].get("ts", t0) - first_ts < batch_window_ms and len(batch) < 1000:
            batch.append(comments[i])
            i += 1
        if speed > 0:
            wait = (first_ts - t0) / 1000 / speed - (time.monotonic() - start_wall)
            if wait > 0:
                time.sleep(wait)
        resp = http.post("/v1/reply/batch", json={"comments": batch})
        summary.comments += len(batch)
        if resp.status_code != 200:
            summary.errors += 1
            continue
        yield from feeds.bursts(summary, log)
        for c, r in zip(batch, resp.json()["results"], strict=True):
            if log is not None:  # the reply log `nlp-service report --replies` reads
                log.write(json.dumps({"id": c.get("id"), "room": c.get("room"), "ts": c.get("ts"), "reply": r["reply"], "reason": r["reason"]}, ensure_ascii=False) + "\n")
            if r["reply"]:
                summary.replies += 1
                summary.askers_in_replies += len(r["reply"]["mentions"])
                summary.named_ids.update(x for x in r["reply"].get("answers", ()) if x != c.get("id"))
                yield c, r["reply"]
            else:
                summary.reasons[r["reason"] or "none"] += 1
                if r["reason"] in {"aggregated", "mention_cap", "budget"}:
                    summary.held_ids.add(c.get("id"))
                if r["reason"] == "aggregated":
                    summary.waiting_ids.add(c.get("id"))
    # follow the feed while askers still wait, until no burst came for quiet_seconds (longer
    # than a reply window: a burst whose budget was spent is dropped, never posted)
    deadline = time.monotonic() + settle_seconds
    quiet_until = time.monotonic() + quiet_seconds
    while summary.waiting_ids - summary.named_ids and time.monotonic() < min(deadline, quiet_until):
        before = summary.replies
        yield from feeds.bursts(summary, log, wait_ms=500)
        if summary.replies > before:
            quiet_until = time.monotonic() + quiet_seconds
    summary.seconds = time.monotonic() - start_wall


class _Feeds:
    """The rooms' action feeds, read from where they stood when the replay began."""

    def __init__(self, http: httpx.Client, rooms: set[str]) -> None:
        self.http = http
        self.cursors: dict[str, str] = {}
        for room in sorted(rooms):
            resp = http.get(f"/v1/rooms/{room}/actions", params={"after": "$"})
            if resp.status_code == 200:  # an analyst key cannot read the feed: no bursts then
                self.cursors[room] = resp.json()["last_id"]

    def bursts(self, summary: ReplaySummary, log: TextIO | None, wait_ms: int = 0) -> Iterator[tuple[dict, dict]]:
        for room, after in self.cursors.items():
            resp = self.http.get(f"/v1/rooms/{room}/actions", params={"after": after, "count": 1000, "wait_ms": wait_ms})
            if resp.status_code != 200:
                summary.errors += 1
                continue
            body = resp.json()
            self.cursors[room] = body["last_id"]
            for a in body["actions"]:
                if a["kind"] != "post_text" or a.get("source") != "burst":
                    continue
                reply = {"text": a["text"], "rule_id": a.get("rule_id"), "mentions": a.get("mentions", []), "answers": a.get("reply_to", [])}
                stand_in = {"id": "action:" + a["id"], "room": room, "ts": a["at"], "user": "(burst)", "nickname": "(burst)", "text": "(window closed)"}
                if log is not None:
                    log.write(json.dumps({"id": stand_in["id"], "room": room, "ts": a["at"], "reply": reply, "reason": None, "source": "burst"}, ensure_ascii=False) + "\n")
                summary.replies += 1
                summary.askers_in_replies += len(reply["mentions"])
                summary.named_ids.update(reply["answers"])
                yield stand_in, reply
