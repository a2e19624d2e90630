"""A daemon thread that calls one function every ``interval`` seconds until stopped.

The state poller and the moderation recorder both need exactly this; a failing call is
logged and the loop goes on (a Redis blip must not stop polling or recording).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)


class PeriodicThread:
    def __init__(self, name: str, interval: float, tick: Callable[[], object]) -> None:
        self.name = name
        self.interval = interval
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except redis.RedisError as exc:  # keep going: the next tick retries
                log.warning("%s: redis unavailable: %s", self.name, exc)
            except Exception:  # a bug in one tick must not stop the loop
                log.exception("%s failed", self.name)
