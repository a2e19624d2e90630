"""The reply limits' Lua script (see ``replies/limits.py`` for what it promises and why).

Arguments: ARGV[1..9] are the room's settings (now, budget, max mentions, idempotency, request
count, flood max, log and action caps, room keep); then ten per request (user, nickname, rule,
user cooldown, window, variants, random pick, comment id, burst body, body names the asker).
Times and durations are integer milliseconds: what the script computes from them it writes
with ``%d`` (a Lua number goes through a float format otherwise, on every call). Keys: seven
for the room (budget, banned, counters, waiting, reply log, actions, burst bodies), then five
per request (idempotency, user cooldown, rule cooldown, rotation, flood), all in the room's
hash slot. The answer: one JSON decision per request, then bursts posted, askers
dropped and the next burst's due time (``limits.decode_all``).
"""

# The script's body as a function of where its keys and arguments start (``kb``, ``ab``: offsets
# into KEYS and ARGV), so the room script (``replies/room_script.py``) runs it after the observe part.
LIMITS_FN = """
local function limits(kb, ab)
-- (x + 0) reads a numeric string as a number: tonumber(x) parses it twice (lua_isnumber, then
-- lua_tonumber), a strtod each, several times per comment
local now = (ARGV[ab+1] + 0)
local budget_ms = (ARGV[ab+2] + 0)
local max_mentions = (ARGV[ab+3] + 0)
local n = (ARGV[ab+5] + 0)
local flood_max = (ARGV[ab+6] + 0)
-- what redis.call only passes on goes as the string it came as: a Lua number is formatted
-- (%.17g) on every call
local now_s, idem_ms, log_max, actions_max, room_keep_ms = ARGV[ab+1], ARGV[ab+4], ARGV[ab+7], ARGV[ab+8], ARGV[ab+9]
local K_BUDGET, K_BANNED, K_COUNTERS, K_WAIT, K_LOG, K_ACTIONS, K_BODIES = KEYS[kb+1], KEYS[kb+2], KEYS[kb+3], KEYS[kb+4], KEYS[kb+5], KEYS[kb+6], KEYS[kb+7]
local SEP = string.char(31)
-- outcomes a response already carries are only counted; the stream gets the deferred ones
-- (a waiting asker named by a burst, or dropped when its burst fell due), which no response could tell.
-- Counts are summed here and written once per field at the end (in the order the fields were
-- first counted, so a new field is created where one HINCRBY per count created it): nothing
-- in the script reads the counters, and the script is atomic
local tally, tallied = {}, {}
local function add(field)
  local v = tally[field]
  if not v then tallied[#tallied + 1] = field; v = 0 end
  tally[field] = v + 1
end
local function count(status) add('final:' .. status) end
local function log(id, status, rule, by)
  if by then
    redis.call('XADD', K_LOG, 'MAXLEN', '~', log_max, '*', 'id', id, 'status', status, 'rule', rule, 'by', by, 'ts', now_s)
  else
    redis.call('XADD', K_LOG, 'MAXLEN', '~', log_max, '*', 'id', id, 'status', status, 'rule', rule, 'ts', now_s)
  end
  count(status)
end
local function split(m)
  local a = string.find(m, SEP, 1, true)
  local b = string.find(m, SEP, a + 1, true)
  return string.sub(m, 1, a - 1), string.sub(m, a + 1, b - 1), string.sub(m, b + 1)
end
local function ends_later(v)  -- a window key's value: its end time (caller's clock)
  return v and (v + 0) > now
end
local function open(key) return ends_later(redis.call('GET', key)) end
local function close_at(key, ms)  -- %d: tostring and redis.call would format a float (%.14g, %.17g)
  redis.call('SET', key, string.format('%d', now + ms), 'PX', string.format('%d', ms + 60000))
end
-- 1. bursts: the askers of every window that has closed are posted as one reply each
local bursts, dropped = 0, 0
local function burst(rule, group)  -- group: {member, id, nick} in order
  local lead = cjson.decode(redis.call('HGET', K_BODIES, group[1][2]) or '{"body":"","self":false,"latest":0}')
  if open(K_BUDGET) then
    local free_at = (redis.call('GET', K_BUDGET) + 0)
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
  local aid = redis.call('XADD', K_ACTIONS, 'MAXLEN', '~', actions_max, '*', 'kind', 'post_text', 'at', now_s, 'payload', payload)
  for _, e in ipairs(group) do log(e[2], 'named', rule, aid); redis.call('HDEL', K_BODIES, e[2]) end
  count('burst')
  bursts = bursts + 1
end
local due = redis.call('ZRANGEBYSCORE', K_WAIT, '-inf', now_s)
if #due > 0 then
  redis.call('ZREMRANGEBYSCORE', K_WAIT, '-inf', now_s)
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
  local ki, ai = kb + 7 + i * 5, ab + 9 + i * 10
  local k_idem, k_user, k_rule, k_rot, k_flood = KEYS[ki+1], KEYS[ki+2], KEYS[ki+3], KEYS[ki+4], KEYS[ki+5]
  local user, nick, rule_id = ARGV[ai+1], ARGV[ai+2], ARGV[ai+3]
  local user_cd, window_ms = (ARGV[ai+4] + 0), (ARGV[ai+5] + 0)
  local cid, body, names_self = ARGV[ai+8], ARGV[ai+9], ARGV[ai+10] == '1'
  -- the request's string keys in one read (nothing writes them before they are looked at:
  -- an iteration only writes once it has decided, and the idempotency keys after the loop)
  local got = redis.call('MGET', k_idem, k_flood, k_user, k_rule, K_BUDGET)
  local prev, rule_end = got[1], got[4]
  if prev then
    decisions[i+1] = cjson.decode(prev)
    decisions[i+1].retry = true
  else
    local d
    local ban = redis.call('HGET', K_BANNED, user)
    if ban and (ban + 0) > now then
      d = {status = 'banned'}
    elseif (got[2] or '0') + 0 > flood_max then
      d = {status = 'flood'}
    elseif ends_later(got[3]) then
      d = {status = 'user_cooldown'}
    elseif ends_later(rule_end) then
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
        local close, keep_ms = (rule_end + 0), string.format('%d', window_ms + 3600000)
        redis.call('ZADD', K_WAIT, rule_end, m)
        redis.call('PEXPIRE', K_WAIT, keep_ms)
        redis.call('HSET', K_BODIES, cid, cjson.encode({body = body, self = names_self, latest = close + math.floor(window_ms / 2)}))
        redis.call('PEXPIRE', K_BODIES, keep_ms)
        table.insert(w, {m, cid, nick})
        d = {status = 'aggregated'}
      else
        count('mention_cap')
        d = {status = 'mention_cap'}
      end
      if user_cd > 0 then close_at(k_user, user_cd) end
    elseif ends_later(got[5]) then
      count('dropped_budget')
      d = {status = 'budget'}
    else
      close_at(K_BUDGET, budget_ms)
      close_at(k_rule, window_ms)
      local mentions, named = {}, {}
      table.insert(mentions, nick); table.insert(named, cid)
      count('reply')
      local variant = 0
      local n_variants, rnd = (ARGV[ai+6] + 0), (ARGV[ai+7] + 0)  -- read by a reply only
      if rnd >= 0 then
        variant = rnd % n_variants
      else
        variant = (redis.call('INCR', k_rot) - 1) % n_variants
        redis.call('PEXPIRE', k_rot, '86400000')
      end
      if user_cd > 0 then close_at(k_user, user_cd) end
      d = {status = 'reply', rule_id = rule_id, variant = variant, mentions = mentions, named = named, by = cid}
      replied[rule_id] = d
    end
    decisions[i+1] = d
    fresh[i+1] = k_idem
    add(d.status)
  end
end
local out = {}
for i = 1, n do
  local enc = cjson.encode(decisions[i])
  if fresh[i] then redis.call('SET', fresh[i], enc, 'PX', idem_ms) end
  out[i] = enc
end
for _, field in ipairs(tallied) do redis.call('HINCRBY', K_COUNTERS, field, tostring(tally[field])) end
out[n + 1] = bursts
out[n + 2] = dropped
local nxt = redis.call('ZRANGE', K_WAIT, 0, 0, 'WITHSCORES')  -- when the room's next burst is due
out[n + 3] = nxt[2] or '-1'
-- the room's counters, reply log and action feed go room_keep after the room's last reply
for _, k in ipairs({K_COUNTERS, K_LOG, K_ACTIONS}) do redis.call('PEXPIRE', k, room_keep_ms) end
return out
end
"""

LIMITS_LUA = LIMITS_FN + "return limits(0, 0)\n"
