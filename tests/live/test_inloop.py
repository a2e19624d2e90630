"""Reply batches on the event loop (live/inloop.py): rounds in flight answered in order, the
replies read in pieces, a round Redis does not answer or whose connection fails, a failing
batch run one request at a time, and which requests Services sends there."""

from __future__ import annotations

import asyncio

import pytest
import redis
from redis.connection import AbstractConnection

from nlp_service.live.inloop import LoopReplies
from nlp_service.live.services import Services
from nlp_service.live.types import Comment
from nlp_service.replies import store
from nlp_service.replies.rules import Rule
from nlp_service.store import wire

FLAGGED = "主播就是个骗子 卖假货"


@pytest.fixture
def svc(rclient, svc_settings):
    s = Services.start(svc_settings, rclient, poll=False)
    store.save_rule(s.client, s.keys, Rule.model_validate({"id": "lottery", "match": {"any": ["福袋"]}, "replies": ["福袋{lottery_time}开"]}))
    store.set_variables(s.client, s.keys, "room1", {"lottery_time": "8点"})
    s.state.refresh()
    yield s
    s.close()


def C(i: int, text: str = "福袋几点开") -> Comment:
    return Comment(f"m{i}", "room1", f"u{i}", f"n{i}", text, None)


def run(svc: Services, turns: list[list[list[Comment]]], timeout: float = 5.0, read_size: int = 65536, then=lambda: None) -> list:
    """Each turn's requests submitted in one loop turn, the next turn after it (its batch then
    begun, its round trip in flight), ``then()`` after the last; each request's outcomes, or its error."""

    async def main() -> list:
        loop = asyncio.get_running_loop()
        replies = LoopReplies(svc.engine, loop, max_batch=100, max_chars=10_000, timeout_seconds=timeout)
        replies.read_size = read_size
        futures = []
        for turn in turns:
            for request in turn:
                future = loop.create_future()
                replies.submit(request, future)
                futures.append(future)
            await asyncio.sleep(0)
        then()
        return await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 20)

    return asyncio.run(main())


def test_batches_in_flight_are_answered_in_order_on_one_connection(svc, monkeypatch) -> None:
    chained, held = [], [True]
    start, feed = wire.start, wire.feed
    monkeypatch.setattr(wire, "start", lambda pipe, after=None: (chained.append(after is not None), start(pipe, after))[1])
    # Redis's answers are left unread until the three rounds are sent (else a fast answer may
    # end the first round before the last one starts)
    monkeypatch.setattr(wire, "feed", lambda conn, size=65536: None if held[0] else feed(conn, size))
    out = run(svc, [[[C(1)]], [[C(2)], [C(3, "你好")]], [[C(4)]]], then=lambda: held.clear() or held.append(False))
    assert [[o.comment.id for o in r] for r in out] == [["m1"], ["m2"], ["m3"], ["m4"]]
    assert out[0][0].reply is not None  # the first asker is answered, the later ones join its burst:
    assert [r[0].reason for r in out[1:]] == ["aggregated", "no_match", "aggregated"]  # Redis ran the rounds in order
    assert chained[-2:] == [True, True]  # the second and third rounds followed the first on its connection


def test_replies_read_in_small_pieces_give_the_same_answers(svc) -> None:
    out = run(svc, [[[C(1), C(2, FLAGGED)]], [[C(3)]]], read_size=3)
    assert out[0][0].reply is not None and out[0][1].moderation["action"] == "review" and out[1][0].reason == "aggregated"


def test_a_round_redis_does_not_answer_fails_alone_and_the_next_is_served(svc, monkeypatch) -> None:
    monkeypatch.setattr(wire, "feed", lambda conn, size=0: None)  # the socket's bytes never reach the reader
    out = run(svc, [[[C(1), C(2, FLAGGED)]]], timeout=0.2)
    assert out[0][0].reason == "store_unavailable" and out[0][1].moderation["action"] == "review"
    assert svc.engine.spool.pending()  # the flagged comment kept for later
    monkeypatch.undo()
    again = run(svc, [[[C(3, "福袋呢")]]])
    # answered by Redis on a fresh connection (the silent one was closed): the first round did
    # run there, only its answer was never read, so its question opened the burst this one joins
    assert again[0][0].reason == "aggregated"


def test_a_connection_that_fails_mid_round_fails_its_rounds(svc, monkeypatch) -> None:
    def broken(conn, size=0):
        raise redis.ConnectionError("reset by peer")

    monkeypatch.setattr(wire, "feed", broken)
    out = run(svc, [[[C(1)]], [[C(2)]]])
    assert [r[0].reason for r in out] == ["store_unavailable", "store_unavailable"]


def test_a_failing_batch_is_run_one_request_at_a_time(svc, monkeypatch) -> None:
    begin = svc.engine.begin

    def poisoned(comments, now_ms=None, after=None):
        if any(c.text == "poison" for c in comments):
            raise RuntimeError("boom")
        return begin(comments, now_ms, after)

    monkeypatch.setattr(svc.engine, "begin", poisoned)
    out = run(svc, [[[C(1)], [C(2, "poison")], [C(3, "你好")]]])
    assert out[0][0].reply is not None and isinstance(out[1], RuntimeError) and out[2][0].reason == "no_match"


def test_services_send_the_usual_request_to_the_loop(svc) -> None:
    async def main() -> tuple:
        loop = asyncio.get_running_loop()
        usual, sliced = loop.create_future(), loop.create_future()
        assert svc.reply_to([C(1)], loop, usual)
        # over a slice's characters: not taken (the caller awaits Services.reply, the coalescer's slices)
        assert not svc.reply_to([C(i, "福" * 100) for i in range(2, 60)], loop, sliced)
        return svc._in_loop, await usual

    in_loop, usual = asyncio.run(main())
    assert in_loop is not None and usual[0].reply is not None


def test_without_the_setting_every_request_goes_to_the_coalescer(svc) -> None:
    svc.settings = svc.settings.model_copy(update={"reply_in_loop": False})

    async def main():
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        assert svc.reply_to([C(1)], loop, future)
        return await future

    assert asyncio.run(main())[0].reply is not None and svc._in_loop is None


def test_a_write_that_fails_behind_rounds_in_flight_fails_them_at_once(svc, monkeypatch) -> None:
    """The second batch's write breaks the connection the first round waits on: the first fails
    now (not when its hour is up), the second is sent again by redis-py on a fresh connection."""
    held, writes = [True], []
    feed, send = wire.feed, AbstractConnection.send_packed_command
    monkeypatch.setattr(wire, "feed", lambda conn, size=65536: None if held[0] else feed(conn, size))

    def flaky(self, command, check_health=True):
        if any(b"EVALSHA" in part for part in command if isinstance(part, bytes)):  # a batch's round, not a state read
            writes.append(1)
            if len(writes) == 2:  # the second batch's first write
                raise redis.ConnectionError("reset by peer")
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", flaky)  # TCP and unix-socket connections alike
    out = run(svc, [[[C(1)]], [[C(2, "福袋呢")]]], timeout=3600, then=lambda: held.clear() or held.append(False))
    assert out[0][0].reason == "store_unavailable"
    assert out[1][0].reason == "aggregated"  # its round ran (after the first's, which Redis did run) and was read
