"""Reading a Server-Sent Events response in tests: the events of one stream, each a dict of
its ``id`` and ``event`` (when sent) and its ``data`` parsed as JSON."""

from __future__ import annotations

import json

import httpx


def read_events(client: httpx.Client, path: str, headers: dict, **params) -> list[dict]:
    """Every event of ``GET path`` (the stream must end by itself: pass its ``limit``)."""
    out: list[dict] = []
    block: dict = {}
    with client.stream("GET", path, params=params, headers=headers) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith(("id: ", "event: ")):
                name, value = line.split(": ", 1)
                block[name] = value
            elif line.startswith("data: "):
                block["data"] = json.loads(line[6:])
            elif line == "" and "data" in block:
                out.append(block)
                block = {}
    return out
