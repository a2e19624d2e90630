"""Redis Cluster: the client the service uses when ``REDIS_URL`` is ``redis+cluster://host:port``.

Every key carries its room as a hash tag (``svc:{room}:...``, see ``store/redis.py``), so
each room lives in one slot: its Lua scripts and multi-key commands never cross slots.
Shared state (the state version, the room sets, API keys) lives in the ``{_global}`` slot.

Two things a plain client gives for free need care on a cluster, and are handled here so
the callers stay the same:

* **Pipelines.** redis-py's cluster pipeline sends each node its part of the stack and
  reads the answers, still one round trip, answers in the caller's order
  (``transaction=False``: the reply path, the recorder, the spool). It cannot run a
  MULTI across slots, and the admin writes (``client.pipeline()``) write a room's keys and
  then announce them by bumping the ``{_global}`` state version. So a pipeline asked for
  with a transaction is sent in two steps: the room writes first, then the ``{_global}``
  commands, so an instance that sees the new version always reads the new data.
* **Lua on pipelines.** The cluster pipeline routes ``EVALSHA`` by its keys (one slot);
  ``store.pipeline.execute`` loads scripts on every primary when a node answers NOSCRIPT.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from redis.cluster import ClusterPipeline, RedisCluster

SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
GLOBAL_TAG = "{_global}"


def is_cluster_url(url: str | None) -> bool:
    return bool(url) and urllib.parse.urlsplit(url).scheme in SCHEMES


def is_cluster(client: object) -> bool:
    return isinstance(client, RedisCluster)


def connect_cluster(url: str, **kwargs: Any) -> ServiceCluster:
    """A cluster client from ``redis+cluster://[user:pass@]host:port``: any one node; the
    client discovers the others (CLUSTER SLOTS) and follows MOVED/ASK redirections."""
    parts = urllib.parse.urlsplit(url)
    plain = urllib.parse.urlunsplit(parts._replace(scheme=SCHEMES[parts.scheme], path=""))
    return ServiceCluster.from_url(plain, decode_responses=True, **kwargs)


class ServiceCluster(RedisCluster):
    """``RedisCluster`` whose pipelines behave like the plain client's for our callers."""

    def pipeline(self, transaction: bool | None = None, shard_hint: Any = None) -> ClusterPipeline:
        pipe = super().pipeline(transaction=False, shard_hint=shard_hint)
        # A subclass that only changes execute() and exposes the stack; the constructor's
        # arguments stay redis-py's business.
        pipe.__class__ = OrderedPipeline if transaction is not False else StackPipeline
        pipe.cluster = self
        return pipe


class StackPipeline(ClusterPipeline):
    """The cluster pipeline with ``command_stack`` (what the plain pipeline calls it) showing
    the queued commands, so callers can count and resend them."""

    cluster: ServiceCluster

    @property
    def command_stack(self) -> list:  # type: ignore[override]
        return self._execution_strategy.command_queue

    @command_stack.setter
    def command_stack(self, _value: list) -> None:  # ClusterPipeline.__init__ assigns []
        pass

    def publish(self, channel: str, message: str) -> ClusterPipeline:  # type: ignore[override]
        """redis-py blocks PUBLISH on cluster pipelines; it needs no slot (a cluster
        broadcasts it to every node), so it is queued as a keyless command."""
        return self.execute_command("PUBLISH", channel, message)


class OrderedPipeline(StackPipeline):
    """Writes to room slots first, then the ``{_global}`` commands that announce them."""

    def execute(self, raise_on_error: bool = True) -> list:
        queued = list(self.command_stack)
        shared = [c for c in queued if len(c.args) > 1 and GLOBAL_TAG in str(c.args[1])]
        rooms = [c for c in queued if not (len(c.args) > 1 and GLOBAL_TAG in str(c.args[1]))]
        try:
            for part in (rooms, shared):
                if part:
                    self.send_cluster_commands(part, raise_on_error=False)
        finally:
            self.reset()
        results = [c.result for c in queued]
        if raise_on_error:
            for r in results:
                if isinstance(r, Exception):
                    raise r
        return results
