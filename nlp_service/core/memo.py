"""One bounded memo for every "remember what this text gave" cache.

Live rooms and archives repeat themselves, so several stages keep a result per text. Each
used to be a dict cleared when it reached an entry count; a count does not bound memory
when one 2,000-character comment costs two hundred times what a 10-character one does.
:class:`BoundedMemo` bounds both the entries and an estimate of the bytes they hold
(the caller says what an entry costs), and evicts the oldest entries first, so a burst of
long texts pushes out old entries instead of growing the process.

The entries live in an ``OrderedDict``: popping the oldest is O(1) there. A plain dict keeps
insertion order too, but ``next(iter(d))`` after many deletions at the front walks over
every deleted slot until the next resize: with 50,000 entries an evicting put cost ~25 µs
on average (more than analysing the comment), 55 µs at 200,000 (bench in issue 15).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    """A memo of at most ``max_entries`` entries and about ``max_bytes`` bytes (``cost(key)``
    per entry). ``max_entries=0`` turns it off: nothing is kept."""

    __slots__ = ("_data", "_cost", "max_entries", "max_bytes", "bytes", "_lock")

    def __init__(self, max_entries: int, max_bytes: int, cost: Callable[[K], int]) -> None:
        if max_entries < 0 or max_bytes < 0:
            raise ValueError("BoundedMemo bounds must be >= 0")
        self._data: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._cost = cost
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._lock = threading.Lock()  # two threads put (the engine and the prescreen lane, live/prescreen.py)

    @classmethod
    def of_entries(cls, max_entries: int, entry_bytes: int) -> BoundedMemo[K, V]:
        """A memo whose entries all cost about ``entry_bytes``: bounded by their count alone
        (the byte bound is ``max_entries`` of them)."""
        return cls(max_entries, max_entries * entry_bytes, lambda _key: entry_bytes)

    def get(self, key: K) -> V | None:
        hit = self._data.get(key)
        return None if hit is None else hit[0]

    def put(self, key: K, value: V, cost: int | None = None) -> V:
        """Remember ``value`` for ``key`` (evicting the oldest entries as needed); returns it.
        ``cost`` overrides ``cost(key)`` when the value's size depends on more than the key."""
        if not self.max_entries:
            return value
        cost = self._cost(key) if cost is None else cost
        if cost > self.max_bytes:
            return value  # larger than the whole budget: never kept
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            data = self._data
            while data and (len(data) >= self.max_entries or self.bytes + cost > self.max_bytes):
                _, (_, oldest_cost) = data.popitem(last=False)
                self.bytes -= oldest_cost
            data[key] = (value, cost)
            self.bytes += cost
        return value

    def get_or_compute(self, key: K, compute: Callable[[K], V]) -> V:
        hit = self._data.get(key)
        if hit is not None:
            return hit[0]
        return self.put(key, compute(key))

    def get_or_compute_all(self, keys: Iterable[K], compute: Callable[[K], V]) -> list[V]:
        """:meth:`get_or_compute` of each key in turn, in one call: a batch (an archive
        chunk's distinct texts) pays no Python call per key for the memo's own lookup."""
        get, put = self._data.get, self.put  # the dict is cleared in place, never replaced
        out = []
        for key in keys:
            hit = get(key)
            out.append(put(key, compute(key)) if hit is None else hit[0])
        return out

    def discard(self, key: K) -> None:
        """Forget ``key`` if it is there."""
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.bytes -= old[1]

    def keys(self) -> list[K]:
        """The keys now, oldest first (a copy: safe to change the memo while walking it)."""
        return list(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data


def text_cost(per_char: int, base: int) -> Callable[[str], int]:
    """Cost of an entry keyed by a text: ``base + per_char × len(text)`` bytes (measured per
    result type with tracemalloc; see the callers)."""
    return lambda text: base + per_char * len(text) if type(text) is str else base
