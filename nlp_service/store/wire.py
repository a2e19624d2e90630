"""A pipeline's one round trip without redis-py's per-command machinery.

The reply path sends one pipeline per batch of comments (about 17 commands, most of them
EVALSHA with a few dozen arguments, and the pulse counters). redis-py 8 spends ~200 µs of
CPU on such a pipeline: each command is packed through a Python generator over its
arguments and a fieldset check, and the execute path adds retry, observability and fieldset
pre-flight layers; the engine thread holds the GIL all that time, and the event loop waits
for it. Here the commands are packed by hiredis' C packer directly (what redis-py's own hiredis
packer calls, minus the Python around it: the bytes are the same, tested in
tests/store/test_wire.py) and sent in one write. The replies are taken from the connection's
own hiredis reader in one loop (:func:`_replies`), with what redis-py's ``parse_response``
does to each of them (the same decoding, since it is the same reader; the same response
callbacks, error values and ``EMPTY_RESPONSE`` option): redis-py read each reply through
five Python layers (Pipeline.parse_response, Redis.parse_response, the connection's and the
parser's read_response, the timeout and health-check bookkeeping), ~5 µs a reply and ~15
replies a round trip on the reply path. A reply or an option this loop does not cover goes
through ``parse_response`` as before.

Only the plain case is taken (a non-transactional ``redis.client.Pipeline`` with no
``Script`` objects or WATCH); anything else, and any connection error, goes through
``pipe.execute`` as before (which retries on a fresh connection, as redis-py does).
"""

from __future__ import annotations

import time

import hiredis
import redis
from redis._parsers.hiredis import NOT_ENOUGH_DATA, _HiredisParser
from redis.client import EMPTY_RESPONSE, NEVER_DECODE, Pipeline
from redis.exceptions import ResponseError
from redis.utils import HIREDIS_AVAILABLE

from nlp_service.core.speedups import pack_commands


def pack(commands: list[tuple]) -> bytes:
    """The RESP bytes of ``commands`` (argument tuples), as redis-py's hiredis packer writes
    them. Raises TypeError for what hiredis does not pack itself (a command name with a
    space, a bytearray, a bool or None): the caller then lets redis-py pack (or refuse) it.
    Compiled (``_speedups.pack_commands``: str, bytes, int and float arguments, the reply
    path's) when built; hiredis formats each length with sprintf, ~5x the instructions."""
    if pack_commands is not None:
        try:
            return pack_commands(commands)
        except TypeError:  # another type (a memoryview, ...): hiredis, or redis-py, packs it
            pass
    out = []
    for args in commands:
        name = args[0]
        if isinstance(name, str) and " " in name:  # "SCRIPT LOAD": redis-py splits the name
            raise TypeError("command name with a space")
        out.append(hiredis.pack_command(args))
    return b"".join(out)


class Sent:
    """A plain pipeline's commands written to a connection, their replies not read yet
    (:func:`start`, :func:`finish`). Rounds sent on one connection are read in the order
    they were sent; the last of them to be read gives the connection back to the pool."""

    __slots__ = ("pipe", "conn", "stack", "release", "got", "error")

    def __init__(self, pipe: Pipeline, conn: redis.Connection, stack: list[tuple[tuple, dict]]) -> None:
        self.pipe, self.conn, self.stack = pipe, conn, stack
        self.release = True  # False once a later round was sent on the same connection
        self.got: list | None = None  # the raw replies taken so far by collect() (read by an event loop)
        self.error: Exception | None = None  # set by fail(): what finish() raises


def send(pipe: Pipeline) -> list | None:
    """``pipe.execute(raise_on_error=False)``: the replies (errors as exception values), the
    pipeline reset; None when this path does not apply (the caller runs ``pipe.execute``)."""
    sent = start(pipe)
    return None if sent is None else finish(sent)


