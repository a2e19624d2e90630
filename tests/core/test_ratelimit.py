"""Per-key token buckets, on an injected clock (no test reads the real one)."""

import pytest

from nlp_service.core.ratelimit import KeyRateLimiter, RateLimitedError


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_key_bursts_then_runs_at_its_rate_and_learns_when_to_retry() -> None:
    clock = Clock()
    lim = KeyRateLimiter(requests_per_second=10, comments_per_second=0, burst_seconds=1.0, clock=clock)
    for _ in range(10):
        lim.check("k1")
    with pytest.raises(RateLimitedError) as refused:
        lim.check("k1")
    assert 0 < refused.value.retry_after <= 0.1 + 1e-9
    lim.check("k2")  # another key has its own bucket
    clock.t = 0.1
    lim.check("k1")  # one token came back


def test_comments_are_counted_apart_and_a_refusal_takes_nothing() -> None:
    clock = Clock()
    lim = KeyRateLimiter(requests_per_second=0, comments_per_second=100, burst_seconds=1.0, clock=clock)
    lim.check("k", comments=80)
    with pytest.raises(RateLimitedError, match="comments"):
        lim.check("k", comments=30)
    lim.check("k", comments=20)  # the refused 30 took nothing
    with pytest.raises(RateLimitedError):
        lim.check("k", comments=1000)  # more than a burst can ever hold: retry after a burst
