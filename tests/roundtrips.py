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


def counting_client(client: redis.Redis) -> tuple[redis.Redis, RoundTrips]:
    """A client for the same server and database as ``client``, and its round-trip counter
    (connection set-up is not counted: the connection is opened before this returns)."""
    trips = RoundTrips()
    base = client.connection_pool.connection_class

    class Counting(base):
        def send_packed_command(self, command, check_health=True):
            trips.count += 1
            return super().send_packed_command(command, check_health)

    pool = redis.ConnectionPool(connection_class=Counting, **client.connection_pool.connection_kwargs)
    counted = redis.Redis(connection_pool=pool)
    counted.ping()  # opens the connection (HELLO, SELECT, CLIENT SETINFO) before counting
    trips.count = 0
    return counted, trips
