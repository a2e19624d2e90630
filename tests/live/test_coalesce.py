"""Requests that share an engine batch: one failing request fails alone."""

import asyncio
import threading
import time

from nlp_service.live.coalesce import ReplyCoalescer
from nlp_service.live.types import Comment


def _c(i: int, text: str) -> Comment:
    return Comment(f"m{i}", "room1", f"u{i}", "n", text, 1764072600000)


def _recording(calls: list[list[str]]):
    """An engine's ``handle`` that notes each batch's ids in ``calls``, fails a batch holding
    a comment "poison", and answers each comment with its id (standing in for the outcomes)."""

    def handle(comments: list[Comment]) -> list[str]:
        calls.append([c.id for c in comments])
        if any(c.text == "poison" for c in comments):
            raise RuntimeError("boom")
        return [c.id for c in comments]

    return handle


def test_a_poisoned_request_fails_alone_and_the_others_are_answered() -> None:
    calls: list[list[str]] = []
    handle = _recording(calls)

    co = ReplyCoalescer(handle)  # type: ignore[arg-type]
    requests = [[_c(1, "ok"), _c(2, "ok")], [_c(3, "poison")], [_c(4, "ok")]]
    waiters = [("loop", f"fut{i}", r) for i, r in enumerate(requests)]
    out = list(co._outcomes([c for r in requests for c in r], waiters))  # type: ignore[arg-type]
    assert [fut for _, fut, _ in out] == ["fut0", "fut1", "fut2"]
    assert out[0][2] == ["m1", "m2"] and out[2][2] == ["m4"]
    assert isinstance(out[1][2], RuntimeError)
    assert calls == [["m1", "m2", "m3", "m4"], ["m1", "m2"], ["m3"], ["m4"]]  # the shared batch, then each alone


def test_a_batch_that_works_is_split_back_per_request_in_one_call() -> None:
    calls: list[int] = []

    def handle(comments: list[Comment]) -> list[str]:
        calls.append(len(comments))
        return [c.id for c in comments]

    co = ReplyCoalescer(handle)  # type: ignore[arg-type]
    requests = [[_c(1, "a")], [_c(2, "b"), _c(3, "c")]]
    out = list(co._outcomes([c for r in requests for c in r], [("l", i, r) for i, r in enumerate(requests)]))  # type: ignore[arg-type]
    assert [v for _, _, v in out] == [["m1"], ["m2", "m3"]] and calls == [3]


def _r(room: str, i: int, text: str = "几号链接") -> list[Comment]:
    return [Comment(f"{room}{i}", room, f"u{i}", "n", text, 1764072600000)]


def test_a_flooding_room_cannot_keep_another_room_waiting() -> None:
    from nlp_service.live.coalesce import fair_pick

    flood = [_r("big", i, "长" * 2000) for i in range(300)]  # one room's 300 long comments first
    requests = [*flood, _r("small", 0)]  # another room's question arrives last
    first = fair_pick(requests, max_comments=1000, max_chars=100_000)
    assert len(requests) - 1 in first  # the small room's question is in the very next batch
    assert len(first) == 50  # 49 long comments fill the character budget, plus the small one
    assert first == sorted(first)  # arrival order kept


def test_fair_pick_takes_rooms_in_turn_and_always_one_request() -> None:
    from nlp_service.live.coalesce import fair_pick

    requests = [_r("a", 0), _r("a", 1), _r("a", 2), _r("b", 0), _r("c", 0)]
    assert fair_pick(requests, max_comments=3, max_chars=10_000) == [0, 3, 4]
    assert fair_pick([_r("a", 0, "长" * 500)], max_comments=1, max_chars=10) == [0]


def test_a_long_request_is_cut_into_slices_in_order() -> None:
    from nlp_service.live.coalesce import slices

    short = [_c(i, "几号链接") for i in range(100)]
    assert slices(short, 4000) == [short]  # a usual request stays whole
    long = [_c(i, "长" * 2000) for i in range(50)]
    parts = slices(long, 4000)
    assert len(parts) == 25 and all(sum(len(c.text) for c in p) <= 4000 for p in parts)
    assert [c.id for p in parts for c in p] == [c.id for c in long]  # order kept
    assert [len(p) for p in slices([_c(1, "x" * 5000), _c(2, "y")], 4000)] == [1, 1]  # an over-long comment alone


