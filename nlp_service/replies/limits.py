"""Reply limits enforced across every instance in one Redis round trip.

One Lua script per room does, for each comment that matched a rule, atomically:
idempotency (a retried message id gets its first decision back and consumes nothing),
banned users, the per-user cooldown, the per-rule burst window, the room-wide outbound
budget, the rotation counter, and aggregation. A batch request sends one script call per
room in the request's single pipeline (``live/roundtrip.py``).

Aggregation keeps its promise. Every asker of a rule is named in exactly one reply, at
most one window (W ms) after the question, or gets a definite reason:

1. The first asker of a rule gets the reply at once; it opens the rule's window [t0, t0+W).
2. Askers of that rule later in the same batch are added to that reply's mentions
   (``aggregated``) until ``max_mentions``; the rest get ``mention_cap``.
3. An asker during the open window in a later request joins the rule's burst: the room's
   waiting set, scored by the window's close time t0+W (``aggregated``), at most
   ``max_mentions`` per rule; beyond that ``mention_cap`` at once. The engine passes the
   text the burst would post with this asker leading it (``body``), kept beside the set.
4. When the window closes, the burst is posted: the room's next call (any instance) or
   the poll thread's chore (``sweep``, for a quiet room) takes the due askers atomically
   and appends one ``post_text`` action to the room's action feed (``store/actions.py``)
   naming them all, each logged ``named`` with ``by`` = the action id. If the room budget
   is spent at that moment the burst waits for it, up to half a window; past that its
   askers are logged ``dropped_budget``: never carried into a later reply. So a waiting
   asker is named at most 1.5 windows after its question (at most one window when the
   budget allows).
5. A comment blocked by the room budget gets ``budget`` (logged ``dropped_budget``).

Why a burst on the action feed rather than the next response: a response carries the
reply for its own comment; riding a late burst on an unrelated comment's response is the
confusing "@a @b @c + size answer" this replaces, and a quiet room has no next response.
Every final outcome is counted (``final:<outcome>`` in the room's counters); the deferred
ones (named by a burst, or dropped when it fell due) also go to the room's reply log.

Time is the caller's ``now`` (epoch ms): the window, budget and cooldown keys hold their
end time and expire later only to be collected, so a recorded room replays at any speed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis

from nlp_service.store.actions import MAX_ACTIONS
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
local actions_max = tonumber(ARGV[8])
local room_keep_ms = tonumber(ARGV[9])
local K_BUDGET, K_BANNED, K_COUNTERS, K_WAIT, K_LOG, K_ACTIONS, K_BODIES = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local SEP = string.char(31)
-- outcomes a response already carries are only counted; the stream gets the deferred ones
-- (a waiting asker named by a burst, or dropped when its burst fell due), which no response could tell
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
-- 1. bursts: the askers of every window that has closed are posted as one reply each
local bursts, dropped = 0, 0
local function burst(rule, group)  -- group: {member, id, nick} in order
  local lead = cjson.decode(redis.call('HGET', K_BODIES, group[1][2]) or '{"body":"","self":false,"latest":0}')
  if open(K_BUDGET) then
    local free_at = tonumber(redis.call('GET', K_BUDGET))
    if free_at <= (lead.latest or 0) then  -- wait for the budget, up to half a window late
      for _, e in ipairs(group) do redis.call('ZADD', K_WAIT, free_at, e[1]) end
      return
    end
    for _, e in ipairs(group) do log(e[2], 'dropped_budget', rule); redis.call('HDEL', K_BODIES, e[2]) end
    dropped = dropped + #group
    return
  end
  close_at(K_BUDGET, budget_ms)
  local names, seen, ids = {}, {}, {}
  for _, e in ipairs(group) do
    if not seen[e[3]] then seen[e[3]] = true; table.insert(names, e[3]) end
    table.insert(ids, e[2])
  end
  local prefix = {}
  for k, name in ipairs(names) do
    if not (lead.self and k == 1) then table.insert(prefix, '@' .. name) end
  end
  local text = lead.body
  if #prefix > 0 then text = table.concat(prefix, ' ') .. ' ' .. text end
  local payload = cjson.encode({text = text, reply_to = ids, mentions = names, nickname = names[1], rule_id = rule, source = 'burst'})
  local aid = redis.call('XADD', K_ACTIONS, 'MAXLEN', '~', actions_max, '*', 'kind', 'post_text', 'at', tostring(now), 'payload', payload)
  for _, e in ipairs(group) do log(e[2], 'named', rule, aid); redis.call('HDEL', K_BODIES, e[2]) end
  count('burst')
  bursts = bursts + 1
end
local due = redis.call('ZRANGEBYSCORE', K_WAIT, '-inf', now)
if #due > 0 then
  redis.call('ZREMRANGEBYSCORE', K_WAIT, '-inf', now)
  local groups, order = {}, {}
  for _, m in ipairs(due) do
    local rule, id, nick = split(m)
    if not groups[rule] then groups[rule] = {}; table.insert(order, rule) end
    table.insert(groups[rule], {m, id, nick})
  end
  for _, rule in ipairs(order) do burst(rule, groups[rule]) end
end
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
  local kb, ab = 7 + i * 5, 9 + i * 10
  local k_idem, k_user, k_rule, k_rot, k_flood = KEYS[kb+1], KEYS[kb+2], KEYS[kb+3], KEYS[kb+4], KEYS[kb+5]
  local user, nick, rule_id = ARGV[ab+1], ARGV[ab+2], ARGV[ab+3]
  local user_cd, window_ms, n_variants, rnd = tonumber(ARGV[ab+4]), tonumber(ARGV[ab+5]), tonumber(ARGV[ab+6]), tonumber(ARGV[ab+7])
  local cid, body, names_self = ARGV[ab+8], ARGV[ab+9], ARGV[ab+10] == '1'
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
      elseif #w < max_mentions then  -- it joins the burst posted when the window closes
        local m = rule_id .. SEP .. cid .. SEP .. nick
        local close = tonumber(redis.call('GET', k_rule))
        redis.call('ZADD', K_WAIT, close, m)
        redis.call('PEXPIRE', K_WAIT, window_ms + 3600000)
        redis.call('HSET', K_BODIES, cid, cjson.encode({body = body, self = names_self, latest = close + math.floor(window_ms / 2)}))
        redis.call('PEXPIRE', K_BODIES, window_ms + 3600000)
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
      local mentions, named = {}, {}
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
out[n + 1] = bursts
out[n + 2] = dropped
local nxt = redis.call('ZRANGE', K_WAIT, 0, 0, 'WITHSCORES')  -- when the room's next burst is due
out[n + 3] = nxt[2] or '-1'
-- the room's counters, reply log and action feed go room_keep after the room's last reply
for _, k in ipairs({K_COUNTERS, K_LOG, K_ACTIONS}) do redis.call('PEXPIRE', k, room_keep_ms) end
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
    burst_body: str = ""  # what a burst led by this asker posts after the mentions (render.burst_body)
    burst_names_asker: bool = False  # the body already mentions this asker (a {nickname} template)


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

    def __init__(self, client: redis.Redis, keys: Keys, room_keep_seconds: int = 7 * 86400) -> None:
        self.client = client
        self.keys = keys
        self.room_keep_ms = room_keep_seconds * 1000  # Settings.room_keep_seconds
        self._script = register_script(client, _LUA)

    def call(self, room: str, items: Sequence[LimitRequest], cfg: RoomLimits, now_ms: int, client) -> object:
        """Run (or, on a pipeline, queue) the script for one room's requests."""
        k = self.keys
        keys = [k.room_budget(room), k.banned(room), k.counters(room), k.waiting(room), k.reply_log(room), k.actions(room), k.burst_bodies(room)]
        args: list[object] = [now_ms, cfg.budget_ms, cfg.max_mentions, cfg.idempotency_ms, len(items), cfg.flood_max, LOG_MAXLEN, MAX_ACTIONS, self.room_keep_ms]
        for it in items:
            keys += [
                k.idempotency(room, it.comment_id),
                k.user_cooldown(room, it.rule_id, it.user),
                k.rule_cooldown(room, it.rule_id),
                k.rotation(room, it.rule_id),
                k.flood(room, it.user, it.text_digest),
            ]
            args += [it.user, it.nickname, it.rule_id, it.user_cooldown_ms, it.window_ms, it.n_variants, it.random_pick, it.comment_id, it.burst_body, int(it.burst_names_asker)]
        return run_script(client, self._script, keys, args)


@dataclass(frozen=True)
class Settled:
    """What a call settled besides its own decisions: bursts posted, askers dropped, and
    when the room's next burst falls due (epoch ms; None when nobody waits)."""

    bursts: int = 0
    dropped: int = 0
    next_due: int | None = None


def sweep(limiter: Limiter, room: str, cfg: RoomLimits, now_ms: int, client=None) -> object:
    """Post the bursts of a room's closed windows (a quiet room has no next call to do it);
    on a pipeline ``client`` the call is queued (decode with :func:`decode_all`)."""
    return limiter.call(room, [], cfg, now_ms, client if client is not None else limiter.client)


def decode_all(raw: list) -> tuple[list[Decision], Settled]:
    """The script's answer: one decision per request, then the bursts posted, the askers
    dropped and the next burst's due time."""
    due = int(float(raw[-1]))
    return [decode(x) for x in raw[:-3]], Settled(int(raw[-3]), int(raw[-2]), due if due >= 0 else None)


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
