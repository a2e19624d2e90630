"""Long comments are analysed and moderated in a lane of their own before they join the batch.

The engine thread answers every room's batch; a 2,000-character comment dense with listed
words costs it 20-25 ms (moderation's homophone walk ~10 ms, analysis ~5 ms), and a question
of another room that arrives meanwhile waited for all of it, however the batches were cut
(bench/bench_hostile.py: a client streaming such comments into one room doubled the other
rooms' p50). So a request's long comments (at least ``min_chars`` characters) first pass
through this lane: one thread that analyses and moderates them one comment at a time, rooms
in turn, into the analysis cache and the moderation memo; the request then joins the shared
batch, where its comments cost the engine little more than a short one. The lane thread
holds the GIL only between two of Python's switch intervals, so the event loop and the
engine thread go on meanwhile; nothing in the lane decides anything (the batch still
does it all, in one round trip), so a comment whose cached result was pushed out since is
simply worked out again there.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence

from nlp_service.live.types import Comment

log = logging.getLogger(__name__)


class _Request:
    __slots__ = ("loop", "fut", "left")

    def __init__(self, loop: asyncio.AbstractEventLoop, fut: asyncio.Future, comments: list[Comment]) -> None:
        self.loop, self.fut, self.left = loop, fut, deque(comments)


class Prescreen:
    """``await ready(comments)`` returns once ``work`` has run on each long comment of
    ``comments`` (none: at once). ``min_chars=0`` turns the lane off."""

    def __init__(self, work: Callable[[Comment], None], min_chars: int, rest: float = 1.0, switch_seconds: float = 0.001) -> None:
        self._work = work
        self.min_chars = min_chars
        self.rest = rest  # after each comment the lane sleeps this many times the time it took
        self.switch_seconds = switch_seconds
        self._usual_switch: float | None = None  # the interval to put back when the lane is idle
        self._rooms: OrderedDict[str, deque[_Request]] = OrderedDict()  # rooms in turn
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._stopping = False

    def long(self, comments: Sequence[Comment]) -> list[Comment]:
        if not self.min_chars:
            return []
        return [c for c in comments if isinstance(c.text, str) and len(c.text) >= self.min_chars]

    async def ready(self, comments: Sequence[Comment]) -> None:
        long = self.long(comments)
        if not long:
            return
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        with self._lock:
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="reply-prescreen", daemon=True)
                self._thread.start()
            self._rooms.setdefault(long[0].room, deque()).append(_Request(loop, fut, long))
            self._ready.notify()
        await fut

    def _next(self) -> tuple[str, deque[_Request], Comment] | None:
        """The next comment: the oldest request of the room whose turn it is, one comment.
        The room is out of the turn while its comment is worked on (``_back``), so a room
        that arrives meanwhile goes before it."""
        with self._lock:
            if not self._rooms and self._usual_switch is not None:
                sys.setswitchinterval(self._usual_switch)  # idle: the process's own interval again
                self._usual_switch = None
            while not self._rooms and not self._stopping:
                self._ready.wait()
            if self._stopping:
                return None
            if self._usual_switch is None:
                self._usual_switch = sys.getswitchinterval()
                sys.setswitchinterval(min(self.switch_seconds, self._usual_switch))
            room, requests = self._rooms.popitem(last=False)
            return room, requests, requests[0].left.popleft()

    def _back(self, room: str, requests: deque[_Request]) -> None:
        """After a comment: the room's requests go to the back of the turn."""
        with self._lock:
            if requests and not requests[0].left:
                _wake(requests.popleft())
            if (newer := self._rooms.pop(room, None)) is not None:
                requests.extend(newer)
            if requests:
                self._rooms[room] = requests

    def _run(self) -> None:
        while (item := self._next()) is not None:
            room, requests, comment = item
            began = time.perf_counter()
            if not requests[0].fut.cancelled():  # the client went away: skip the work
                try:
                    self._work(comment)
                except Exception:  # the batch meets the same error and answers it for this comment
                    log.debug("prescreen of %s failed", comment.id, exc_info=True)
            self._back(room, requests)
            # rest as long as the work took: the lane never takes more than about half of the
            # process (a stream of long comments shares it with every other room's)
            time.sleep((time.perf_counter() - began) * self.rest)

    def close(self) -> None:
        with self._lock:
            if self._usual_switch is not None:
                sys.setswitchinterval(self._usual_switch)
                self._usual_switch = None
            self._stopping = True
            self._ready.notify()
            thread, self._thread = self._thread, None
            waiting = [r for requests in self._rooms.values() for r in requests]  # (not the one in hand: _back wakes it)
            self._rooms.clear()
        for r in waiting:  # their batch works them out itself
            _wake(r)
        if thread is not None:
            thread.join(timeout=5)


def _wake(request: _Request) -> None:
    try:
        request.loop.call_soon_threadsafe(_done, request.fut)
    except RuntimeError:  # its loop is closed: nobody waits
        pass


def _done(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)
