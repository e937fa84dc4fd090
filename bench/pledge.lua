-- wrk script for bench_intake.py: POST pre-sealed pledges, count the 201s, keep their ids.
--
-- Environment: PLEDGE_PATH (the campaign's pledge URL path), PLEDGE_BODIES (a file with one
-- JSON request body per line), PLEDGE_IDS_OUT (where done() writes one acknowledged pledge id
-- per line), PLEDGE_FORWARDED=1 to send a different X-Forwarded-For network per request (the
-- rate-limited run: many schools behind one reverse proxy).
-- done() prints one JSON line that bench_intake.py reads.

local path_ = os.getenv("PLEDGE_PATH")
local forwarded = os.getenv("PLEDGE_FORWARDED") == "1"
local bodies = {}
for line in io.lines(os.getenv("PLEDGE_BODIES")) do
  bodies[#bodies + 1] = line
end

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  created, others, limited, retry_after_missing = 0, 0, 0, 0
  ids = {}
  n = id * 7919
end

function request()
  n = n + 1
  local headers = { ["Content-Type"] = "application/json" }
  if forwarded then
    headers["X-Forwarded-For"] = string.format("10.%d.%d.7", (n / 256) % 256, n % 256)
  end
  return wrk.format("POST", path_, headers, bodies[n % #bodies + 1])
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
    ids[#ids + 1] = body:match('"pledge_id"%s*:%s*"([^"]+)"')
  else
    others = others + 1
    if status == 429 then
      limited = limited + 1
      if headers["Retry-After"] == nil then
        retry_after_missing = retry_after_missing + 1
      end
    end
  end
end

function done(summary, latency, requests)
  local c, o, l, m = 0, 0, 0, 0
  local out = io.open(os.getenv("PLEDGE_IDS_OUT"), "w")
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    o = o + t:get("others")
    l = l + t:get("limited")
    m = m + t:get("retry_after_missing")
    for _, pid in ipairs(t:get("ids")) do
      out:write(pid, "\n")
    end
  end
  out:close()
  local e = summary.errors
  io.write(string.format(
    '{"duration_us": %d, "requests": %d, "created": %d, "others": %d, "limited": %d, ' ..
    '"retry_after_missing": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.duration, summary.requests, c, o, l, m,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
