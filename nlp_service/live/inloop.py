"""Reply batches on the event loop itself, each round trip read when Redis answers it.

The coalescer (``coalesce.py``) runs the engine in a thread of its own and waits there for
each round trip; the event loop hands it every request and takes every answer back. With
two workers on two cores that cost more than the work: each round of requests went in
lock-step (parse, hand over, screen, wait for Redis, hand back, respond), the two threads
contended for the GIL, and the machine sat partly idle while the bare FastAPI app kept it
busy (issue 15). Here the requests that HTTP protocol reads in one loop turn form a batch,
screened at the end of that turn (:meth:`ReplyEngine.begin`); its round trip is written to
Redis and the loop goes on reading requests, screening the next batch, whose round trip
follows on the same connection (Redis runs them in the order sent). When the Redis socket
is readable the loop takes the replies off it (``store/wire.feed``, ``collect``), finishes the
batches in order (:meth:`ReplyEngine.finish`) and writes their responses. No thread hand-off,
no second thread for the GIL, and the screening of one batch overlaps the round trip of the
one before.

What stays with the coalescer (``Services.reply_to`` decides): requests with long comments
(the prescreen lane), requests cut into slices, the ASGI path, and a Redis Cluster client.
A batch that fails is run again one request at a time, so one hostile request fails alone
(as in the coalescer). A round Redis has not answered within ``timeout_seconds`` fails:
its connection is closed (a late reply is never read as another's) and its comments get
``store_unavailable``, the flagged ones going to the spool, as when Redis is away.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Any

import redis

from nlp_service.core import metrics
from nlp_service.live.coalesce import Receiver, text_chars
from nlp_service.live.engine import Pending, ReplyEngine
from nlp_service.live.types import Comment, Outcome
from nlp_service.store import wire

_Request = tuple[Receiver, Sequence[Comment]]


class LoopReplies:
    """The reply engine driven from one event loop (only ever touched on that loop)."""

    read_size = 65536  # bytes taken off the Redis socket a read (tests make it small)

    def __init__(self, engine: ReplyEngine, loop: asyncio.AbstractEventLoop, max_batch: int, max_chars: int, timeout_seconds: float) -> None:
        self.engine, self.loop = engine, loop
        self.max_batch, self.max_chars, self.timeout_seconds = max_batch, max_chars, timeout_seconds
        self._queue: list[_Request] = []
        self._due = False  # a batch is due at the end of this loop turn
        # rounds written and not answered, per connection, in the order sent
        self._rounds: dict[Any, deque[tuple[Pending, list[_Request]]]] = {}
        self._timers: dict[Any, asyncio.TimerHandle] = {}
        self._fds: dict[Any, int] = {}  # the socket each connection's reader watches (by number: it outlives a close)
        self._last: Pending | None = None  # the last batch sent: the next one follows it on its connection

    def submit(self, comments: Sequence[Comment], receiver: Receiver) -> None:
        """Queue one request; the batch of this loop turn is screened at the end of the turn."""
        self._queue.append((receiver, comments))
        if not self._due:
            self._due = True
            self.loop.call_soon(self._run)

    # --- batches --------------------------------------------------------------------------
    def _run(self) -> None:
        self._due = False
        queue, self._queue = self._queue, []
        for requests in _batches(queue, self.max_batch, self.max_chars):
            self._begin(requests)

    def _begin(self, requests: list[_Request]) -> None:
        comments = [c for _, cs in requests for c in cs]
        metrics.REPLY_BATCH.observe(len(comments))
        after = self._last  # set only for a round the wire wrote (see below)
        try:
            pending = self.engine.begin(comments, None, after)
        except Exception:
            self._one_by_one(requests)
            return
        sent, before = _written(pending), _written(after)
        ahead = before.conn if before is not None else None
        if ahead is not None and (ahead._sock is None or (sent is not None and sent.conn is ahead and not wire.loop_readable(sent))):
            # the write behind the rounds in flight failed (and closed their connection), or
            # this round's replies need redis-py's own reading, which would take theirs: they
            # fail now (as Redis away), not when their time is up
            self._fail(ahead, redis.ConnectionError("the reply batches' Redis connection failed"))
        if sent is None or not wire.loop_readable(sent):  # no round trip, or one redis-py reads
            self._finish(pending, requests)
            return
        self._last = pending
        conn = sent.conn
        rounds = self._rounds.get(conn)
        if rounds is None:
            rounds = self._rounds[conn] = deque()
            self._fds[conn] = fd = conn._sock.fileno()
            self.loop.add_reader(fd, self._readable, conn)
            self._arm(conn)
        rounds.append((pending, requests))

    def _readable(self, conn: Any) -> None:
        """Redis answered on ``conn``: finish the rounds whose replies are all in, in order."""
        rounds = self._rounds[conn]
        try:
            wire.feed(conn, self.read_size)
        except redis.ConnectionError as exc:
            self._fail(conn, exc)
            return
        while rounds:
            pending, requests = rounds[0]
            if not wire.collect(_written(pending)):  # type: ignore[arg-type]
                return
            rounds.popleft()
            if not rounds:
                self._forget(conn)  # before finish gives the connection back to the pool
            else:
                self._arm(conn)  # the next round's own time starts now
            self._finish(pending, requests)

    def _arm(self, conn: Any) -> None:
        timer = self._timers.pop(conn, None)
        if timer is not None:
            timer.cancel()
        self._timers[conn] = self.loop.call_later(self.timeout_seconds, self._expire, conn)

    def _expire(self, conn: Any) -> None:
        self._timers.pop(conn, None)
        self._fail(conn, redis.TimeoutError(f"Redis did not answer a reply batch in {self.timeout_seconds:g} s"))

    def _fail(self, conn: Any, exc: Exception) -> None:
        """Every round on ``conn`` fails with ``exc`` (the engine spools and answers them)."""
        rounds = self._rounds.get(conn, deque())
        self._forget(conn)
        for pending, _ in rounds:
            wire.fail(_written(pending), exc)  # type: ignore[arg-type]
        for pending, requests in rounds:
            self._finish(pending, requests)

    def _forget(self, conn: Any) -> None:
        self._rounds.pop(conn, None)
        fd = self._fds.pop(conn, None)
        if fd is not None:
            self.loop.remove_reader(fd)
        timer = self._timers.pop(conn, None)
        if timer is not None:
            timer.cancel()
        last = _written(self._last)
        if last is not None and last.conn is conn:
            self._last = None  # the next batch takes a connection of its own

    def _finish(self, pending: Pending, requests: list[_Request]) -> None:
        try:
            outcomes = self.engine.finish(pending)
        except Exception:
            self._one_by_one(requests)
            return
        start = 0
        for receiver, comments in requests:
            _give(receiver, outcomes[start : start + len(comments)])
            start += len(comments)

    def _one_by_one(self, requests: list[_Request]) -> None:
        """The shared batch failed: each request again on its own (a blocking round trip of
        its own, on the loop: a rare path), so one hostile request fails alone. Safe to
        repeat: a comment id already answered gets the same answer and consumes nothing."""
        for receiver, comments in requests:
            try:
                _give(receiver, self.engine.handle(list(comments)))
            except Exception as exc:
                _give(receiver, exc)

    def close(self) -> None:
        """Fail what is still in flight (the engine answers it as if Redis were away), on the
        loop: from another thread, in the loop's next turn (nothing, once the loop is closed)."""
        if not self._rounds or self.loop.is_closed():
            return
        try:
            on_loop = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._fail_all()
        else:
            self.loop.call_soon_threadsafe(self._fail_all)

    def _fail_all(self) -> None:
        for conn in list(self._rounds):
            self._fail(conn, redis.ConnectionError("the service is stopping"))


def _written(pending: Pending | None) -> wire.Sent | None:
    """The batch's round as the wire wrote it (None: no batch, no round trip, or not written
    by the wire: a cluster pipeline, a failed write)."""
    return pending.sent.round.sent if pending is not None and pending.sent is not None else None


def _give(receiver: Receiver, value: list[Outcome] | BaseException) -> None:
    if receiver.done():  # the client went away
        return
    if isinstance(value, BaseException):
        receiver.set_exception(value)
    else:
        receiver.set_result(value)


def _batches(queue: list[_Request], max_comments: int, max_chars: int) -> list[list[_Request]]:
    """The turn's requests in arrival order, cut into batches of whole requests of at most
    ``max_comments`` comments and ``max_chars`` characters (a request alone may be more)."""
    out: list[list[_Request]] = []
    batch: list[_Request] = []
    n = chars = 0
    for request in queue:
        size, length = len(request[1]), text_chars(request[1])
        if batch and (n + size > max_comments or chars + length > max_chars):
            out.append(batch)
            batch, n, chars = [], 0, 0
        batch.append(request)
        n, chars = n + size, chars + length
    if batch:
        out.append(batch)
    return out
