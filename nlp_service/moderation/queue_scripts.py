"""The moderation queue's two Lua scripts, sent as EVALSHA (see ``store/pipeline.py``).

* ``OBSERVE_LUA`` (run in the same round trip as the reply limits): records each comment in the
  user's recent list, counts identical comments for flood, and queues a flagged comment exactly
  once per comment id (a ``SET NX`` marker and the write in one script, so bot retries cannot
  double an item or a count). A comment whose room has an undecided item of the same group form
  (``text/fold.py``) and action, whose last comment came at most ``queue_group_seconds`` before
  (comment time), joins that item (count, distinct users, its record kept) instead of a new
  stream entry; an item holds at most ``queue_group_max`` comments, the next opens a new one.
  The action is part of the group: a block (hidden at once) never joins a review item (still
  visible), nor the reverse, so one decision means the same for every comment of an item.
* ``DECIDE_LUA``: ``XACK``, the decision record, an audit-stream entry (with the item's count
  and users), per-moderator counters, the bans and the room's bot actions for every comment the
  item holds, atomically, and releases the group (the next comment of that text opens a new
  item); a repeated decision returns the first. If a comment joined after the caller read the
  item's comments, nothing is applied and the caller reads again.
"""

# The observe script's body as a function of where its keys and arguments start (``kb``, ``ab``:
# offsets into KEYS and ARGV), so the room script (``replies/room_script.py``) runs it in the
# same call as the reply limits.
OBSERVE_FN = """
local function observe(kb, ab)
-- (x + 0) reads a numeric string as a number: tonumber(x) parses it twice (lua_isnumber, then
-- lua_tonumber), a strtod each, several times per comment
-- durations go to redis.call as the strings they came as: a Lua number would be formatted
-- (%.17g) on every call, a cost the server paid per comment
local keep, flood_max, n = (ARGV[ab+2] + 0), (ARGV[ab+4] + 0), (ARGV[ab+6] + 0)
local flood_ms, dedupe_s, recent_ms, room_keep_ms, group_ms = ARGV[ab+3], ARGV[ab+5], ARGV[ab+7], ARGV[ab+8], ARGV[ab+9]
local grouping, group_max, keep_last = (group_ms + 0) > 0, (ARGV[ab+10] + 0), tostring(keep - 1)
local stream, members = KEYS[kb+1], KEYS[kb+2]
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
  local held = (redis.call('HGET', members, base .. 'n') or '1') + 0
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
  local k_recent, k_flood, k_seen, k_group = KEYS[kb+3 + i*4], KEYS[kb+4 + i*4], KEYS[kb+5 + i*4], KEYS[kb+6 + i*4]
  local record, payload, observe = ARGV[ab+11 + i*4], ARGV[ab+12 + i*4], ARGV[ab+13 + i*4]
  local count = 0
  if observe == '1' then
    -- trimmed only when it grew past keep: LTRIM on a shorter list changes nothing
    if redis.call('LPUSH', k_recent, record) > keep then redis.call('LTRIM', k_recent, '0', keep_last) end
    redis.call('PEXPIRE', k_recent, recent_ms)
    -- INCR, then PEXPIRE when new: one SET NX PX for a new counter measured dearer for the
    -- server (bench/bench_redis_ir.py: 161k instructions per comment against 157k)
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
      local at = (ARGV[ab+14 + i*4] + 0)
      if grouping then
        local open = redis.call('HMGET', k_group, mod.action, mod.action .. ':at')
        if open[1] and open[2] and at - (open[2] + 0) <= (group_ms + 0) then
          -- a comment stamped before the last one (out of order) keeps the later time
          joined = join(open[1], record, k_group, mod.action, math.max(at, (open[2] + 0)))
        end
      end
      if not joined then
        pcall(redis.call, 'XGROUP', 'CREATE', stream, 'moderators', '0', 'MKSTREAM')
        local sid = redis.call('XADD', stream, '*', 'record', record, 'moderation', cjson.encode(mod))
        if grouping then redis.call('HSET', k_group, mod.action, sid, mod.action .. ':at', at) end
      end
      if grouping then redis.call('PEXPIRE', k_group, group_ms) end
      redis.call('PEXPIRE', stream, room_keep_ms)  -- a room's queue goes room_keep after its last item
      queued = 1
    end
  end
  out[2 * i + 1], out[2 * i + 2] = count, queued  -- flat: a table per comment cost the server its allocation and its reply
end
return out
end
"""

OBSERVE_LUA = OBSERVE_FN + "return observe(0, 0)\n"

DECIDE_LUA = """
local stream, k_decided, k_audit, k_stats, k_banned = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local k_actions, k_group, members = KEYS[6], KEYS[7], KEYS[8]
local sid, decision, moderator, action, ban_until, now, keep_s = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local n_actions, max_actions, room_keep_s = tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
local grouped, held, group_action, n_users = ARGV[11] == '1', tonumber(ARGV[12]), ARGV[13], tonumber(ARGV[14])
local prev = redis.call('GET', k_decided)
if prev then
  -- a repeat still acknowledges: the item may have been delivered again since the first decision
  redis.call('XACK', stream, 'moderators', sid)
  return {prev, 0}
end
if #redis.call('XRANGE', stream, sid, sid) == 0 then return {false, -1} end
-- the caller built the actions for the comments the item held when it read them: if one
-- joined since, it reads again (the decision must reach every comment the item holds)
if grouped and tonumber(redis.call('HGET', members, sid .. ':n') or '1') ~= held then return {false, -2} end
redis.call('XACK', stream, 'moderators', sid)
redis.call('SET', k_decided, decision, 'EX', keep_s)
redis.call('XADD', k_audit, 'MAXLEN', '~', 100000, '*', 'item', sid, 'moderator', moderator, 'action', action, 'at', now, 'decision', decision,
  'repeats', held, 'users', n_users)
redis.call('HINCRBY', k_stats, 'moderator:' .. moderator, 1)
redis.call('HINCRBY', k_stats, 'action:' .. action, 1)
local users = 15 + n_users
for i = 15, users - 1 do
  if action == 'ban' then redis.call('HSET', k_banned, ARGV[i], ban_until) end
end
if grouped then
  -- released: the next comment of this text opens a new item; the members are done with
  if redis.call('HGET', k_group, group_action) == sid then redis.call('HDEL', k_group, group_action, group_action .. ':at') end
  if held > 1 then
    local fields = {sid .. ':n', sid .. ':users'}
    for i = 1, held - 1 do fields[#fields + 1] = sid .. ':' .. i end
    for i = 15, users - 1 do fields[#fields + 1] = sid .. ':u:' .. ARGV[i] end
    redis.call('HDEL', members, unpack(fields))
  end
end
-- what the room's bot must do about it, in the same step (see store/actions.py)
for i = 0, n_actions - 1 do
  redis.call('XADD', k_actions, 'MAXLEN', '~', max_actions, '*', 'kind', ARGV[users + i*2], 'at', now, 'payload', ARGV[users + 1 + i*2])
end
for _, k in ipairs({k_audit, k_stats, k_actions}) do redis.call('EXPIRE', k, room_keep_s) end
return {decision, 1}
"""
