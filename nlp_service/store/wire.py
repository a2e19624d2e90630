"""A pipeline's one round trip without redis-py's per-command machinery.

The reply path sends one pipeline per batch of comments (about 17 commands, most of them
EVALSHA with a few dozen arguments, and the pulse counters). redis-py 8 spends ~200 µs of
CPU on such a pipeline: each command is packed through a Python generator over its
arguments and a fieldset check, and the execute path adds retry, observability and fieldset
pre-flight layers; the engine thread holds the GIL all that time, and the event loop waits
for it. Here the commands are packed by hiredis' C packer directly (what redis-py's own hiredis
packer calls, minus the Python around it: the bytes are the same, tested in
tests/store/test_wire.py) and sent in one write, and each reply is read and post-processed by
redis-py's own ``parse_response`` (same decoding, callbacks and errors): ~35-50 µs a pipeline.

Only the plain case is taken (a non-transactional ``redis.client.Pipeline`` with no
``Script`` objects or WATCH); anything else, and any connection error, goes through
``pipe.execute`` as before (which retries on a fresh connection, as redis-py does).
"""

from __future__ import annotations

import hiredis
import redis
from redis.client import Pipeline
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


def send(pipe: Pipeline) -> list | None:
    """``pipe.execute(raise_on_error=False)``: the replies (errors as exception values), the
    pipeline reset; None when this path does not apply (the caller runs ``pipe.execute``)."""
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
    conn = pool.get_connection()
    try:
        conn.send_packed_command([packed])
        results = []
        for args, options in stack:
            try:
                results.append(pipe.parse_response(conn, args[0], **options))
            except ResponseError as exc:
                results.append(exc)
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        conn.disconnect()  # some commands may have run: redis-py's own retry resends them all too
        return None
    finally:
        pool.release(conn)
    pipe.reset()
    return results
