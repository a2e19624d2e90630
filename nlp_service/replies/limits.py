"""Reply limits enforced across every instance in one Redis round trip.

One Lua script per room does, for each comment that matched a rule, atomically:
idempotency (a retried message id gets its first decision back and consumes nothing),
banned users, the per-user cooldown, the per-rule burst window, the room-wide outbound
budget, the rotation counter, and aggregation. A batch request sends one script call per
room in the request's single pipeline (``ReplyEngine._round_trip``).

Aggregation keeps its promise. The contract is request/response (the bot posts what
/v1/reply returns), so a reply can only name askers at the moment it is given:

1. The first asker of a rule gets the reply at once; it opens the rule's window (W ms).
2. Askers of that rule later in the same batch are added to that reply's mentions
   (``aggregated``) until ``max_mentions``; the rest get ``mention_cap``.
3. An asker during an open window in a later request is put on the room's waiting set with
   a deadline = its question time + W (``aggregated``: "named by the rule's next reply"),
   at most ``max_mentions - 1`` per rule (leaving room for the next asker); beyond that
   ``mention_cap`` at once.
4. The rule's next reply names its waiting askers whose deadline has not passed, so every
   name is posted within W of the question; each is logged ``named`` (by that reply).
5. Every call for the room first sweeps the waiting set: an asker whose deadline passed is
   logged ``expired`` and never carried into a later burst.
6. A comment blocked by the room budget gets ``budget`` (logged ``dropped_budget``): it is
   not carried either, so no reply is ever padded with old names.

Why not a delayed burst reply at window close: a response can only carry a reply for its
own comment; riding a late burst on an unrelated comment's response is exactly the
confusing "@a @b @c + size answer" this replaces. A room action feed
(/v1/rooms/{room}/actions, planned) could post such bursts; the waiting set and the
reply log are its seam. Every final outcome is counted (``final:<outcome>`` in the room's
counters); the ones no response could carry (a waiting asker later ``named``, or
``expired``) also go to the room's reply log stream.

Time is the caller's ``now`` (epoch ms): the window, budget and cooldown keys hold their
end time and expire later only to be collected, so a recorded room replays at any speed.
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
AGGREGATED = "aggregated"  # named in this batch's reply, or waiting for the rule's next reply within the window
MENTION_CAP = "mention_cap"  # the reply (or the rule's waiting list) already names max_mentions askers
BUDGET = "budget"  # the room's outbound budget was spent: not answered, not carried (log: dropped_budget)
FLOOD = "flood"  # the user repeated this text too often (counted by the moderation script)
LOG_MAXLEN = 20000

_LUA = """
local now = tonumber(ARGV[1])
local budget_ms = tonumber(ARGV[2])
local max_mentions = tonumber(ARGV[3])
local idem_ms = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
local flood_max = tonumber(ARGV[6])
local log_max = tonumber(ARGV[7])
local K_BUDGET, K_BANNED, K_COUNTERS, K_WAIT, K_LOG = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local SEP = string.char(31)
-- outcomes a response already carries are only counted; the stream gets the deferred ones
-- (a waiting asker named by a later reply, or expired), which no response could tell
local function count(status) redis.call('HINCRBY', K_COUNTERS, 'final:' .. status, 1) end
local function log(id, status, rule, by)
  if by then
    redis.call('XADD', K_LOG, 'MAXLEN', '~', log_max, '*', 'id', id, 'status', status, 'rule', rule, 'by', by, 'ts', now)
  else
    redis.call('XADD', K_LOG, 'MAXLEN', '~', log_max, '*', 'id', id, 'status', status, 'rule', rule, 'ts', now)
  end
  count(status)
end
local function split(m)
  local a = string.find(m, SEP, 1, true)
  local b = string.find(m, SEP, a + 1, true)
  return string.sub(m, 1, a - 1), string.sub(m, a + 1, b - 1), string.sub(m, b + 1)
