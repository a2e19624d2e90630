"""The observe and limits scripts as main had them (commit 7b11dba), before they were made
cheaper for the server (strings to ``redis.call`` instead of Lua numbers, LTRIM only past
``keep``, the counters summed per field): ``test_script_equality.py`` runs these and the
current scripts side by side and requires the same answers and the same keys. A copy on
purpose (the ``duplicates`` report names it): it is the reference a cheaper script must equal,
so a change that means to alter what the scripts do changes this file with it."""

OBSERVE_LUA_MAIN = """
local now, keep, flood_ms, flood_max, dedupe_s, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local recent_ms, room_keep_ms, group_ms, group_max = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local stream, members = KEYS[1], KEYS[2]
local out = {}
local function user_of(record)
  local user = cjson.decode(record).user
  if type(user) == 'string' then return user end
  return ''
end
-- a comment joins the open item of its group form and action (see store/redis.py mod_group,
-- mod_members): the item's count and users grow, the comment's record is kept under it
local function join(sid, record, k_group, action, at)
  local base = sid .. ':'
  local held = tonumber(redis.call('HGET', members, base .. 'n') or '1')
  if held >= group_max then return false end
  if held == 1 then  -- the first join: the item's own comment counts its user
    local first = redis.call('XRANGE', stream, sid, sid)[1]
    if not first then return false end  -- trimmed or expired: open a new item
    local first_user = user_of(first[2][2])
    redis.call('HSET', members, base .. 'u:' .. first_user, 1, base .. 'users', 1)
  end
  redis.call('HSET', members, base .. 'n', held + 1, base .. held, record)
  local user = user_of(record)
  if redis.call('HSETNX', members, base .. 'u:' .. user, 1) == 1 then redis.call('HINCRBY', members, base .. 'users', 1) end
  redis.call('PEXPIRE', members, room_keep_ms)
  redis.call('HSET', k_group, action .. ':at', at)
  return true
end
for i = 0, n - 1 do
  local k_recent, k_flood, k_seen, k_group = KEYS[3 + i*4], KEYS[4 + i*4], KEYS[5 + i*4], KEYS[6 + i*4]
  local record, payload, observe, at = ARGV[11 + i*4], ARGV[12 + i*4], ARGV[13 + i*4], tonumber(ARGV[14 + i*4])
  local count = 0
  if observe == '1' then
    redis.call('LPUSH', k_recent, record)
    redis.call('LTRIM', k_recent, 0, keep - 1)
    redis.call('PEXPIRE', k_recent, recent_ms)
    count = redis.call('INCR', k_flood)
    if count == 1 then redis.call('PEXPIRE', k_flood, flood_ms) end
  end
  local flood = count > flood_max
  local queued = 0
  if payload ~= '' or flood then
    local mod
    if payload ~= '' then mod = cjson.decode(payload) else mod = {action = 'block', categories = {}} end
    if flood then
      mod.action = 'block'
      table.insert(mod.categories, 1, 'flood')
    end
    if redis.call('SET', k_seen, '1', 'NX', 'EX', dedupe_s) then
      local joined = false
      if group_ms > 0 then
        local open = redis.call('HMGET', k_group, mod.action, mod.action .. ':at')
        if open[1] and open[2] and at - tonumber(open[2]) <= group_ms then
          -- a comment stamped before the last one (out of order) keeps the later time
          joined = join(open[1], record, k_group, mod.action, math.max(at, tonumber(open[2])))
        end
      end
      if not joined then
        pcall(redis.call, 'XGROUP', 'CREATE', stream, 'moderators', '0', 'MKSTREAM')
        local sid = redis.call('XADD', stream, '*', 'record', record, 'moderation', cjson.encode(mod))
        if group_ms > 0 then redis.call('HSET', k_group, mod.action, sid, mod.action .. ':at', at) end
      end
      if group_ms > 0 then redis.call('PEXPIRE', k_group, group_ms) end
      redis.call('PEXPIRE', stream, room_keep_ms)  -- a room's queue goes room_keep after its last item
      queued = 1
    end
  end
  out[i + 1] = {count, queued}
end
return out
"""

LIMITS_LUA_MAIN = """
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
