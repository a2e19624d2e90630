"""End to end: `nlp-service serve` with the embedded Redis, then `nlp-service replay` against it."""

import json
import re
import subprocess
import sys

import httpx
import pytest

from tests.processes import ROOT, gone, poll, serve_env, start_serve


@pytest.fixture
def served(tmp_path):
    env = serve_env(tmp_path)
    proc, url, log = start_serve(tmp_path, env)

    def ready() -> bool:
        try:
            return proc.poll() is not None or httpx.get(url + "/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    redis_pid = None
    try:
        poll(ready)
        log.seek(0)
        output = log.read()
        assert proc.poll() is None, output
        match = re.search(r"\b(nlps_[A-Za-z0-9_\-]+)", output)
        assert match, output
        redis_pid = int(re.search(r"embedded Redis \(pid (\d+)\)", output).group(1))
        yield url, match.group(1), env, tmp_path
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert redis_pid is not None and gone(redis_pid)  # `serve` stops its embedded Redis when it stops


def test_embedded_service_prints_admin_key_and_replays_a_room(served) -> None:
    url, admin_key, env, tmp_path = served
    admin = {"Authorization": f"Bearer {admin_key}"}
    assert (tmp_path / "var" / "redis").is_dir()  # the embedded Redis keeps its file there
    rules = httpx.get(url + "/v1/rules", headers=admin).json()["rules"]
    assert {"lottery", "coupon", "link"} <= {r["id"] for r in rules}  # seed rules loaded on first start
    console = httpx.get(url + "/console/moderate")  # `serve` serves the console too, same port
    assert console.status_code == 200 and "script-src 'self'" in console.headers["content-security-policy"]
    variables = {"lottery_time": "8点整", "coupon_code": "LIVE20", "current_link": "3", "courier": "顺丰"}
    httpx.put(url + "/v1/rooms/demo-room/variables", json=variables, headers=admin).raise_for_status()
    # The limits run on the server's clock, so a 10 s window and 1 reply/s made the count
    # depend on how long the replay took (2 replies once). One window for the whole run and
    # a budget that three replies cannot spend make it the same on any machine.
    room_settings = {"bot_user": "bot-self", "window_seconds": 3600, "budget_per_second": 100}
    httpx.put(url + "/v1/rooms/demo-room/settings", json=room_settings, headers=admin).raise_for_status()
    bot = httpx.post(url + "/v1/keys", json={"name": "demo-bot", "role": "bot", "rooms": ["demo-room"]}, headers=admin).json()["key"]
    # the key is the last write: once the server accepts it, it has the variables and settings too
    assert poll(lambda: httpx.get(url + "/v1/rooms/demo-room/actions", headers={"Authorization": f"Bearer {bot}"}).status_code == 200)
    out = subprocess.run(
        [sys.executable, "-m", "nlp_service.cli", "replay", str(ROOT / "data/replay/sample_room.jsonl"),
         "--speed", "0", "--url", url, "--key", bot, "--log", str(tmp_path / "replies.jsonl")],
        env=env, capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout[out.stdout.rindex("\n{") + 1 :])
    assert summary["comments"] >= 2900 and summary["http_errors"] == 0
    log = [json.loads(x) for x in (tmp_path / "replies.jsonl").read_text(encoding="utf-8").splitlines()]
    replied = [r["reply"]["rule_id"] for r in log if r["reply"]]
    assert {"lottery", "coupon", "link"} <= set(replied)
    assert len(replied) == len(set(replied)) == summary["replies"]  # one reply per rule and window
    assert summary["askers_named_in_replies"] >= summary["replies"]
    assert summary["aggregated_into_a_reply"] > 0
    assert "bot →" in out.stdout
    # an aggregated asker is named at most once, and only one that was held back
    assert summary["aggregated_and_named"] + summary["aggregated_not_named"] == len({r["id"] for r in log if r["reason"] in {"aggregated", "mention_cap", "budget"}})
    comments = [r for r in log if r.get("source") != "burst"]  # bursts come from the action feed
    assert len(comments) == summary["comments"]
    named = [x for r in log if r["reply"] for x in r["reply"]["answers"] if x != r["id"]]
    assert len(named) == len(set(named))  # nobody is named twice
    assert set(named) & {r["id"] for r in comments if r["reason"] == "aggregated"}
    print(json.dumps(summary, ensure_ascii=False))
