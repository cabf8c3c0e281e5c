// Time to first event of SendStreamingMessage, at a fixed rate, with Node's own HTTP client (keep-alive).
//
//   node ttfe.mjs --url U [--key API_KEY] --rate R --seconds S
//
// Each request is started on schedule (open loop: a slow answer does not delay the next request); the time from
// writing the request to receiving the first bytes of the first SSE event is recorded with a nanosecond clock.
// Prints one JSON line: {"sent":…,"ok":…,"errors":…,"p50_us":…,"p90_us":…,"p99_us":…,"p999_us":…}.
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: { url: { type: 'string' }, key: { type: 'string' }, rate: { type: 'string', default: '100' }, seconds: { type: 'string', default: '5' } },
});
const url = new URL(o.url);
const rate = Number(o.rate);
const total = Math.round(rate * Number(o.seconds));
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const body = JSON.stringify({
  jsonrpc: '2.0', id: 1, method: 'SendStreamingMessage',
  params: { message: { messageId: 'm-bench', role: 'ROLE_USER', parts: [{ text: 'stream please' }] } },
});
const headers = { 'Content-Type': 'application/json', 'A2A-Version': '1.0', 'Content-Length': Buffer.byteLength(body), Accept: 'text/event-stream' };
if (o.key) headers.Authorization = `Bearer ${o.key}`;

const times = [];
let sent = 0, finished = 0, errors = 0;
const start = process.hrtime.bigint();

function one() {
  const t0 = process.hrtime.bigint();
  let first = false;
  const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent }, res => {
    let seen = '';
    res.on('data', chunk => {
      if (!first) {
        seen += chunk.toString('latin1');
        if (seen.includes('data:')) {
          first = true;
          if (res.statusCode === 200) times.push(Number(process.hrtime.bigint() - t0) / 1000);
        }
      }
    });
    res.on('end', () => { if (res.statusCode !== 200 || !first) errors++; done(); });
  });
  req.on('error', () => { errors++; done(); });
  req.end(body);
}

function done() {
  if (++finished < total) return;
  times.sort((a, b) => a - b);
  const q = p => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0);
  console.log(JSON.stringify({ sent, ok: times.length, errors, p50_us: q(0.5), p90_us: q(0.9), p99_us: q(0.99), p999_us: q(0.999) }));
  agent.destroy();
}

(function tick() {
  const due = Math.min(total, Math.floor(Number(process.hrtime.bigint() - start) / 1e9 * rate) + 1);
  while (sent < due) { sent++; one(); }
  if (sent < total) setTimeout(tick, 1);
})();
