-- wrk script of eng/bench.sh: sends the raw HTTP requests of a file in turn and prints one JSON line of results.
--
--   [AGENTHUB_BENCH_RATE=R] wrk -t1 -cN -dDs -s relay.lua URL -- REQUESTS_FILE
--
-- REQUESTS_FILE holds complete HTTP/1.1 requests separated by a line "--8<--" (bench/load/requests.mjs writes it).
-- One request is sent again and again; several (signed, each with its own nonce) are each sent once, in order, and
-- when they run out the file starts over (the hub then refuses the replays, which shows as non-2xx responses).
-- AGENTHUB_BENCH_RATE=R (> 0) sends R requests per second in all, on a schedule: each request takes the next slot of
-- the schedule, so a slow answer does not lower the rate as long as a connection is free (with N connections, up to
-- N requests are in flight). Without it, requests go as fast as the connections allow: then no delay() is defined,
-- since wrk goes through a timer for every request when the script has one.

local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local requests = {}
local next_index = 1
local rate = tonumber(os.getenv("AGENTHUB_BENCH_RATE") or "0") or 0
local period_ms = rate > 0 and 1000 / rate or 0
local next_slot = nil

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local text = file:read("*a")
  file:close()
  local start = 1
  while true do
    local from, to = string.find(text, "--8<--\n", start, true)
    if not from then break end
    requests[#requests + 1] = string.sub(text, start, from - 1)
    start = to + 1
  end
  assert(#requests > 0, "no request in " .. args[1])
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index > #requests then next_index = 1 end
  return r
end

if rate > 0 then
  function delay()
    local now = now_ms()
    if next_slot == nil or next_slot < now - 100 then next_slot = now end -- start, or fell far behind: no burst
    local slot = next_slot
    next_slot = next_slot + period_ms
    local wait = slot - now
    if wait < 0 then return 0 end
    return math.floor(wait + 0.5)
  end
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
    '"errors_status":%d,"errors_timeout":%d,"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,' ..
    '"lat_p999_us":%d,"lat_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
