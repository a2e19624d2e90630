"""Lua scripts on pipelines, in one round trip.

redis-py's Script objects, queued on a pipeline, make every ``execute()`` send a SCRIPT EXISTS
first: a second round trip per batch on the reply path. We queue EVALSHA directly instead and
load the scripts only when the server answers NOSCRIPT (after a restart or a SCRIPT FLUSH); a
command that got NOSCRIPT did not run, so it is simply sent again. ``after`` adds bookkeeping
outside a room's slot to the same round trip. (The keys themselves are ``store/redis.py``'s.)
"""

from __future__ import annotations

from collections.abc import Sequence

import redis
from redis.client import Pipeline
from redis.cluster import ClusterPipeline
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from nlp_service.store import wire

_scripts: dict[str, str] = {}  # sha → Lua source of every script registered here


def register_script(client: redis.Redis, lua: str) -> Script:
    """``client.register_script(lua)``, remembered so :func:`execute` can reload it."""
    script = client.register_script(lua)
    _scripts[script.sha] = lua
    return script


def run_script(target: redis.Redis | Pipeline, script: Script, keys: Sequence[object], args: Sequence[object]):
    """Run ``script`` now on a client, or queue it on a pipeline without the SCRIPT EXISTS
    round trip (see :func:`execute`)."""
    if isinstance(target, Pipeline | ClusterPipeline):
        # (redis-py blocks the evalsha() method on cluster pipelines; the command itself is
        # routed by its keys, which are all in one room's slot)
        return target.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
    return script(keys=keys, args=args, client=target)


def _plain(pipe: Pipeline | ClusterPipeline) -> bool:
    """Whether a command can go straight onto ``pipe``'s command stack: a plain pipeline, not
    in WATCH mode (which runs commands at once)."""
    return type(pipe) is Pipeline and not pipe.watching


def queue(pipe: Pipeline | ClusterPipeline, *command: object) -> None:
    """``pipe.execute_command(*command)``: the command queued, its reply parsed as redis-py's
    own method would queue it (callers pass the argument tuple that method builds: the same
    bytes go out, tested in tests/store/test_pipeline_queue.py). On a plain pipeline the tuple
    goes straight onto the command stack, as ``Pipeline.pipeline_execute_command`` puts it:
    redis-py's per-command method, its argument wrappers and ``execute_command`` cost 0.2–0.8 µs
    more a command (hincrby, zadd with options), ~16–35 commands a batch of the reply path's
    bookkeeping (the pulse counters, the feed's XADD)."""
    if _plain(pipe) and command[0] != "WATCH":
        pipe.command_stack.append((command, {}))
    else:  # WATCH mode runs commands at once; a cluster pipeline queues its own objects
        pipe.execute_command(*command)


def queue_all(pipe: Pipeline | ClusterPipeline, commands: list[tuple]) -> None:
    """:func:`queue` of each command in turn, for commands none of which is WATCH (the
    bookkeeping's: a pulse update is ~10–30 commands): the pipeline's kind is looked at once."""
    if _plain(pipe):
        pipe.command_stack.extend([(command, {}) for command in commands])
    else:
        for command in commands:
            pipe.execute_command(*command)


def after(pipe: Pipeline, *command: object) -> None:
    """Send ``command`` at the end of ``pipe``'s round trip (in :func:`execute`), its answer
    left out of the results: bookkeeping outside the caller's slot (the ``{_global}`` room
    sets) that a room's script may not touch on a cluster. Repeats are sent once."""
    extra = pipe.__dict__.setdefault("_nlp_after", {})
    extra[command] = None


def _stack(pipe: Pipeline | ClusterPipeline) -> list[tuple[tuple, dict]]:
    if isinstance(pipe, ClusterPipeline):
        return [(c.args, c.options) for c in pipe._execution_strategy.command_queue]
    return list(pipe.command_stack)


class Round:
    """A pipeline on its way: sent (a plain pipeline, :func:`start`), or to be run when its
    result is asked for (:func:`finish`: any other pipeline, or when the write failed)."""

    __slots__ = ("pipe", "stack", "extra", "sent")

    def __init__(self, pipe: Pipeline | ClusterPipeline, stack: list[tuple[tuple, dict]], extra: list[tuple], sent: wire.Sent | None) -> None:
        self.pipe, self.stack, self.extra, self.sent = pipe, stack, extra, sent


def execute(pipe: Pipeline | ClusterPipeline, raise_on_error: bool = True) -> list:
    """Send the pipeline in one round trip (on a cluster, one per node, in parallel); on
    NOSCRIPT, load the scripts (on every primary of a cluster) and resend only the commands
    that failed with it. Raises the first other error, like ``execute()``; with
    ``raise_on_error=False`` a command's error is its result (the others' stand: one room's
    failing script must not cost the other rooms of the batch theirs). A connection error
    raises either way."""
    return finish(start(pipe), raise_on_error)


def start(pipe: Pipeline | ClusterPipeline, after: Round | None = None) -> Round:
    """The first half of :func:`execute`: a plain pipeline's commands written to Redis, on
    ``after``'s connection when ``after`` is a round sent and not finished yet (Redis runs
    them in the order sent); :func:`finish` reads the replies. Never raises a Redis error:
    a failed write leaves the round to ``pipe.execute`` in :func:`finish`, which retries."""
    extra = list(pipe.__dict__.pop("_nlp_after", {}))
    for command in extra:
        queue(pipe, *command)
    stack = _stack(pipe)
    sent = wire.start(pipe, after.sent if after is not None else None)  # None: not the plain case, or the write failed
    return Round(pipe, stack, extra, sent)


def finish(round_: Round, raise_on_error: bool = True) -> list:
    """The second half of :func:`execute`: the round's results (see there)."""
    pipe, stack = round_.pipe, round_.stack
    results = wire.finish(round_.sent) if round_.sent is not None else None  # the plain case, without redis-py's per-command layers
    if results is None:
        results = pipe.execute(raise_on_error=False)
    missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
    if missing:
        if isinstance(pipe, ClusterPipeline):
            client = pipe.cluster  # set by ServiceCluster.pipeline
        else:
            client = redis.Redis(connection_pool=pipe.connection_pool)
        for lua in list(_scripts.values()):
            client.script_load(lua)  # a cluster client loads it on every primary
        retry = client.pipeline(transaction=False)
        for i in missing:
            args, options = stack[i]
            retry.execute_command(*args, **options)
        for i, r in zip(missing, retry.execute(raise_on_error=False), strict=True):
            results[i] = r
    if round_.extra:
        results = results[: len(results) - len(round_.extra)]
    for r in results:
        if raise_on_error and isinstance(r, Exception):
            raise r
    return results
