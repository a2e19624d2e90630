"""The prescreen lane: a request's long comments are worked on outside the shared batch,
rooms in turn, one comment at a time."""

import asyncio
import threading

from nlp_service.live.prescreen import Prescreen
from nlp_service.live.types import Comment
from tests.processes import poll


def _c(room: str, i: int, text: str) -> Comment:
    return Comment(f"{room}{i}", room, f"u{i}", "n", text, 1764072600000)


def test_only_long_comments_go_through_the_lane_and_ready_waits_for_them() -> None:
    seen: list[str] = []
    lane = Prescreen(lambda c: seen.append(c.id), min_chars=10, rest=0)

    async def main() -> None:
        await lane.ready([_c("a", 1, "短"), _c("a", 2, "长" * 10), _c("a", 3, "长" * 50)])
        assert seen == ["a2", "a3"]  # both worked on before ready() returned
        await lane.ready([_c("a", 4, "短")])  # nothing long: no work, no thread hand-off
        assert seen == ["a2", "a3"]

    try:
        asyncio.run(main())
    finally:
        lane.close()
    assert Prescreen(seen.append, min_chars=0).long([_c("a", 5, "长" * 50)]) == []  # 0: the lane is off


def test_another_room_waits_for_one_long_comment_not_for_the_whole_request() -> None:
    order: list[str] = []
    gate = threading.Event()

    def work(c: Comment) -> None:
        order.append(c.id)
        gate.wait(30)  # the first comment holds the lane until the other room has queued

    lane = Prescreen(work, min_chars=10, rest=0)

    async def main() -> None:
        big = asyncio.ensure_future(lane.ready([_c("big", i, "长" * 2000) for i in range(4)]))
        await asyncio.get_running_loop().run_in_executor(None, poll, lambda: order == ["big0"])
        small = asyncio.ensure_future(lane.ready([_c("small", 0, "长" * 600)]))
        await asyncio.sleep(0)  # queued while big0 is worked on
        gate.set()
        await asyncio.gather(big, small)

    try:
        asyncio.run(main())
    finally:
        lane.close()
    assert order == ["big0", "small0", "big1", "big2", "big3"]  # the new room goes next: it waited for one comment


def test_a_failing_comment_does_not_stop_the_lane() -> None:
    def work(c: Comment) -> None:
        if c.text.startswith("坏"):
            raise ValueError("the batch answers this comment's error itself")

    lane = Prescreen(work, min_chars=2, rest=0)
    try:
        asyncio.run(lane.ready([_c("a", 1, "坏的评论"), _c("a", 2, "好的评论")]))
        asyncio.run(lane.ready([_c("a", 3, "好的评论")]))  # the thread is still there
    finally:
        lane.close()


def test_the_lane_fills_the_caches_the_batch_reads(svc) -> None:
    text = ("主播骗子退款垃圾加微信" * 100)[:990] + "几号链接"
    comment = _c("room1", 1, text)
    asyncio.run(svc.prescreen.ready([comment]))
    assert svc.analyzer._cache.get(text) is not None  # the batch finds the analysis ready
    [out] = asyncio.run(svc.reply([comment]))
    assert out.moderation["action"] != "pass"  # and answers the comment as it would without the lane


def test_the_lane_shortens_the_gil_switch_interval_only_while_it_works() -> None:
    import sys

    usual = sys.getswitchinterval()
    during: list[float] = []
    lane = Prescreen(lambda c: during.append(sys.getswitchinterval()), min_chars=2, rest=0, switch_seconds=usual / 5)
    try:
        asyncio.run(lane.ready([_c("a", 1, "长评论"), _c("a", 2, "长评论")]))
        assert during == [usual / 5] * 2
        assert poll(lambda: sys.getswitchinterval() == usual)  # idle again: the process's own interval
    finally:
        lane.close()
    assert sys.getswitchinterval() == usual
