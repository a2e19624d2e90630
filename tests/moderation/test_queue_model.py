"""The eval's in-memory grouping (``queue_model.QueueGroups``) leaves as many items as the
observe script leaves in Redis for the same stream: the sample room replayed through the
engine on comment time, flood counting off (the eval sees moderation alone)."""

import json
from itertools import groupby

import pytest

from nlp_service.live.services import Services
from nlp_service.live.types import Comment
from nlp_service.moderation.evaluate import StreamComment, evaluate_queue
from nlp_service.moderation.queue_model import QueueGroups


@pytest.fixture
def svc(rclient, svc_settings):
    s = Services.start(svc_settings.model_copy(update={"flood_max_repeats": 100}), rclient, poll=False)
    yield s
    s.close()


def test_the_eval_counts_the_items_the_queue_holds_after_a_replay(svc, analyzer, model, settings) -> None:
    rows = [json.loads(x) for x in (settings.data_dir / "replay" / "sample_room.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    for _minute, minute_rows in groupby(rows, key=lambda r: r["ts"] // 60_000):
        batch = [Comment(r["id"], r["room"], r["user"], r["nickname"], r["text"], r["ts"]) for r in minute_rows]
        for i in range(0, len(batch), 200):
            svc.engine.handle(batch[i : i + 200], now_ms=batch[i].ts)
    svc.engine.recorder.flush()
    s = svc.settings
    expected = evaluate_queue(analyzer, (StreamComment(r["text"], r["ts"], r["room"], r["user"]) for r in rows), model, s.queue_group_seconds, s.queue_group_max)
    room = rows[0]["room"]
    assert svc.client.xlen(svc.keys.mod_stream(room)) == expected["items"]
    held = svc.engine.queue.pull([room], "alice", 1000, 0, claim_ms=60_000)
    assert sum(i.repeats for i in held) == expected["queued"]  # every flagged comment is in one item
    assert max(i.repeats for i in held) == expected["largest_items"][0]["repeats"]


def test_the_cap_and_the_window_as_the_script_applies_them() -> None:
    g = QueueGroups(window_ms=1_000, group_max=2)
    for ts in (0, 500, 900, 5_000):
        g.add("r", "骗子", "review", ts)
    g.add("r", "骗子", "block", 5_100)
    assert [i.repeats for i in g.items] == [2, 1, 1, 1]
    off = QueueGroups(0, 50)
    for ts in (0, 1):
        off.add("r", "骗子", "review", ts)
    assert [i.repeats for i in off.items] == [1, 1]