def start(pipe: Pipeline, after: Sent | None = None) -> Sent | None:
    """Write ``pipe``'s commands to a connection without reading their replies; with ``after``
    (a round sent, not yet read, on the same pool), to its connection: Redis runs the two in
    the order sent, and the caller does other work meanwhile (the reply engine screens its
    next batch while Redis runs this one: live/coalesce.py). None when this path does not
    apply or the write failed (the caller then runs ``pipe.execute``, which retries)."""
    if not HIREDIS_AVAILABLE or type(pipe) is not Pipeline or pipe.transaction or pipe.explicit_transaction or pipe.scripts or pipe.watching:
        return None
    stack = pipe.command_stack
    if not stack:
        return None
    try:
        packed = pack([args for args, _ in stack])
    except TypeError:
        return None
    pool = pipe.connection_pool
    chained = after is not None and after.pipe.connection_pool is pool and after.conn._sock is not None
    try:
        conn = after.conn if chained else pool.get_connection()  # type: ignore[union-attr]
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return None  # pipe.execute meets the same error, and raises it
    try:
        conn.send_packed_command([packed])
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        conn.disconnect()  # some commands may have run: redis-py's own retry resends them all too
        if not chained:
            pool.release(conn)
        return None
    if chained:
        after.release = False  # type: ignore[union-attr]
    return Sent(pipe, conn, list(stack))


def finish(sent: Sent) -> list | None:
    """The replies of a round from :func:`start`, errors as values, the pipeline reset; None
    when the connection failed (this round's, or an earlier round's on it, which drops
    the replies of every round sent after it): the caller runs ``pipe.execute``."""
    conn, pipe = sent.conn, sent.pipe
    if sent.got is not None or sent.error is not None:  # read by an event loop (collect, fail)
        return _collected(sent)
    try:
        if conn._sock is None:  # an earlier round on this connection failed and closed it
            return None
        results = _replies(pipe, conn, sent.stack)
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        conn.disconnect()  # some commands may have run: redis-py's own retry resends them all too
        return None
    finally:
        if sent.release:
            pipe.connection_pool.release(conn)
    pipe.reset()
    return results


def loop_readable(sent: Sent) -> bool:
    """Whether an event loop can take this round's replies off its connection itself
    (:func:`feed`, :func:`collect`): hiredis parses them, and none needs redis-py's own
    parse_response (see :func:`_replies`)."""
    parser = sent.conn._parser
    return type(parser) is _HiredisParser and getattr(parser, "_reader", None) is not None and not any(
        NEVER_DECODE in o or a[0] in _PARSED_ALONE for a, o in sent.stack
    )


def feed(conn: redis.Connection, size: int = 65536) -> None:
    """What the connection's socket holds (it is readable: this does not wait) into its
    hiredis reader. Raises ``redis.ConnectionError`` when the server closed it."""
    try:
        data = conn._sock.recv(size)
    except (BlockingIOError, InterruptedError):
        return
    except OSError as exc:
        raise redis.ConnectionError(f"Error while reading from {conn._host_error()} : {exc.args}") from None
    if not data:
        raise redis.ConnectionError(f"Connection closed by server ({conn._host_error()})")
    conn._parser._reader.feed(data)


def collect(sent: Sent) -> bool:
    """Take this round's replies that the connection's reader holds, in order (an earlier
    round on the connection must have all of its own); True once all of them are in."""
    parser = sent.conn._parser
    reader, push = parser._reader, parser._hiredis_PushNotificationType
    got = sent.got if sent.got is not None else []
    sent.got = got
    while len(got) < len(sent.stack):
        response = reader.gets()
        if response is NOT_ENOUGH_DATA:
            return False
        if push is not None and isinstance(response, push):
            parser.handle_push_response(response)  # not a reply: the next one is
            continue
        got.append(response)
    return True


def fail(sent: Sent, exc: Exception) -> None:
    """The round's replies will not come (the connection failed or the server did not answer
    in time): its connection is closed, so no late reply is read as another's, and
    :func:`finish` raises ``exc``."""
    sent.error = exc
    sent.conn.disconnect()


