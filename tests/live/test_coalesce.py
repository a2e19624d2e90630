"""Requests that share an engine batch: one failing request fails alone."""

from nlp_service.live.coalesce import ReplyCoalescer
from nlp_service.live.types import Comment


def _c(i: int, text: str) -> Comment:
    return Comment(f"m{i}", "room1", f"u{i}", "n", text, 1764072600000)


def test_a_poisoned_request_fails_alone_and_the_others_are_answered() -> None:
    calls: list[list[str]] = []

    def handle(comments: list[Comment]) -> list[str]:
        calls.append([c.id for c in comments])
        if any(c.text == "poison" for c in comments):
            raise RuntimeError("boom")
        return [c.id for c in comments]  # stands in for the outcomes

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
