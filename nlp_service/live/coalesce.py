"""Concurrent reply requests share one engine call and one Redis round trip.

(The usual HTTP request, one comment or a short batch, is batched on the event loop itself:
``inloop.py``. This thread takes the rest: long comments, requests cut into slices, the ASGI
path, a Redis Cluster client.)

A bot-facing instance receives many single-comment requests at once. Handling each on the
event loop meant a blocking Redis round trip per request, with the loop (and every other
request) waiting on it. Instead, requests hand their comments to one worker thread and
await the result: while the worker runs ``ReplyEngine.handle`` on one batch (analysis,
then a single pipelined round trip for the whole batch), the loop goes on parsing new
requests, which queue up for the next batch. Under light load a batch is one comment
(same latency as before plus a thread hand-off); under heavy load batches grow and the
per-comment Redis and scheduling cost shrinks. The contract is unchanged: each comment
still takes part in exactly one round trip. A request comes as an awaited future
(:meth:`ReplyCoalescer.submit`) or, from the HTTP protocol, with a receiver called back on
its loop (:meth:`ReplyCoalescer.submit_to`); those wake the worker at the end of the loop's
turn, so that the requests read in one turn share a batch.

Fair between rooms: a batch is filled round-robin over the rooms that are waiting (a
request's room is its first comment's), up to ``max_batch`` comments and ``max_chars``
characters, so one room's flood of long comments cannot keep another room's question
waiting behind it; within a batch, and within a room, arrival order is kept.

A single request is cut into slices of at most ``slice_chars`` characters (at least one
comment each) before it queues: one batch request of 50 comments of 2,000 characters held
the one engine thread for about a quarter of a second, and every other room waited behind
it (bench/bench_hostile.py: the other rooms' p99 went up 12×). Its slices queue in order
in its room, so other rooms' requests are taken between them; the request is answered when
its last slice is (``Services`` bounds a batch to two slices' worth of characters, so the
engine thread is never held for long by anyone), and each room may send the engine at most
``room_chars_per_second`` characters a second before it yields to the rooms within their
share (:class:`RoomShares`), so a client streaming long comments into one room cannot keep
the other rooms waiting; alone, any room runs at full speed, in pieces of half a slice (one
long comment) while it is over its share, so a question arriving meanwhile waits for less.
Comments of a request in different slices are aggregated as comments of consecutive
requests are (the burst, replies/limits.py), not within one engine batch.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from nlp_service.core import metrics
from nlp_service.live.types import Comment, Outcome


class Receiver(Protocol):
    """Where a request's outcomes go: an ``asyncio.Future``, or what stands in for one
    (:meth:`ReplyCoalescer.submit_to`); called on its event loop."""

    def done(self) -> bool: ...
    def set_result(self, value: list[Outcome]) -> None: ...
    def set_exception(self, exc: BaseException) -> None: ...


_Waiter = tuple[asyncio.AbstractEventLoop, "Receiver | _Head", Sequence[Comment]]  # one request (or slice)
OVER_SHARE_PAUSE = 0.002  # seconds the engine thread rests after a batch of rooms over their share
# A room over its share runs in pieces of this part of a slice (at least one comment): the
# engine only runs them when nobody within their share waits, and a question that arrives
# meanwhile waits for the piece in hand (bench/bench_hostile.py: a 4,000-character slice of
# 2,000-character comments held the engine for two; one comment at a time halves that wait,
# and a bot's batch of 100 chat comments, about 1,500 characters, stays whole)
OVER_SHARE_PIECE = 2


class _Head:
    """The first piece of a queued slice of a room over its share: its outcomes are kept
    (``ReplyCoalescer._carried``) until the rest of the slice is answered, then sent together."""

    __slots__ = ("fut",)

    def __init__(self, fut: asyncio.Future) -> None:
        self.fut = fut


class ReplyCoalescer:
    def __init__(
        self,
        handle: Callable[[list[Comment]], list[Outcome]],
        max_batch: int = 1000,
        max_chars: int = 100_000,
        slice_chars: int = 100_000,
        room_chars_per_second: float = 0,
    ) -> None:
        self._handle = handle
        self._max_batch = max_batch
        self._max_chars = max_chars
        self._slice_chars = slice_chars
        # characters a second per room (0: no limit), bursting to one slice
        self._shares = RoomShares(room_chars_per_second, max(slice_chars, 1)) if room_chars_per_second > 0 else None
        self._over_chars = max(slice_chars // OVER_SHARE_PIECE, 1)
        self._waiters: list[_Waiter] = []
        self._carried: dict[asyncio.Future, list | BaseException] = {}  # engine thread only
        self._lock = threading.Lock()
        # The worker sleeps on this lock (held while it is awake) and a request releases it:
        # a Condition's Python-level notify/wait cost the event loop ~5 % of its time at load
        self._wake = threading.Lock()
        self._wake.acquire()
        self._sleeping = False  # the worker waits on _wake (set and cleared under _lock)
        self._wake_due = False  # a loop will wake the worker at the end of its turn (submit_to)
        self._thread: threading.Thread | None = None
        self._stopping = False

    async def submit(self, comments: Sequence[Comment]) -> list[Outcome]:
        """The outcomes of ``comments``, in order, computed in the next batches (one per
        slice of at most ``slice_chars`` characters; one for any usual request)."""
        loop = asyncio.get_running_loop()
        parts = slices(comments, self._slice_chars)
        futs: list[asyncio.Future] = [loop.create_future() for _ in parts]
        with self._lock:
            if self._thread is None:
                self._start()
            self._waiters.extend((loop, fut, part) for fut, part in zip(futs, parts, strict=True))
            self._wake_worker()  # the worker only sleeps when the queue was empty
        if len(futs) == 1:
            return await futs[0]
        done = await asyncio.gather(*futs)
        return [outcome for part in done for outcome in part]

    def submit_to(self, comments: Sequence[Comment], loop: asyncio.AbstractEventLoop, receiver: Receiver) -> bool:
        """Queue ``comments`` as one request whose outcomes go to ``receiver`` (called on
        ``loop``), without a future to await: the HTTP protocol answers from that call
        (api/direct.py). False, and nothing queued, for a request cut into slices."""
        if text_chars(comments) > self._slice_chars:
            return False
        with self._lock:
            if self._thread is None:
                self._start()
            self._waiters.append((loop, receiver, comments))
            # the worker wakes once the loop has read what this turn brought (as a request's
            # task would only submit in the next turn): woken at once, it took the first
            # request of the turn alone, and batches were smaller
            if self._sleeping and not self._wake_due:
                self._wake_due = True
                loop.call_soon(self._wake_turn)
        return True

    def _wake_turn(self) -> None:
        with self._lock:
            self._wake_due = False
            self._wake_worker()

    def _wake_worker(self) -> None:
        """Under ``_lock``: let the sleeping worker go (released once per sleep)."""
        if self._sleeping:
            self._sleeping = False
            self._wake.release()

    def _start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="reply-coalescer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with self._lock:
            self._stopping = True
            self._wake_worker()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)

    def _take(self) -> tuple[list[Comment], list[_Waiter]] | None:
        """The next batch: whole requests, chosen fairly between rooms (at least one request)."""
        with self._lock:
            while not self._waiters and not self._stopping:
                self._sleeping = True
                self._lock.release()
                try:
                    self._wake.acquire()
                finally:
                    self._lock.acquire()
            if not self._waiters:
                return None
            try:
                chosen = set(fair_pick([c for _loop, _fut, c in self._waiters], self._max_batch, self._max_chars, self._shares))
            except Exception:  # never let the worker die with requests waiting: the oldest alone
                chosen = {0}
            if self._shares is not None and self._shares.over:
                return self._take_piece(sorted(chosen))
            waiters = [w for i, w in enumerate(self._waiters) if i in chosen]
            self._waiters = [w for i, w in enumerate(self._waiters) if i not in chosen]
        return [c for _loop, _fut, comments in waiters for c in comments], waiters

    def _take_piece(self, chosen: list[int]) -> tuple[list[Comment], list[_Waiter]]:
        """Only rooms over their share wait: the chosen requests, in order, up to ``_over_chars``
        characters; when the first alone is longer, its first piece (one comment at least),
        and its rest stays first in the queue."""
        loop, fut, comments = self._waiters[chosen[0]]
        head = slices(comments, self._over_chars)[0]
        if len(head) < len(comments):
            self._waiters[chosen[0]] = (loop, fut, comments[len(head):])
            return list(head), [(loop, _Head(fut), head)]  # type: ignore[arg-type]
        taken, chars = [chosen[0]], text_chars(comments)
        for i in chosen[1:]:
            chars += text_chars(self._waiters[i][2])
            if chars > self._over_chars:
                break
            taken.append(i)
        waiters = [self._waiters[i] for i in taken]
        for i in reversed(taken):
            del self._waiters[i]
        return [c for _loop, _fut, cs in waiters for c in cs], waiters

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            comments, waiters = batch
            metrics.REPLY_BATCH.observe(len(comments))
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Receiver, object]]] = {}
            for loop, fut, value in self._outcomes(comments, waiters):
                if isinstance(fut, _Head):
                    self._carry(fut.fut, value)
                    continue
                if (before := self._carried.pop(fut, None)) is not None:
                    value = _joined(before, value)
                by_loop.setdefault(loop, []).append((fut, value))
            for loop, items in by_loop.items():  # one wake-up per loop and batch, not per request
                loop.call_soon_threadsafe(_resolve, items)
            if self._shares is not None and self._shares.over:
                # a batch of a room over its share: let go of the GIL for a moment, so the event
                # loop can queue the other rooms' requests that arrived meanwhile (they go next)
                time.sleep(OVER_SHARE_PAUSE)

    def _carry(self, fut: asyncio.Future, value: object) -> None:
        before = self._carried.get(fut, [])
        self._carried[fut] = _joined(before, value)

    def _outcomes(self, comments: list[Comment], waiters: list[_Waiter]):
        """(loop, future, outcomes or the error) per request. When the shared batch fails,
        each request is run again on its own, so one hostile request fails alone and the
        others are answered (safe to repeat: a comment id already answered gets the same
        answer and consumes nothing, see replies/limits.py)."""
        try:
            result = self._handle(comments)
        except Exception as exc:
            if len(waiters) == 1:
                loop, fut, _ = waiters[0]
                yield loop, fut, exc  # a 500 for this request only; none hangs
                return
            for loop, fut, request in waiters:
                try:
                    yield loop, fut, self._handle(list(request))
                except Exception as one:
                    yield loop, fut, one
            return
        start = 0
        for loop, fut, request in waiters:
            yield loop, fut, result[start : start + len(request)]
            start += len(request)


def _joined(before: list | BaseException, value: object) -> list | BaseException:
    """The outcomes of a request's pieces so far, or the first error among them."""
    if isinstance(before, BaseException):
        return before
    if isinstance(value, BaseException):
        return value
    return [*before, *value]  # type: ignore[misc]


