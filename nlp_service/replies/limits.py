"""Reply limits enforced across every instance in one Redis round trip.

One Lua script per room does, for each comment that matched a rule, atomically:
idempotency (a retried message id gets its first decision back and consumes nothing),
banned users, the per-user cooldown, the per-rule burst window (askers during an open
window are collected and named in one reply instead of each getting their own), the
room-wide outbound budget, and the rotation counter. A batch request sends one script
call per room in the request's single pipeline (``ReplyEngine._round_trip``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis

from nlp_service.store.redis import Keys, register_script, run_script

# Decision statuses (also the ``reason`` a comment gets when it is not answered).
REPLY = "reply"
BANNED = "banned"
USER_COOLDOWN = "user_cooldown"
AGGREGATED = "aggregated"  # named in a reply given in this window (or the next one)
BUDGET = "budget"  # the room's outbound budget was spent; named in the rule's next reply
FLOOD = "flood"  # the user repeated this text too often (counted by the moderation script)

_LUA = """
local now = tonumber(ARGV[1])
local budget_ms = tonumber(ARGV[2])
local max_mentions = tonumber(ARGV[3])
local idem_ms = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
local flood_max = tonumber(ARGV[6])
local K_BUDGET, K_BANNED, K_COUNTERS = KEYS[1], KEYS[2], KEYS[3]
local decisions, fresh, replied = {}, {}, {}
for i = 0, n - 1 do
  local kb, ab = 3 + i * 6, 6 + i * 7
  local k_idem, k_user, k_rule, k_askers, k_rot, k_flood = KEYS[kb+1], KEYS[kb+2], KEYS[kb+3], KEYS[kb+4], KEYS[kb+5], KEYS[kb+6]
  local user, nick, rule_id = ARGV[ab+1], ARGV[ab+2], ARGV[ab+3]
  local user_cd, window_ms, n_variants, rnd = tonumber(ARGV[ab+4]), tonumber(ARGV[ab+5]), tonumber(ARGV[ab+6]), tonumber(ARGV[ab+7])
  local prev = redis.call('GET', k_idem)
  if prev then
    decisions[i+1] = cjson.decode(prev)
    decisions[i+1].retry = true
  else
    local d
    local ban = redis.call('HGET', K_BANNED, user)
    if ban and tonumber(ban) > now then
      d = {status = 'banned'}
    elseif tonumber(redis.call('GET', k_flood) or '0') > flood_max then
      d = {status = 'flood'}
    elseif redis.call('EXISTS', k_user) == 1 then
      d = {status = 'user_cooldown'}
    elseif redis.call('EXISTS', k_rule) == 1 or redis.call('EXISTS', K_BUDGET) == 1 then
      local status = 'aggregated'
      if redis.call('EXISTS', k_rule) == 0 then status = 'budget' end
      local r = replied[rule_id]
      if status == 'aggregated' and r and #r.mentions < max_mentions then
        table.insert(r.mentions, nick)
      else
        redis.call('RPUSH', k_askers, nick)
        redis.call('LTRIM', k_askers, -max_mentions * 4, -1)
        redis.call('PEXPIRE', k_askers, math.max(window_ms * 3, 60000))
      end
      if user_cd > 0 then redis.call('SET', k_user, '1', 'PX', user_cd) end
      d = {status = status}
    else
      redis.call('SET', K_BUDGET, '1', 'PX', budget_ms)
      redis.call('SET', k_rule, '1', 'PX', window_ms)
      local waiting = redis.call('LRANGE', k_askers, 0, -1)
      redis.call('DEL', k_askers)
      local mentions, seen = {}, {}
      for _, a in ipairs(waiting) do
        if not seen[a] and a ~= nick and #mentions < max_mentions - 1 then
          table.insert(mentions, a); seen[a] = true
        end
      end
      table.insert(mentions, nick)
      local variant = 0
      if rnd >= 0 then
        variant = rnd % n_variants
      else
        variant = (redis.call('INCR', k_rot) - 1) % n_variants
        redis.call('PEXPIRE', k_rot, 86400000)
      end
      if user_cd > 0 then redis.call('SET', k_user, '1', 'PX', user_cd) end
      d = {status = 'reply', rule_id = rule_id, variant = variant, mentions = mentions}
      replied[rule_id] = d
    end
    decisions[i+1] = d
    fresh[i+1] = k_idem
    redis.call('HINCRBY', K_COUNTERS, d.status, 1)
  end
end
local out = {}
for i = 1, n do
  local enc = cjson.encode(decisions[i])
  if fresh[i] then redis.call('SET', fresh[i], enc, 'PX', idem_ms) end
  out[i] = enc
end
return out
"""


@dataclass
class LimitRequest:
    """One comment that matched a rule and now asks for the right to be answered."""

    comment_id: str
    user: str
    nickname: str
    rule_id: str
    window_ms: int
    user_cooldown_ms: int
    n_variants: int
    random_pick: int = -1  # ≥ 0 picks that variant (random); -1 uses the rotation counter
    text_digest: str = ""  # of the normalised text, for the flood counter


@dataclass
class Decision:
    status: str
    rule_id: str | None = None
    variant: int = 0
    mentions: list[str] = field(default_factory=list)
    retry: bool = False


@dataclass
class RoomLimits:
    budget_ms: int
    max_mentions: int
    idempotency_ms: int
    flood_max: int = 1_000_000


class Limiter:
    """Runs the limits script; one instance per client (it caches the script's SHA)."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._script = register_script(client, _LUA)

    def call(self, room: str, items: Sequence[LimitRequest], cfg: RoomLimits, now_ms: int, client) -> object:
        """Run (or, on a pipeline, queue) the script for one room's requests."""
        k = self.keys
        keys = [k.room_budget(room), k.banned(room), k.counters(room)]
        args: list[object] = [now_ms, cfg.budget_ms, cfg.max_mentions, cfg.idempotency_ms, len(items), cfg.flood_max]
        for it in items:
            keys += [
                k.idempotency(room, it.comment_id),
                k.user_cooldown(room, it.rule_id, it.user),
                k.rule_cooldown(room, it.rule_id),
                k.askers(room, it.rule_id),
                k.rotation(room, it.rule_id),
                k.flood(room, it.user, it.text_digest),
            ]
            args += [it.user, it.nickname, it.rule_id, it.user_cooldown_ms, it.window_ms, it.n_variants, it.random_pick]
        return run_script(client, self._script, keys, args)


def decode(raw: str | bytes) -> Decision:
    d = json.loads(raw)
    mentions = d.get("mentions") or []
    return Decision(
        status=d["status"],
        rule_id=d.get("rule_id"),
        variant=int(d.get("variant", 0)),
        mentions=list(mentions) if isinstance(mentions, list) else [],
        retry=bool(d.get("retry", False)),
    )
