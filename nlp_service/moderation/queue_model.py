"""The queue's grouping rule in memory, for the eval (``evaluate.evaluate_queue``): how many
items a moderator would see for a recorded stream. It is the rule ``OBSERVE_LUA`` applies
(``queue_scripts.py``), kept beside it and tested equal to it on a replayed room
(``tests/moderation/test_queue_model.py``): a flagged comment joins the item of its room,
group form and action whose last comment came at most the window before it (in comment time;
an earlier-stamped comment keeps the later time) while the item holds fewer than the cap;
otherwise it opens a new item, which becomes the group's open one. Nobody decides in a
recording, so no item is released early.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Item:
    text: str  # the first comment's
    last_ts: int
    repeats: int = 1
    users: set[str] = field(default_factory=set)


class QueueGroups:
    """Items of a stream of flagged comments (``window_ms`` 0: one item per comment)."""

    def __init__(self, window_ms: int, group_max: int) -> None:
        self.window_ms, self.group_max = window_ms, group_max
        self.items: list[Item] = []
        self._open: dict[tuple[str, str, str], Item] = {}

    def add(self, room: str, form: str, action: str, ts: int, user: str = "", text: str = "") -> Item:
        """Queue one flagged comment; the item it is in."""
        key = (room, form, action)
        item = self._open.get(key)
        if self.window_ms > 0 and item is not None and ts - item.last_ts <= self.window_ms and item.repeats < self.group_max:
            item.repeats += 1
            item.last_ts = max(item.last_ts, ts)
        else:
            item = Item(text, ts)
            self.items.append(item)
            if self.window_ms > 0:
                self._open[key] = item
        item.users.add(user)
        return item

    def largest(self, k: int) -> list[Item]:
        return sorted((i for i in self.items if i.repeats > 1), key=lambda i: -i.repeats)[:k]
