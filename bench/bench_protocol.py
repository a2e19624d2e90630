"""What the HTTP layer costs a reply request, in process: the protocol's direct answer
(api/direct.py) against the ASGI path (the same protocol with it off), event-loop thread CPU µs.

    REDIS_URL=redis://127.0.0.1:6379/1 python bench/bench_protocol.py [--requests 3000] [--rounds 6] [--no-access-log]

The same well-formed ``POST /v1/reply`` is fed to the protocol ``nlp-service serve`` runs
(api/server.py), over a transport that only counts writes, and awaited until its response is
complete, ``--requests`` times per round; the engine is stubbed (``services.reply`` and
``services.reply_to`` give one fixed outcome), so what is timed is the HTTP layer, ``answer``'s checks and rendering, the
access log (uvicorn's own logging config, written to this script's stdout: send it to
/dev/null) and the metrics; no socket, no Redis round trip, no engine thread. The two paths
run in turn, which goes first alternating; medians of ``--rounds``. The key, the settings and
the Redis database are the bench's own (the database at REDIS_URL is flushed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

import redis
import uvicorn
import uvloop
from pydantic import SecretStr
from uvicorn.server import ServerState

from nlp_service.api.app import create_app
from nlp_service.api.schemas import CommentIn
from nlp_service.api.server import HeadLimitedHttpTools
from nlp_service.core.config import get_settings
from nlp_service.live.services import Services

KEY = "bench-protocol-admin-key-0123456789"
BODY = json.dumps({"id": "p1", "room": "bench-room", "user": "u1", "nickname": "n", "text": "福袋几点开", "ts": 1764072600000}, ensure_ascii=False).encode()
REQUEST = (b"POST /v1/reply HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nAuthorization: Bearer " + KEY.encode()
           + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY)


class AsgiOnly(HeadLimitedHttpTools):
    direct_replies = False


class CountingTransport:
    """What the protocol needs of a transport; keeps the first response to check it."""

    def __init__(self) -> None:
        self.writes, self.first, self.closing = 0, b"", False

    def write(self, data: bytes) -> None:
        self.writes += 1
        if len(self.first) < 2000:
            self.first += data

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 40000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def per_request(protocol_class: type, config: uvicorn.Config, state: ServerState, requests: int) -> float:
    """Event-loop thread CPU µs a request over ``requests`` requests on one connection."""
    protocol = protocol_class(config=config, server_state=state, app_state={}, _loop=asyncio.get_running_loop())
    transport = CountingTransport()
    protocol.connection_made(transport)
    start = time.thread_time()
    for _ in range(requests):
        protocol.data_received(REQUEST)
        while not (protocol.cycle is not None and protocol.cycle.response_complete):
            await asyncio.sleep(0)
    spent = time.thread_time() - start
    protocol.connection_lost(None)
    if not transport.first.startswith(b"HTTP/1.1 200 OK"):
        raise RuntimeError(f"not answered: {transport.first[:300]!r}")
    return spent / requests * 1e6


async def run(args, services: Services) -> dict[str, list[float]]:
    fixed = await services.reply([CommentIn.model_validate_json(BODY).to_comment()])

    async def reply(comments):  # the engine stubbed: the same outcome, no thread, no Redis
        return fixed

    def reply_to(comments, loop, receiver) -> bool:  # the direct path's: the outcome in a loop callback, as the coalescer hands it
        loop.call_soon(receiver.set_result, fixed)
        return True

    services.reply, services.reply_to = reply, reply_to
    app = create_app(services.settings, services)
    config = uvicorn.Config(app, http=HeadLimitedHttpTools, log_level="info", lifespan="off", access_log=not args.no_access_log)
    config.load()
    state = ServerState()
    state.default_headers = [(b"date", b"Sun, 06 Dec 2026 08:00:00 GMT"), *config.encoded_headers]
    paths = [("direct", HeadLimitedHttpTools), ("asgi", AsgiOnly)]
    results: dict[str, list[float]] = {name: [] for name, _ in paths}
    for i in range(args.rounds):
        for name, cls in paths if i % 2 == 0 else paths[::-1]:
            results[name].append(await per_request(cls, config, state, args.requests))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--no-access-log", action="store_true", help="uvicorn's access log off (to see what it costs)")
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("set REDIS_URL (a database of its own: it is flushed)")
    settings = get_settings().model_copy(update={"admin_key": SecretStr(KEY), "key_requests_per_second": 0, "key_comments_per_second": 0})
    client = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    client.flushdb()
    services = Services.start(settings, client, poll=False)
    try:
        results = uvloop.run(run(args, services))
    finally:
        services.close()
    out = sys.stderr  # stdout carries the access log
    print(f"command: python {' '.join(sys.argv)}  (event-loop thread CPU µs a request, engine stubbed; load average {os.getloadavg()[0]:.1f})", file=out)
    for name, values in results.items():
        print(f"{name:6s} median {statistics.median(values):6.1f}  rounds {[round(v, 1) for v in values]}", file=out)
    print(f"direct − asgi: {statistics.median(results['direct']) - statistics.median(results['asgi']):+.1f} µs a request", file=out)


if __name__ == "__main__":
    main()
