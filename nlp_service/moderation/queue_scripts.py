"""The moderation queue's two Lua scripts, sent as EVALSHA (see ``store/pipeline.py``).

* ``OBSERVE_LUA`` (run in the same round trip as the reply limits): records each comment in the
  user's recent list, counts identical comments for flood, and appends a flagged comment to the
  room's stream exactly once per comment id (a ``SET NX`` marker and the ``XADD`` in one script,
  so bot retries cannot double an item).
* ``DECIDE_LUA``: ``XACK``, the decision record, an audit-stream entry, per-moderator counters,
  the ban and the room's bot actions, atomically; a repeated decision returns the first.
"""

OBSERVE_LUA = """
local now, keep, flood_ms, flood_max, dedupe_s, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local recent_ms, room_keep_ms = tonumber(ARGV[7]), tonumber(ARGV[8])
local stream = KEYS[1]
local out = {}
for i = 0, n - 1 do
  local k_recent, k_flood, k_seen = KEYS[2 + i*3], KEYS[3 + i*3], KEYS[4 + i*3]
  local record, payload, observe = ARGV[9 + i*3], ARGV[10 + i*3], ARGV[11 + i*3]
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
      pcall(redis.call, 'XGROUP', 'CREATE', stream, 'moderators', '0', 'MKSTREAM')
      redis.call('XADD', stream, '*', 'record', record, 'moderation', cjson.encode(mod))
      redis.call('PEXPIRE', stream, room_keep_ms)  -- a room's queue goes room_keep after its last item
      queued = 1
    end
  end
  out[i + 1] = {count, queued}
end
return out
"""

DECIDE_LUA = """
local stream, k_decided, k_audit, k_stats, k_banned = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local sid, decision, moderator, action, user, ban_until, now, keep_s = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
local prev = redis.call('GET', k_decided)
if prev then
  -- a repeat still acknowledges: the item may have been delivered again since the first decision
  redis.call('XACK', stream, 'moderators', sid)
  return {prev, 0}
end
if #redis.call('XRANGE', stream, sid, sid) == 0 then return {false, -1} end
redis.call('XACK', stream, 'moderators', sid)
redis.call('SET', k_decided, decision, 'EX', keep_s)
redis.call('XADD', k_audit, 'MAXLEN', '~', 100000, '*', 'item', sid, 'moderator', moderator, 'action', action, 'at', now, 'decision', decision)
redis.call('HINCRBY', k_stats, 'moderator:' .. moderator, 1)
redis.call('HINCRBY', k_stats, 'action:' .. action, 1)
if action == 'ban' then redis.call('HSET', k_banned, user, ban_until) end
-- what the room's bot must do about it, in the same step (see store/actions.py)
local k_actions, n_actions, room_keep_s = KEYS[6], tonumber(ARGV[9]), tonumber(ARGV[11])
for i = 0, n_actions - 1 do
  redis.call('XADD', k_actions, 'MAXLEN', '~', ARGV[10], '*', 'kind', ARGV[12 + i*2], 'at', now, 'payload', ARGV[13 + i*2])
end
for _, k in ipairs({k_audit, k_stats, k_actions}) do redis.call('EXPIRE', k, room_keep_s) end
return {decision, 1}
"""
