"""Requests that share an engine batch: one failing request fails alone."""

from nlp_service.live.coalesce import ReplyCoalescer
from nlp_service.replies.engine import Comment


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
