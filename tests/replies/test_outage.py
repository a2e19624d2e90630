"""Redis goes away: a room this instance knows keeps its rules; a room it never loaded gets a
clear 503 for its own request, and the other requests of the shared batch are answered."""

import asyncio

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from nlp_service.core.errors import StoreUnavailableError
from nlp_service.live.services import Services
from nlp_service.live.types import Comment
from nlp_service.replies import store
from nlp_service.replies.rules import Rule
from tests.processes import own_redis_server

NOW = 1764072600000


@pytest.fixture
def outage(svc_settings, tmp_path):
    """A Services on its own redis-server, and a function that stops that server."""
    with own_redis_server(tmp_path) as (port, proc):
        # no client-side retries: an outage is answered at once (redis-py 8 retries with backoff by default)
        client = redis.Redis(port=port, decode_responses=True, socket_timeout=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
        svc = Services.start(svc_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"}), client, poll=False)

        def stop() -> None:
            proc.terminate()
            proc.wait(10)

        yield svc, stop
        svc.close()


def C(i: int, room: str, text: str = "福袋几点开") -> Comment:
    return Comment(f"m{i}", room, f"u{i}", f"n{i}", text, NOW)


def test_a_never_seen_room_gets_503_and_a_known_room_keeps_answering(outage) -> None:
    svc, stop = outage
    store.save_rule(svc.client, svc.keys, Rule.model_validate({"id": "lottery", "match": {"any": ["福袋"]}, "replies": ["8点"]}))
    svc.state.refresh()
    assert svc.engine.handle([C(1, "known")], now_ms=NOW)[0].reply is not None
    stop()
    known = svc.engine.handle([C(2, "known"), C(3, "known", "主播就是个骗子 卖假货")], now_ms=NOW)
    assert known[0].reason == "store_unavailable"  # the cached rule matched; its limits could not be taken
    assert known[1].moderation["action"] == "review" and svc.engine.spool.pending()  # flagged: kept in the spool
    with pytest.raises(StoreUnavailableError, match="never loaded"):
        svc.engine.handle([C(4, "brand-new")], now_ms=NOW)

    async def both():
        return await asyncio.gather(svc.coalescer.submit([C(5, "known")]), svc.coalescer.submit([C(6, "brand-new")]), return_exceptions=True)

    ok, failed = asyncio.run(both())
    assert ok[0].reason == "store_unavailable" and isinstance(failed, StoreUnavailableError)