end
local function open(key)  -- the key holds its end time (caller's clock)
  local v = redis.call('GET', key)
  return v and tonumber(v) > now
end
local function close_at(key, ms)
  redis.call('SET', key, tostring(now + ms), 'PX', ms + 60000)
end
-- 1. sweep: askers whose deadline passed are told so, never carried into a later burst
local expired = 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', K_WAIT, '-inf', '(' .. now)) do
  local rule, id = split(m)
  log(id, 'expired', rule)
  expired = expired + 1
end
if expired > 0 then redis.call('ZREMRANGEBYSCORE', K_WAIT, '-inf', '(' .. now) end
local waiting = nil  -- rule -> list of {member, id, nick}, read once per call
local function waiting_of(rule)
  if not waiting then
    waiting = {}
    for _, m in ipairs(redis.call('ZRANGE', K_WAIT, 0, -1)) do
      local r, id, nick = split(m)
      waiting[r] = waiting[r] or {}
      table.insert(waiting[r], {m, id, nick})
    end
  end
  waiting[rule] = waiting[rule] or {}
  return waiting[rule]
end
local decisions, fresh, replied = {}, {}, {}
for i = 0, n - 1 do
  local kb, ab = 5 + i * 5, 7 + i * 8
  local k_idem, k_user, k_rule, k_rot, k_flood = KEYS[kb+1], KEYS[kb+2], KEYS[kb+3], KEYS[kb+4], KEYS[kb+5]
  local user, nick, rule_id = ARGV[ab+1], ARGV[ab+2], ARGV[ab+3]
  local user_cd, window_ms, n_variants, rnd = tonumber(ARGV[ab+4]), tonumber(ARGV[ab+5]), tonumber(ARGV[ab+6]), tonumber(ARGV[ab+7])
  local cid = ARGV[ab+8]
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
    elseif open(k_user) then
      d = {status = 'user_cooldown'}
    elseif open(k_rule) then
      local r = replied[rule_id]
      local w = waiting_of(rule_id)
      if r then  -- this batch's reply of the rule names it
        if #r.mentions < max_mentions then
          table.insert(r.mentions, nick); table.insert(r.named, cid)
          count('named')
          d = {status = 'aggregated'}
        else
          count('mention_cap')
          d = {status = 'mention_cap'}
        end
      elseif #w < max_mentions - 1 then  -- the rule's next reply names it, if within the window
        local m = rule_id .. SEP .. cid .. SEP .. nick
        redis.call('ZADD', K_WAIT, now + window_ms, m)
        redis.call('PEXPIRE', K_WAIT, window_ms + 3600000)
        table.insert(w, {m, cid, nick})
        d = {status = 'aggregated'}
      else
        count('mention_cap')
        d = {status = 'mention_cap'}
      end
      if user_cd > 0 then close_at(k_user, user_cd) end
    elseif open(K_BUDGET) then
      count('dropped_budget')
      d = {status = 'budget'}
    else
      close_at(K_BUDGET, budget_ms)
      close_at(k_rule, window_ms)
      local mentions, named, seen = {}, {}, {}
      local w = waiting_of(rule_id)
      for _, e in ipairs(w) do
        redis.call('ZREM', K_WAIT, e[1])
        if not seen[e[3]] and e[3] ~= nick and #mentions < max_mentions - 1 then
          table.insert(mentions, e[3]); table.insert(named, e[2]); seen[e[3]] = true
          log(e[2], 'named', rule_id, cid)
        elseif seen[e[3]] or e[3] == nick then  -- the same name is already in this reply
          log(e[2], 'named', rule_id, cid)
          table.insert(named, e[2])
        else
          log(e[2], 'mention_cap', rule_id)
        end
      end
      waiting[rule_id] = {}
      table.insert(mentions, nick); table.insert(named, cid)
      count('reply')
      local variant = 0
      if rnd >= 0 then
        variant = rnd % n_variants
      else
        variant = (redis.call('INCR', k_rot) - 1) % n_variants
        redis.call('PEXPIRE', k_rot, 86400000)
      end
      if user_cd > 0 then close_at(k_user, user_cd) end
      d = {status = 'reply', rule_id = rule_id, variant = variant, mentions = mentions, named = named, by = cid}
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
out[n + 1] = expired
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
    named: list[str] = field(default_factory=list)  # comment ids this reply answers (its own included)
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
        keys = [k.room_budget(room), k.banned(room), k.counters(room), k.waiting(room), k.reply_log(room)]
        args: list[object] = [now_ms, cfg.budget_ms, cfg.max_mentions, cfg.idempotency_ms, len(items), cfg.flood_max, LOG_MAXLEN]
        for it in items:
            keys += [
                k.idempotency(room, it.comment_id),
                k.user_cooldown(room, it.rule_id, it.user),
                k.rule_cooldown(room, it.rule_id),
                k.rotation(room, it.rule_id),
                k.flood(room, it.user, it.text_digest),
            ]
            args += [it.user, it.nickname, it.rule_id, it.user_cooldown_ms, it.window_ms, it.n_variants, it.random_pick, it.comment_id]
        return run_script(client, self._script, keys, args)


def sweep(limiter: Limiter, room: str, now_ms: int) -> int:
    """Settle a room's waiting askers whose deadline passed (logged ``expired``); returns
    how many. Every reply call does this first; this is for a quiet room (and the seam a
    room action feed would use)."""
    return decode_all(limiter.call(room, [], RoomLimits(1, 1, 1), now_ms, limiter.client))[1]


def decode_all(raw: list) -> tuple[list[Decision], int]:
    """The script's answer: one decision per request, then the number of askers that expired."""
    return [decode(x) for x in raw[:-1]], int(raw[-1])


def decode(raw: str | bytes) -> Decision:
    d = json.loads(raw)
    mentions = d.get("mentions") or []
    return Decision(
        status=d["status"],
        rule_id=d.get("rule_id"),
        variant=int(d.get("variant", 0)),
        mentions=list(mentions) if isinstance(mentions, list) else [],
        named=list(d["named"]) if isinstance(d.get("named"), list) else [],
        retry=bool(d.get("retry", False)),
    )
