"""Room pulse on a replayed show with a planted shipping-complaint spike (minutes 13–14)."""

import json
from itertools import groupby

from nlp_service.live.types import Comment
from nlp_service.moderation import pulse


def test_spike_rule_needs_volume_and_a_baseline() -> None:
    calm = {"n": 40, "sentiment:negative": 4, "controversy": 1}
    angry = {"n": 40, "sentiment:negative": 20, "controversy": 10}
    assert pulse.spike([(1, calm), (2, calm), (3, calm), (4, angry)])["minute"] == 4
    assert pulse.spike([(1, calm), (2, calm), (3, {"n": 5, "sentiment:negative": 5})]) is None  # too few comments
    assert pulse.spike([(1, calm), (2, angry)]) is None  # no baseline yet
    assert pulse.spike([(1, calm), (2, calm), (3, calm), (4, calm)]) is None


def test_replayed_room_raises_one_alert_at_the_planted_spike(svc, settings) -> None:
    lines = (settings.data_dir / "replay" / "sample_room.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(x) for x in lines]
    start_minute = rows[0]["ts"] // 60_000
    pubsub = svc.client.pubsub()
    pubsub.subscribe(svc.keys.alerts_channel("demo-room"))
    alerts = []
    for minute, group in groupby(rows, key=lambda r: r["ts"] // 60_000):
        batch = [Comment(r["id"], r["room"], r["user"], r["nickname"], r["text"], r["ts"]) for r in group]
        for i in range(0, len(batch), 200):
            svc.engine.handle(batch[i : i + 200], now_ms=batch[0].ts)
        alert = pulse.check_room(svc.client, svc.keys, "demo-room", minute, "主播安抚话术")
        if alert:
            alerts.append(minute - start_minute)
    assert alerts and alerts[0] in (13, 14), alerts
    assert all(m >= 13 for m in alerts)
    # the alert is at the head of the room's queue, with examples and the top complaint words
    [item] = svc.engine.queue.pull(["demo-room"], "alice", 1, 0, claim_ms=60_000)
    assert item.moderation["categories"] == ["mood_spike"] and item.item_id.startswith("demo-room~urgent~")
    alert = item.moderation["alert"]
    assert alert["examples"] and alert["top_negative_words"] and alert["suggested_reply"] == "主播安抚话术"
    # readiness poll (the subscribe confirmation comes first): the count only guards a hang
    published = next((m for m in (pubsub.get_message(timeout=0.5) for _ in range(120)) if m and m["type"] == "message"), None)
    assert published is not None and json.loads(published["data"])["kind"] == "mood_spike"
    decision, applied = svc.engine.queue.decide(item.item_id, "alice", "reply", reply_text="家人们久等了")
    assert applied


def test_same_room_without_the_spike_raises_nothing(svc, settings) -> None:
    lines = (settings.data_dir / "replay" / "sample_room.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(x) for x in lines]
    start_minute = rows[0]["ts"] // 60_000
    calm = [r for r in rows if not 13 <= r["ts"] // 60_000 - start_minute <= 17]  # cut the planted spike out
    for minute, group in groupby(calm, key=lambda r: r["ts"] // 60_000):
        batch = [Comment(r["id"], r["room"], r["user"], r["nickname"], r["text"], r["ts"]) for r in group]
        svc.engine.handle(batch, now_ms=batch[0].ts)
        assert pulse.check_room(svc.client, svc.keys, "demo-room", minute, None) is None, minute - start_minute


def _rows(settings) -> list[dict]:
    lines = (settings.data_dir / "replay" / "sample_room.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines]


def _send(svc, rows, shift_ms: int = 0, room: str = "demo-room") -> None:
    batch = [Comment(f"{r['id']}-{shift_ms}", room, r["user"], r["nickname"], r["text"], r["ts"] + shift_ms) for r in rows]
    for i in range(0, len(batch), 500):
        svc.engine.handle(batch[i : i + 500], now_ms=batch[i].ts)


def test_a_show_replayed_at_once_alerts_on_its_spike_minutes_only(svc, settings) -> None:
    """Every completed minute is judged, not only the newest: the whole show arrives between two checks."""
    rows = _rows(settings)
    start_minute = rows[0]["ts"] // 60_000
    _send(svc, rows)
    alerts = pulse.check_active_rooms(svc.client, svc.keys, None)
    spiked = sorted(a["minute"] - start_minute for a in alerts)
    assert spiked and set(spiked) <= {13, 14, 15}, spiked
    assert pulse.check_active_rooms(svc.client, svc.keys, None) == []  # no minute alerts twice
    feed = [a for a in svc.client.xrange(svc.keys.actions("demo-room"))]
    assert len(feed) == len(spiked) and all(f["kind"] == "host_alert" for _, f in feed)


def test_a_replay_into_a_room_with_history_alerts_at_the_planted_minutes(svc, settings) -> None:
    rows = _rows(settings)
    calm = [r for r in rows if not 12 <= (r["ts"] - rows[0]["ts"]) // 60_000 <= 17]
    day = 24 * 3600 * 1000
    _send(svc, calm, shift_ms=day)  # the room's live history: a calm show, a day LATER than the replay
    assert pulse.check_active_rooms(svc.client, svc.keys, None) == []
    _send(svc, rows)  # the recorded show with its spike, replayed into the same room
    alerts = pulse.check_active_rooms(svc.client, svc.keys, None)
    start_minute = rows[0]["ts"] // 60_000
    spiked = sorted(a["minute"] - start_minute for a in alerts)
    assert spiked and set(spiked) <= {13, 14, 15}, spiked
