"""Decisions per moderator for the shift (``moderation/shift.py``): the clock is injected."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from nlp_service.core.config import Settings
from nlp_service.moderation import shift

SH = ZoneInfo("Asia/Shanghai")


def _ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=SH).timestamp() * 1000)


def test_shifts_start_at_the_set_time_and_follow_every_shift_seconds() -> None:
    s = Settings.model_construct(shift_start="08:00", shift_seconds=12 * 3600, shift_timezone="Asia/Shanghai")
    assert shift.shift_start(s, _ms(2026, 12, 5, 8, 0)) == _ms(2026, 12, 5, 8, 0)
    assert shift.shift_start(s, _ms(2026, 12, 5, 19, 59)) == _ms(2026, 12, 5, 8, 0)
    assert shift.shift_start(s, _ms(2026, 12, 5, 20, 0)) == _ms(2026, 12, 5, 20, 0)
    assert shift.shift_start(s, _ms(2026, 12, 6, 7, 59)) == _ms(2026, 12, 5, 20, 0)
    eight = Settings.model_construct(shift_start="06:30", shift_seconds=8 * 3600, shift_timezone="Asia/Shanghai")
    assert shift.shift_start(eight, _ms(2026, 12, 5, 23, 0)) == _ms(2026, 12, 5, 22, 30)


def test_bad_shift_settings_say_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="Asia/Shanghai"):
        Settings(shift_timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="shift_start"):
        Settings(shift_start="8h")


def test_counts_are_per_shift_and_expire(rclient, svc_settings) -> None:
    from nlp_service.store.redis import Keys

    keys, s = Keys(svc_settings.key_prefix), svc_settings
    morning, evening = _ms(2026, 12, 5, 9, 0), _ms(2026, 12, 5, 21, 0)
    for who in ("alice", "alice", "bob"):
        shift.count(rclient, keys, s, "room1", who, morning)
    shift.count(rclient, keys, s, "room1", "alice", evening)
    assert shift.decisions(rclient, keys, s, "room1", morning + 3600_000)["decisions"] == {"alice": 2, "bob": 1}
    now = shift.decisions(rclient, keys, s, "room1", evening)
    assert now["decisions"] == {"alice": 1} and now["start"] == _ms(2026, 12, 5, 20, 0) and now["end"] == _ms(2026, 12, 6, 8, 0)
    assert 0 < rclient.ttl(keys.shift_decisions("room1", now["start"])) <= 2 * s.shift_seconds
