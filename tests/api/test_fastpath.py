"""The ASGI fast path answers well-formed reply requests exactly as the routes would, hands
everything it refuses to the full app (same error bodies), and concurrent requests share
engine batches without mixing up their answers."""

import asyncio
import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from nlp_service.api import fastpath
from nlp_service.api.app import create_app
from nlp_service.live.coalesce import ReplyCoalescer


def comment(i: int, text: str = "福袋几点开") -> dict:
    return {"id": f"f{i}", "room": "room1", "user": f"u{i}", "nickname": f"n{i}", "text": text, "ts": 1764072600000}


def test_well_formed_requests_skip_the_router_and_errors_do_not(client, bot, monkeypatch) -> None:
    calls = []
    real = fastpath.answer

    async def spy(*args, **kwargs):
        calls.append(args[2])
        return await real(*args, **kwargs)

    monkeypatch.setattr(fastpath, "answer", spy)
    ok = client.post("/v1/reply", json=comment(1), headers=bot)
    assert ok.status_code == 200 and ok.json()["intent"]["label"] == "ask_lottery"
    assert len(calls) == 1
    bad = client.post("/v1/reply", content=b'{"id": "x", "room": ', headers={**bot, "content-type": "application/json"})
    # refused by the fast path, answered by the app from the replayed body: the routes' error format
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "validation_error"
    wrong_room = client.post("/v1/reply", json={**comment(2), "room": "other"}, headers=bot)
    assert wrong_room.status_code == 403 and "other" in wrong_room.json()["error"]["message"]
    assert len(calls) == 3
    batch = client.post("/v1/reply/batch", json={"comments": [comment(3), comment(4, "来了")]}, headers=bot)
    assert [r["id"] for r in batch.json()["results"]] == ["f3", "f4"]


@pytest.mark.anyio
async def test_concurrent_requests_get_their_own_answers(services, bot) -> None:
    app = create_app(services.settings, services)
    transport = httpx.ASGITransport(app=app)
    texts = ["福袋几点开", "来了", "几号链接", "质量太差了", "已拍"]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        responses = await asyncio.gather(*[http.post("/v1/reply", json=comment(i, texts[i % 5]), headers=bot) for i in range(40)])
    for i, r in enumerate(responses):
        assert r.status_code == 200
        assert r.json()["id"] == f"f{i}"
        assert r.json()["intent"]["label"] == services.analyzer.analyze(texts[i % 5]).intent.label


@pytest.mark.anyio
async def test_coalescer_batches_waiting_requests_and_passes_errors_to_each() -> None:
    batches = []
    go = threading.Event()  # the worker holds its first batch until every request is queued

    def handle(comments):
        go.wait(timeout=30)
        batches.append(list(comments))
        if "boom" in comments:
            raise RuntimeError("engine failed")
        return [c.upper() for c in comments]

    co = ReplyCoalescer(handle, max_batch=10)
    try:
        tasks = [asyncio.ensure_future(co.submit([f"c{i}"])) for i in range(25)] + [asyncio.ensure_future(co.submit(["x", "y"]))]
        await asyncio.sleep(0)  # every submit has queued its request (they only wait after that)
        go.set()
        results = await asyncio.gather(*tasks)
        assert results[:25] == [[f"C{i}"] for i in range(25)] and results[25] == ["X", "Y"]
        assert all(len(b) <= 10 for b in batches) and len(batches) < 26  # shared batches, capped
        assert [c for b in batches for c in b] == [*[f"c{i}" for i in range(25)], "x", "y"]  # arrival order
        with pytest.raises(RuntimeError, match="engine failed"):
            await co.submit(["boom"])
        assert await co.submit(["after"]) == ["AFTER"]  # the worker survives an error
    finally:
        co.close()


@pytest.mark.anyio
async def test_streamed_bodies_are_read_whole_and_oversized_ones_refused(services, bot) -> None:
    app = create_app(services.settings, services)
    body = (b'{"id": "s1", "room": "room1", "user": "u1", "nickname": "n1", "text": "' + "几号链接".encode() + b'"}')

    async def chunks(data: bytes, size: int):
        for i in range(0, len(data), size):
            yield data[i : i + size]

    headers = {**bot, "content-type": "application/json"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        ok = await http.post("/v1/reply", content=chunks(body, 7), headers=headers)  # no content-length
        assert ok.status_code == 200 and ok.json()["id"] == "s1" and ok.json()["intent"]["label"] == "ask_link"
        huge = b'{"comments": [' + b" " * (services.settings.max_body_bytes + 10) + b"]}"
        refused = await http.post("/v1/reply/batch", content=chunks(huge, 64_000), headers=headers)
        assert refused.status_code == 413 and refused.json()["error"]["type"] == "body_too_large"


def test_an_unexpected_error_gets_starlettes_500_and_reaches_the_server(client, bot, monkeypatch) -> None:
    """The fast path runs in front of Starlette's ServerErrorMiddleware: an engine failure
    still gets the body and status that middleware sends, and is raised on for the server's log."""

    async def broken(*args, **kwargs):
        raise RuntimeError("engine failed")

    monkeypatch.setattr(fastpath, "answer", broken)
    with pytest.raises(RuntimeError, match="engine failed"):
        client.post("/v1/reply", json=comment(5), headers=bot)
    quiet = TestClient(client.app, raise_server_exceptions=False)
    r = quiet.post("/v1/reply", json=comment(6), headers=bot)
    assert r.status_code == 500 and r.text == "Internal Server Error"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
