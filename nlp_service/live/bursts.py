"""When this instance's waiting askers' bursts fall due, so the poll thread can post them.

The limits script answers each call with the room's next due time; a quiet room has no next
call, so the poll thread (``Services.post_bursts``) sweeps the rooms whose time has come.
"""

from __future__ import annotations

import threading


class BurstSchedule:
    """Room → the due times (epoch ms) of the bursts an asker of this instance waits for."""

    def __init__(self) -> None:
        self._due: dict[str, set[int]] = {}
        self._lock = threading.Lock()

    def add(self, room: str, due_ms: int) -> None:
        with self._lock:
            self._due.setdefault(room, set()).add(due_ms)

    def next_due(self) -> int | None:
        """The earliest due time, if any burst waits."""
        with self._lock:
            return min((min(d) for d in self._due.values()), default=None)

    def take_due(self, now_ms: int) -> list[str]:
        """The rooms with a burst due by ``now_ms``; their due times up to then are forgotten."""
        with self._lock:
            rooms = [r for r, dues in self._due.items() if min(dues) <= now_ms]
            for r in rooms:
                later = {d for d in self._due[r] if d > now_ms}
                if later:
                    self._due[r] = later
                else:
                    del self._due[r]
        return rooms
