"""The Redis budget holds: every key a comment writes expires or is capped (README "Production").

A show is run through the engine (questions that get replies and bursts, flagged comments,
a flood, plain chatter), a moderator decides, the pulse judges; then every key in Redis is
read: a key named by a user, a comment, a minute or a rule must carry a TTL no longer than
its setting; only the room's configuration and the shared state may live without one.
"""

import pytest

from nlp_service.live.services import Services
from nlp_service.live.types import Comment
from nlp_service.moderation import pulse
from nlp_service.replies import store
from nlp_service.replies.rules import Rule

NOW = 1764072600000
# families that are configuration or shared state, not per comment: no TTL by design
NO_TTL = {"rules", "vars", "config", "rooms", "state:version", "seeded", "apikeys", "apikeys:bootstrap", "modq:rooms", "pulse:rooms", "banned"}


def _family(key: str) -> str:
    """``svc:{room1}:recent:u3`` → ``recent:u3`` (matched by prefix below)."""
    return ":".join(key.split(":")[2:])


@pytest.fixture
def svc(sclient, svc_settings):
    s = Services.start(svc_settings.model_copy(update={"recent_comments_ttl_seconds": 7200, "room_keep_seconds": 3 * 86400}), sclient, poll=False)
    yield s
    s.close()


def _keys(client) -> list[str]:
    return sorted(client.scan_iter(count=1000))


def test_every_key_a_comment_writes_expires_within_its_setting(svc) -> None:
    rule = Rule.model_validate({"id": "lottery", "match": {"any": ["福袋"]}, "replies": ["福袋8点开"], "limits": {"user_cooldown_seconds": 30, "window_seconds": 1}})
    store.save_rule(svc.client, svc.keys, rule)
    store.set_room_settings(svc.client, svc.keys, "room1", {"budget_per_second": 100})
    svc.state.refresh()
    texts = ["福袋几点开", "主播就是个骗子 卖假货", "加薇信领福利", "今天的衣服好看", "哈哈哈哈"]
    for step in range(3):
        batch = [Comment(f"m{step}-{i}", "room1", f"u{i % 7}", f"n{i % 7}", texts[i % len(texts)], NOW + step * 500) for i in range(30)]
        svc.engine.handle(batch, now_ms=NOW + step * 500)
    svc.engine.recorder.flush(now_ms=NOW + 2000)
    assert svc.engine.post_due_bursts(now_ms=NOW + 5000, rooms=["room1"]) >= 0
    pulse.judge_room(svc.client, svc.keys, "room1", None)
    items = svc.engine.queue.pull(["room1"], "alice", 10, 0, claim_ms=60_000)
    assert items
    svc.engine.queue.decide(items[0].item_id, "alice", "delete", "spam")
    s = svc.settings
    limit = {  # family prefix → the longest TTL it may carry (seconds)
        "recent": s.recent_comments_ttl_seconds, "flood": s.flood_window_seconds, "idem": s.idempotency_seconds,
        "modq:seen": s.moderation_dedupe_seconds, "modq:decided": s.moderation_decision_ttl_seconds,
        "cd": 86400 + 60, "rot": 86400, "budget": 3600, "pulse": pulse.KEEP_SECONDS,
        "modq": s.room_keep_seconds, "audit": s.room_keep_seconds, "actions": s.room_keep_seconds,
        "replylog": s.room_keep_seconds, "counters": s.room_keep_seconds, "waiting": 2 * 3600, "burstbodies": 2 * 3600,
        "feed": s.room_feed_seconds, "modq:shift": 2 * s.shift_seconds,
    }
    seen_families = set()
    for key in _keys(svc.client):
        fam = _family(key)
        if fam in NO_TTL or fam.startswith("lexicon"):
            continue
        ttl = svc.client.ttl(key)
        prefix = next((p for p in sorted(limit, key=len, reverse=True) if fam == p or fam.startswith(p + ":")), None)
        assert prefix is not None, f"{key}: a key family the budget does not know"
        assert 0 < ttl <= limit[prefix], f"{key}: TTL {ttl}, budget {limit[prefix]}"
        seen_families.add(prefix)
    # the families a show writes were all there to be checked
    assert {"recent", "flood", "idem", "modq:seen", "modq:decided", "cd", "pulse", "modq", "audit", "actions", "counters", "feed"} <= seen_families
