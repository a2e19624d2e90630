-- wrk script: POST a different realistic comment each request, with a unique id so
-- idempotency never short-circuits. Texts come from the env var BENCH_TEXTS_FILE;
-- BENCH_NEW_PERMILLE=400 makes 40 % of the texts new (never sent before: a sample text with
-- a few extra CJK characters spelling the request number, so no cache can answer it,
-- and the comment still reads like chat); 1000 makes every text new. BENCH_RUN (a small
-- number, one per wrk run of a bench process) keeps one run's new texts out of every
-- other's: without it two runs spell the same request numbers, and the second run's "new"
-- texts are the first run's, answered from the caches.
-- Users are 500 per thread and per run, and ids are unique, across bench processes too
-- (BENCH_SALT, one per bench process): otherwise each run would replay the same (user, text)
-- pairs and comment ids as the last (wrk's counters restart) and both threads would send
-- each pair, so within the 60 s flood window a user would say the same thing four to eight
-- times (a spam flood, blocked and queued for moderators) and a replayed id would be
-- answered by idempotency; neither is the traffic a room's bot sees.
local texts = {}
local counter = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  local path = os.getenv("BENCH_TEXTS_FILE")
  for line in io.lines(path) do texts[#texts + 1] = line end
  batch = tonumber(os.getenv("BENCH_BATCH") or "0")
  new_permille = tonumber(os.getenv("BENCH_NEW_PERMILLE") or "0")
  token = os.getenv("BENCH_TOKEN") or ""
  run = tonumber(os.getenv("BENCH_RUN") or "0")
  salt = os.getenv("BENCH_SALT") or "0"
end

local pool = {"的", "了", "啊", "呀", "吧", "哦", "嗯", "呢", "哈", "嘛", "来", "看", "好", "真", "又", "也"}

local function spell(n)  -- the request number in base 16 over the pool: distinct per request
  local out = {}
  repeat
    out[#out + 1] = pool[(n % 16) + 1]
    n = math.floor(n / 16)
  until n == 0
  return table.concat(out)
end

local function comment()
  counter = counter + 1
  local t = texts[(counter % #texts) + 1]
  if (counter * 7919) % 1000 < new_permille then  -- a text never sent before
    t = t:sub(1, -2) .. spell((run * 16 + tid) * 1000000 + counter) .. '"'
  end
  return string.format('{"id":"b%s-%d-%d-%d","room":"bench-room","user":"u%s-%d-%d-%d","nickname":"n%d","text":%s}',
    salt, run, tid, counter, salt, run, tid, counter % 500, counter % 500, t)
end

function request()
  local body
  if batch > 0 then
    local items = {}
    for i = 1, batch do items[i] = comment() end
    body = '{"comments":[' .. table.concat(items, ",") .. ']}'
  else
    body = comment()
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

function done(summary, latency, requests)
  io.write(string.format("BENCH rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.requests))
end
