-- wrk script of eng/bench.sh: sends the raw HTTP requests of a file in turn and prints one JSON line of results.
--
--   wrk -t1 -cN -dDs -s relay.lua URL -- REQUESTS_FILE [RATE]
--
-- REQUESTS_FILE holds complete HTTP/1.1 requests separated by a line "--8<--" (bench/load/requests.mjs writes it).
-- One request is sent again and again; several (signed, each with its own nonce) are each sent once, in order, and
-- when they run out the file starts over (the hub then refuses the replays, which shows as non-2xx responses).
-- RATE > 0 sends at that many requests per second in all, on a schedule: each request takes the next free slot of
-- the schedule, so a slow answer does not slow the rate down as long as a connection is free (with N connections,
-- up to N requests are in flight); 0 sends as fast as the connections allow.

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
local period_ms = 0
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
  local rate = tonumber(args[2] or "0")
  if rate > 0 then period_ms = 1000 / rate end
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index > #requests then next_index = 1 end
  return r
end

function delay()
  if period_ms == 0 then return 0 end
  local now = now_ms()
  if next_slot == nil or next_slot < now - 100 then next_slot = now end -- start, or fell far behind: no burst
  local slot = next_slot
  next_slot = next_slot + period_ms
  local wait = slot - now
  if wait < 0 then return 0 end
  return math.floor(wait + 0.5)
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