def test_another_room_is_answered_between_the_slices_of_a_long_request() -> None:
    """The engine holds one slice at a time; a question of another room that arrives while
    a long request waits is in the next engine call, not behind the whole request."""
    import asyncio
    import threading

    calls: list[list[str]] = []
    first_started, release = threading.Event(), threading.Event()

    def handle(comments: list[Comment]) -> list[str]:
        calls.append([c.room for c in comments])
        if len(calls) == 1:
            first_started.set()
            release.wait(10)  # the worker is busy with the first slice while the others queue
        return [c.id for c in comments]

    co = ReplyCoalescer(handle, max_chars=8000, slice_chars=4000)  # type: ignore[arg-type]
    long = [Comment(f"l{i}", "big", "u", "n", "长" * 2000, 1764072600000) for i in range(50)]
    question = [Comment("q1", "small", "u2", "n2", "几号链接", 1764072600000)]

    async def main() -> tuple[list, list]:
        big = asyncio.ensure_future(co.submit(long))
        await asyncio.get_running_loop().run_in_executor(None, first_started.wait, 10)
        small = asyncio.ensure_future(co.submit(question))
        await asyncio.sleep(0)  # the question is queued behind 24 slices of "big"
        release.set()
        return await big, await small

    try:
        big_out, small_out = asyncio.run(main())
    finally:
        co.close()
    assert big_out == [c.id for c in long] and small_out == ["q1"]
    assert calls[0] == ["big"] * 4  # two slices: the batch budget (8,000 characters)
    # the second engine call takes one slice of "big" and the question, not all 24 slices first
    second = next(i for i, rooms in enumerate(calls) if "small" in rooms)
    assert second == 1 and calls[1].count("big") <= 2


def test_a_room_over_its_character_share_yields_to_the_others() -> None:
    """While another room is waiting, a room streaming 4,000-character slices gets 20,000
    characters a second of engine time; the room of short questions is in every batch; the
    clock is injected."""
    from nlp_service.live.coalesce import RoomShares, fair_pick

    now = [0.0]
    shares = RoomShares(rate=20_000, burst=8_000, clock=lambda: now[0])
    waiting = [_r("big", i, "长" * 4000) for i in range(40)]
    big_chars = 0
    for step in range(100):  # a batch every 10 ms for one second
        now[0] = step * 0.01
        requests = [*waiting, _r("small", step)]
        picked = fair_pick(requests, max_comments=1000, max_chars=8000, shares=shares)
        assert len(requests) - 1 in picked  # the question is in every batch
        taken = [i for i in picked if i < len(waiting)]
        big_chars += 4000 * len(taken)
        waiting = [w for i, w in enumerate(waiting) if i not in taken]
    assert 20_000 <= big_chars <= 8_000 + 20_000 + 4_000  # the burst, then ~20,000 a second
    assert fair_pick([_r("big", 99, "长" * 4000)], 1000, 8000, shares) == [0]  # over its share but alone: the engine never idles


def test_a_room_over_its_share_runs_one_long_comment_at_a_time_and_is_answered_whole() -> None:
    """When only rooms over their share wait, the engine takes one piece of half a slice (one
    2,000-character comment here, not a 4,000-character slice of two): a question arriving
    meanwhile waits for less. The request's answer is every piece's outcomes, in order."""
    import asyncio

    calls: list[list[str]] = []

    def handle(comments: list[Comment]) -> list[str]:
        calls.append([c.id for c in comments])
        return [c.id for c in comments]

    # a share that never refills within the test: after its first slice the room is over it
    co = ReplyCoalescer(handle, slice_chars=4000, room_chars_per_second=1e-6)  # type: ignore[arg-type]
    long = [Comment(f"l{i}", "big", "u", "n", "长" * 2000, 1764072600000) for i in range(6)]
    try:
        out = asyncio.run(co.submit(long))
    finally:
        co.close()
    assert out == [c.id for c in long]
    assert calls == [["l0", "l1"], ["l2"], ["l3"], ["l4"], ["l5"]]  # one slice within the share, then pieces
    assert co._carried == {}  # nothing kept once answered


