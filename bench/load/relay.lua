-- wrk script of eng/bench.sh: sends the raw HTTP requests of a file in turn and prints one JSON line of results.
--
--   wrk -t1 -cN -dDs -s relay.lua URL -- REQUESTS_FILE [DELAY_MS]
--
-- REQUESTS_FILE holds complete HTTP/1.1 requests separated by a line "--8<--" (bench/load/requests.mjs writes it).
-- One request is sent again and again; several (signed, each with its own nonce) are each sent once, in order, and
-- when they run out the file starts over (the hub then refuses the replays, which shows as non-2xx responses).
-- DELAY_MS > 0 makes each connection wait that long before each request: N connections then send about
-- N * 1000 / DELAY_MS requests per second, a fixed rate for latency measurements.

local requests = {}
local next_index = 1
local delay_ms = 0

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
  delay_ms = tonumber(args[2] or "0")
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index > #requests then next_index = 1 end
  return r
end

function delay()
  return delay_ms
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