def _collected(sent: Sent) -> list:
    """:func:`finish` of a round read by an event loop: ``_replies``' results of its replies."""
    conn, pipe = sent.conn, sent.pipe
    try:
        if sent.error is not None:
            raise sent.error
        callbacks = pipe.response_callbacks
        results = [_result(callbacks, args, options, response) for (args, options), response in zip(sent.stack, sent.got or [], strict=True)]
    except BaseException:
        conn.disconnect()
        raise
    finally:
        if sent.release:
            pipe.connection_pool.release(conn)
    pipe.reset()
    return results


_PARSED_ALONE = {"WATCH", *Pipeline.UNWATCH_COMMANDS}  # parse_response also tracks the WATCH state on these


def _replies(pipe: Pipeline, conn: redis.Connection, stack: list[tuple[tuple, dict]]) -> list:
    """The replies of ``stack`` (already sent on ``conn``), errors as values: what
    ``pipe.parse_response`` gives for each, read in one loop off the connection's hiredis
    reader. Raises as the connection's ``read_response`` does (and disconnects it) when the
    socket fails."""
    parser = conn._parser
    reader = getattr(parser, "_reader", None)
    if type(parser) is not _HiredisParser or reader is None or any(NEVER_DECODE in o or a[0] in _PARSED_ALONE for a, o in stack):
        return [_parse_one(pipe, conn, args, options) for args, options in stack]
    callbacks = pipe.response_callbacks
    push = parser._hiredis_PushNotificationType
    results = []
    try:
        for args, options in stack:
            while True:
                response = reader.gets()
                while response is NOT_ENOUGH_DATA:
                    parser.read_from_socket()
                    response = reader.gets()
                if push is None or not isinstance(response, push):
                    break
                parser.handle_push_response(response)  # not this command's reply: the next one is
            results.append(_result(callbacks, args, options, response))
    except OSError as exc:  # socket.timeout included: what the connection's read_response raises
        conn.disconnect()
        if isinstance(exc, TimeoutError):  # socket.timeout
            raise redis.TimeoutError(f"Timeout reading from {conn._host_error()}") from None
        raise redis.ConnectionError(f"Error while reading from {conn._host_error()} : {exc.args}") from None
    except BaseException:
        conn.disconnect()
        raise
    if conn.health_check_interval:
        conn.next_health_check = time.monotonic() + conn.health_check_interval
    return results


def _result(callbacks: dict, args: tuple, options: dict, response: object) -> object:
    """What ``pipe.parse_response`` makes of one raw hiredis reply: an error reply as its
    value (or the command's EMPTY_RESPONSE), the command's response callback applied.
    Raises the connection error hiredis gives for a broken protocol stream."""
    if isinstance(response, redis.ConnectionError):
        raise response
    if isinstance(response, list) and response and isinstance(response[0], redis.ConnectionError):
        raise response[0]
    if isinstance(response, ResponseError):
        return options[EMPTY_RESPONSE] if EMPTY_RESPONSE in options else response
    callback = _callback(callbacks, args[0])
    if callback is not None:
        options = {k: v for k, v in options.items() if k != EMPTY_RESPONSE and k != "keys"}
        response = callback(response, **options)  # type: ignore[operator]
    return response


def _callback(callbacks: dict, name: object) -> object | None:
    """``callbacks[name] if name in callbacks else None``. redis-py's CaseInsensitiveDict
    stores its keys upper-case but upper-cases every name it is asked for in Python (0.4–1 µs
    more a reply, twice on a hit); the names we send are upper-case already, so the plain dict lookup answers, and
    only another name (lower-case, bytes) asks the dict's own methods."""
    callback = dict.get(callbacks, name)
    if callback is None and not (type(name) is str and name.isupper()):
        return callbacks[name] if name in callbacks else None
    return callback


def _parse_one(pipe: Pipeline, conn: redis.Connection, args: tuple, options: dict) -> object:
    try:
        return pipe.parse_response(conn, args[0], **options)
    except ResponseError as exc:
        return exc