def test_a_failing_piece_fails_its_request_once_the_rest_is_done() -> None:
    import asyncio

    import pytest

    def handle(comments: list[Comment]) -> list[str]:
        if any(c.id == "l2" for c in comments):
            raise RuntimeError("boom")
        return [c.id for c in comments]

    co = ReplyCoalescer(handle, slice_chars=4000, room_chars_per_second=1e-6)  # type: ignore[arg-type]
    long = [Comment(f"l{i}", "big", "u", "n", "长" * 2000, 1764072600000) for i in range(4)]  # two slices: the second fails in its first piece
    try:
        with pytest.raises(RuntimeError, match="boom"):
            asyncio.run(co.submit(long))
    finally:
        co.close()
    assert co._carried == {}


class _Receiver:
    """Stands in for the HTTP protocol's delivery (api/direct.py): what it got, on which thread."""

    def __init__(self, done: "asyncio.Event") -> None:
        self.value, self.error, self.thread, self._done = None, None, None, done

    def done(self) -> bool:
        return False

    def set_result(self, value) -> None:
        self.value, self.thread = value, threading.get_ident()
        self._done.set()

    def set_exception(self, exc: BaseException) -> None:
        self.error, self.thread = exc, threading.get_ident()
        self._done.set()


def test_requests_queued_in_one_loop_turn_share_one_batch_and_come_back_on_the_loop() -> None:
    batches: list[list[str]] = []
    co = ReplyCoalescer(_recording(batches))  # type: ignore[arg-type]

    async def asleep() -> None:  # the worker waits for requests (readiness, not timing)
        for _ in range(20_000):
            if co._sleeping:
                return
            await asyncio.sleep(0.001)
        raise AssertionError("the worker never went to sleep")

    async def main() -> list[_Receiver]:
        loop = asyncio.get_running_loop()
        warm = asyncio.Event()
        co.submit_to([_c(0, "warm")], loop, _Receiver(warm))  # the worker started, then asleep
        await asyncio.wait_for(warm.wait(), 20)
        await asleep()
        events = [asyncio.Event() for _ in range(3)]
        receivers = [_Receiver(e) for e in events]
        # one loop turn: the worker is woken once it ends, so it finds all three waiting, though
        # the GIL is let go between two requests' callbacks (uvloop reads each connection with
        # the GIL released; here a sleep): woken at the first, it would have taken it alone
        for request, receiver in zip([[_c(1, "a")], [_c(2, "b"), _c(3, "c")], [_c(4, "d")]], receivers, strict=True):
            assert co.submit_to(request, loop, receiver)
            time.sleep(0.02)
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 20)
        # a failing batch: each request again on its own, the error to its receiver alone
        await asleep()
        more = [asyncio.Event() for _ in range(2)]
        failing = [_Receiver(e) for e in more]
        co.submit_to([_c(5, "poison")], loop, failing[0])
        co.submit_to([_c(6, "ok")], loop, failing[1])
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in more)), 20)
        return receivers + failing

    try:
        loop_thread = threading.get_ident()
        got = asyncio.run(main())
    finally:
        co.close()
    assert batches[:2] == [["m0"], ["m1", "m2", "m3", "m4"]]
    assert [r.value for r in got[:3]] == [["m1"], ["m2", "m3"], ["m4"]]
    assert {r.thread for r in got} == {loop_thread}  # delivered in a callback on the loop
    assert batches[2:] == [["m5", "m6"], ["m5"], ["m6"]]
    assert isinstance(got[3].error, RuntimeError) and got[4].value == ["m6"]


def test_a_request_longer_than_a_slice_is_not_queued_by_submit_to() -> None:
    co = ReplyCoalescer(lambda comments: [c.id for c in comments], slice_chars=10)  # type: ignore[arg-type, return-value]
    try:
        loop = asyncio.new_event_loop()
        try:
            assert not co.submit_to([_c(1, "长" * 6), _c(2, "长" * 6)], loop, _Receiver(asyncio.Event()))
        finally:
            loop.close()
        assert co._waiters == [] and co._thread is None  # nothing queued, no worker started
    finally:
        co.close()
