"""End to end: `nlp-service serve` with the embedded Redis, then `nlp-service replay` against it."""

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "NLP_SERVICE_ADMIN_KEY"}}
    env.update({"NLP_SERVICE_VAR_DIR": str(tmp_path / "var"), "NLP_SERVICE_CACHE_DIR": str(tmp_path / "cache")})
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nlp_service.cli", "serve", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        log.seek(0)
        output = log.read()
        assert proc.poll() is None, output
        match = re.search(r"\b(nlps_[A-Za-z0-9_\-]+)", output)
        assert match, output
        yield url, match.group(1), env, tmp_path
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_embedded_service_prints_admin_key_and_replays_a_room(served) -> None:
    url, admin_key, env, tmp_path = served
    admin = {"Authorization": f"Bearer {admin_key}"}
    assert (tmp_path / "var" / "redis").is_dir()  # the embedded Redis keeps its file there
    rules = httpx.get(url + "/v1/rules", headers=admin).json()["rules"]
    assert {"lottery", "coupon", "link"} <= {r["id"] for r in rules}  # seed rules loaded on first start
    variables = {"lottery_time": "8点整", "coupon_code": "LIVE20", "current_link": "3", "courier": "顺丰"}
    httpx.put(url + "/v1/rooms/demo-room/variables", json=variables, headers=admin).raise_for_status()
    httpx.put(url + "/v1/rooms/demo-room/settings", json={"bot_user": "bot-self"}, headers=admin).raise_for_status()
    bot = httpx.post(url + "/v1/keys", json={"name": "demo-bot", "role": "bot", "rooms": ["demo-room"]}, headers=admin).json()["key"]
    time.sleep(0.5)
    out = subprocess.run(
        [sys.executable, "-m", "nlp_service.cli", "replay", str(ROOT / "data/replay/sample_room.jsonl"),
         "--speed", "0", "--url", url, "--key", bot, "--log", str(tmp_path / "replies.jsonl")],
        env=env, capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout[out.stdout.rindex("\n{") + 1 :])
    assert summary["comments"] >= 2900 and summary["http_errors"] == 0
    assert summary["replies"] >= 3  # at speed 0 the whole show fits in one or two 10 s windows per rule
    assert summary["askers_named_in_replies"] >= summary["replies"]
    assert summary["dropped_by_budget"] + summary["aggregated_into_a_reply"] > 0
    assert "bot →" in out.stdout
    log = [json.loads(x) for x in (tmp_path / "replies.jsonl").read_text(encoding="utf-8").splitlines()]
    # an aggregated asker is named at most once, and only one that was held back
    assert summary["aggregated_and_named"] + summary["aggregated_not_named"] == len({r["id"] for r in log if r["reason"] in {"aggregated", "mention_cap", "budget"}})
    comments = [r for r in log if r.get("source") != "burst"]
    assert len(comments) == summary["comments"] and sum(1 for r in log if r["reply"]) == summary["replies"]
    # every aggregated asker is named once: in a reply to a later comment of its batch, or in
    # the burst posted on the action feed when its window closed (the replay follows the feed)
    named = [x for r in log if r["reply"] for x in r["reply"]["answers"] if x != r["id"]]
    assert len(named) == len(set(named))
    aggregated = {r["id"] for r in comments if r["reason"] == "aggregated"}
    print("aggregated", len(aggregated), "named", len(set(named) & aggregated), "bursts", sum(r.get("source") == "burst" for r in log))
    assert set(named) & aggregated
    print(json.dumps(summary, ensure_ascii=False))
