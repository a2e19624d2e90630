"""Per-key rate limits: token buckets for requests and for comments, per serving process.

Each API key has two buckets (requests per second, comments per second), each holding up to
``burst_seconds`` worth of tokens, so a bot may burst briefly and then runs at the rate. A
refused call takes nothing and learns when it could pass (``Retry-After``). The buckets live
in the process (no Redis round trip on the hot path): with ``serve --workers N`` a key may
reach N times the rate, which the setting's description says.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from nlp_service.core.errors import RateLimitedError
from nlp_service.core.memo import BoundedMemo

_BUCKET_BYTES = 250  # a key id, the kind, a _Bucket: order of magnitude


class _Bucket:
    __slots__ = ("tokens", "at")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens, self.at = tokens, at


class KeyRateLimiter:
    """``check(key_id, comments)`` raises :class:`RateLimitedError` or takes the tokens.
    A rate of 0 turns that limit off."""

    MAX_KEYS = 100_000  # beyond this the oldest buckets are dropped (a dropped key starts full again)

    def __init__(self, requests_per_second: float, comments_per_second: float, burst_seconds: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.rates = (float(requests_per_second), float(comments_per_second))
        self.burst = max(float(burst_seconds), 1e-3)
        self._clock = clock
        self._buckets: BoundedMemo[tuple[str, int], _Bucket] = BoundedMemo.of_entries(self.MAX_KEYS, _BUCKET_BYTES)
        self._lock = threading.Lock()

    def check(self, key_id: str, comments: int = 0) -> None:
        now = self._clock()
        needs = ((0, 1.0), (1, float(comments)))
        with self._lock:
            waits = []
            for kind, amount in needs:
                rate = self.rates[kind]
                if rate <= 0 or amount <= 0:
                    continue
                b = self._bucket(key_id, kind, now)
                if b.tokens < amount:
                    capacity = rate * self.burst
                    waits.append((amount - b.tokens) / rate if amount <= capacity else math.inf)
            if waits:
                wait = max(waits)
                what = "requests" if self.rates[0] > 0 and self._buckets.get((key_id, 0)).tokens < 1 else "comments"
                retry = self.burst if math.isinf(wait) else wait
                raise RateLimitedError(f"this key is over its {what} rate; retry in {math.ceil(retry)} s", retry)
            for kind, amount in needs:
                if self.rates[kind] > 0 and amount > 0:
                    self._buckets.get((key_id, kind)).tokens -= amount

    def _bucket(self, key_id: str, kind: int, now: float) -> _Bucket:
        rate, capacity = self.rates[kind], self.rates[kind] * self.burst
        b = self._buckets.get((key_id, kind))
        if b is None:
            b = self._buckets.put((key_id, kind), _Bucket(capacity, now))
        else:
            b.tokens = min(capacity, b.tokens + (now - b.at) * rate)
            b.at = now
        return b