def _resolve(items: list[tuple[Receiver, object]]) -> None:
    for fut, value in items:
        if fut.done():  # cancelled (the client went away)
            continue
        if isinstance(value, BaseException):
            fut.set_exception(value)
        else:
            fut.set_result(value)


class RoomShares:
    """How many characters each room may still send to the engine: a token bucket per room,
    ``rate`` characters a second up to ``burst``. A busy live room sends a few thousand
    characters a second; a client streaming 2,000-character comments as fast as it can would
    otherwise hold the one engine thread all the time (every other room then waits for the
    GIL and the engine: bench/bench_hostile.py). Rooms not waiting are forgotten once full."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # room → (tokens, when)
        self.over = False  # the last batch was of rooms over their share (see ReplyCoalescer._run)

    def available(self, rooms: Sequence[str]) -> dict[str, float]:
        now = self.clock()
        out = {}
        for room in rooms:
            tokens, when = self._buckets.get(room, (self.burst, now))
            out[room] = min(self.burst, tokens + (now - when) * self.rate)
            self._buckets[room] = (out[room], now)
        for room, (tokens, when) in list(self._buckets.items()):
            if room not in out and tokens + (now - when) * self.rate >= self.burst:
                del self._buckets[room]  # full again: the same as never seen
        return out

    def spend(self, room: str, chars: int) -> None:
        tokens, when = self._buckets.get(room, (self.burst, self.clock()))
        self._buckets[room] = (max(tokens - chars, -self.burst), when)  # a debt of one burst at most


def fair_pick(requests: Sequence[Sequence[Comment]], max_comments: int, max_chars: int, shares: RoomShares | None = None) -> list[int]:
    """Indices of the requests for the next batch: one request per waiting room in turn
    (rooms in the order of their oldest request), until the next would pass ``max_comments``
    or ``max_chars``; the first request is always taken. Returned in arrival order.

    With ``shares``, a room over its share of characters yields to the rooms within theirs:
    its requests are taken only within its room's characters (or when the bucket is full).
    When no waiting room is within its share, the batch is filled as without shares but up
    to one burst of characters (one slice): the engine never idles, a busy room alone runs
    at full speed, and a room within its share that arrives meanwhile waits one slice at most."""
    by_room: dict[str, list[int]] = {}
    for i, comments in enumerate(requests):
        by_room.setdefault(getattr(comments[0], "room", "") if comments else "", []).append(i)
    sizes = [(len(r), text_chars(r)) for r in requests]
    if shares is None:
        return _round_robin(by_room, sizes, max_comments, max_chars, None)
    tokens = shares.available(list(by_room))
    picked = _round_robin(by_room, sizes, max_comments, max_chars, tokens, shares.burst)
    shares.over = not picked
    if not picked:  # everyone waiting is over its share: one burst's worth, so the engine is
        picked = _round_robin(by_room, sizes, max_comments, shares.burst, None)  # soon free for a room within its share
    for i in picked:
        first = requests[i]
        shares.spend(getattr(first[0], "room", "") if first else "", sizes[i][1])
    return picked


def _round_robin(
    by_room: dict[str, list[int]], sizes: list[tuple[int, int]], max_comments: int, max_chars: int,
    tokens: dict[str, float] | None, burst: int = 0,
) -> list[int]:
    """One request per room in turn (see :func:`fair_pick`); with ``tokens``, a room's
    request is skipped, and its room with it, once it would pass the room's characters."""
    queues = [(room, q[::-1]) for room, q in by_room.items()]  # popped from the end: oldest first
    left = dict(tokens) if tokens is not None else None
    picked: list[int] = []
    n_comments = n_chars = 0
    while queues:
        for room, q in list(queues):
            i = q[-1]
            size, chars = sizes[i]
            if left is not None and chars > left[room] and left[room] < burst:
                queues.remove((room, q))  # this room waits for its share to refill
                continue
            if picked and (n_comments + size > max_comments or n_chars + chars > max_chars):
                return sorted(picked)
            picked.append(q.pop())
            n_comments, n_chars = n_comments + size, n_chars + chars
            if left is not None:
                left[room] -= chars
            if not q:
                queues.remove((room, q))
    return sorted(picked)


def text_chars(comments: Sequence[Comment]) -> int:
    """The characters of ``comments``' texts (a batch's and a slice's measure)."""
    return sum(len(t) for c in comments if isinstance(t := getattr(c, "text", None), str))


def slices(comments: Sequence[Comment], max_chars: int) -> list[Sequence[Comment]]:
    """``comments`` cut, in order, into runs of at most ``max_chars`` characters (a comment
    longer than that is a run of its own); a request under the bound stays whole."""
    sizes = [text_chars([c]) for c in comments]
    if sum(sizes) <= max_chars:
        return [comments]
    out: list[Sequence[Comment]] = []
    start = chars = 0
    for i, size in enumerate(sizes):
        if i > start and chars + size > max_chars:
            out.append(comments[start:i])
            start, chars = i, 0
        chars += size
    out.append(comments[start:])
    return out
