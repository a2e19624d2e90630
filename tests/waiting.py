"""Waiting on the code's own signals instead of the clock.

A test that sleeps "long enough" or asserts "within a second" passes or fails with the
machine's speed. These helpers block on a hook of the code under test; their timeout is
only a guard against a hang (a broken build fails after it), never the thing asserted.
"""

from __future__ import annotations

import threading

from nlp_service.replies.state import StateCache

HANG_GUARD_SECONDS = 60.0


class StateWatch:
    """Follows a polling :class:`StateCache` through its ``on_change`` hook."""

    def __init__(self, state: StateCache) -> None:
        self.state = state
        self._changed = threading.Condition()
        state.on_change(self._notify)

    def _notify(self, _version: int) -> None:
        with self._changed:
            self._changed.notify_all()

    def reaches(self, version: int) -> bool:
        """True once the cache has refreshed to ``version`` or later."""
        with self._changed:
            return self._changed.wait_for(lambda: self.state.version >= version, HANG_GUARD_SECONDS)
