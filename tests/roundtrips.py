"""Counting Redis round trips for real: a client whose connections count what they send.

Every request to the server (one command, or a whole pipeline) is one
``send_packed_command`` on a connection, answered before the next; counting those calls
counts round trips, whatever the commands are.
"""

from __future__ import annotations

import redis


class RoundTrips:
    def __init__(self) -> None:
        self.count = 0
        self.sent = b""  # every byte this client's connections sent, for asserting on commands

    def reset(self) -> None:
        self.count, self.sent = 0, b""

    def sent_command(self, *words: str) -> bool:
        """Whether a command starting with ``words`` (e.g. "SCRIPT", "LOAD") was sent: RESP
        writes each word as its own bulk string, so the words follow each other as lines."""
        packed = b"".join(b"$%d\r\n%s\r\n" % (len(w), w.encode()) for w in words)
        return packed.lower() in self.sent.lower()


def counting_client(client: redis.Redis) -> tuple[redis.Redis, RoundTrips]:
    """A client for the same server and database as ``client``, and its round-trip counter
    (connection set-up is not counted: the connection is opened before this returns)."""
    trips = RoundTrips()
    base = client.connection_pool.connection_class

    class Counting(base):
        def send_packed_command(self, command, check_health=True):
            trips.count += 1
            trips.sent += command if isinstance(command, bytes | bytearray) else b"".join(bytes(part) for part in command)
            return super().send_packed_command(command, check_health)

    pool = redis.ConnectionPool(connection_class=Counting, **client.connection_pool.connection_kwargs)
    counted = redis.Redis(connection_pool=pool)
    counted.ping()  # opens the connection (HELLO, SELECT, CLIENT SETINFO) before counting
    trips.reset()
    return counted, trips
