"""This instance's memory of who repeats what, so that flood costs no extra round trip.

A comment seen before within the flood window goes to Redis in its own request (the shared
counter decides); a user Redis has already found flooding with a text is blocked here at
once. Both memories are bounded (``core/memo.py``): the oldest entries go first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nlp_service.core.memo import BoundedMemo

_ENTRY_BYTES = 300  # (room, user, digest) key and its float, measured order of magnitude

Key = tuple[str, str, str]  # (room, user, text digest)


class FloodMemory:
    def __init__(self, window_seconds: float, clock: Callable[[], float] = time.monotonic, max_seen: int = 200_000, max_flooders: int = 100_000) -> None:
        self.window_seconds = window_seconds
        self._clock = clock
        self._seen: BoundedMemo[Key, float] = BoundedMemo.of_entries(max_seen, _ENTRY_BYTES)
        self._flooders: BoundedMemo[Key, float] = BoundedMemo.of_entries(max_flooders, _ENTRY_BYTES)
        self._lock = threading.Lock()  # the recorder's thread marks flooders too

    def check(self, room: str, user: str, digest: str) -> tuple[bool, bool]:
        """Remember this comment. Returns (a repeat: the user sent the same text within the
        window, a known flooder: Redis already counted this user's text over the limit)."""
        key = (room, user, digest)
        now = self._clock()
        with self._lock:  # one lock for both: this runs for every comment
            repeat = (self._seen.get(key) or 0.0) > now
            self._seen.put(key, now + self.window_seconds, _ENTRY_BYTES)  # the cost of_entries gives, without its call
            flooder = (self._flooders.get(key) or 0.0) > now
        return repeat, flooder

    def mark(self, room: str, user: str, digest: str) -> None:
        """Redis counted this user's text over the limit: block the next ones here."""
        with self._lock:
            self._flooders.put((room, user, digest), self._clock() + self.window_seconds)
