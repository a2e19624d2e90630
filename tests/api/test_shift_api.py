"""The shift's decisions per moderator reach /v1/moderation/stats (and the console's stats event)."""

from tests.api.test_actions_api import _decide, _flag
from tests.api.test_moderation_api import key


def test_a_decision_counts_once_for_its_moderator_in_the_current_shift(client, admin, bot) -> None:
    alice = key(client, admin, "moderator", ["room1"], name="alice")
    for i in range(2):
        _flag(client, bot, i)
    items = client.post("/v1/moderation/pull", json={"count": 2}, headers=alice).json()["items"]
    _decide(client, alice, items[0]["item_id"], action="delete")
    _decide(client, alice, items[0]["item_id"], action="delete")  # a repeat is not a new decision
    _decide(client, alice, items[1]["item_id"], action="approve")
    [room] = client.get("/v1/moderation/stats", params={"room": "room1"}, headers=alice).json()["rooms"]
    assert room["shift"]["decisions"] == {"alice": 2} and room["decisions"]["alice"] == 2
    assert room["shift"]["start"] < room["shift"]["end"]
