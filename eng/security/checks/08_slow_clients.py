"""8. Slow clients: slowhttptest's slow headers (Slowloris), slow body (R-U-Dead-Yet) and slow read, 1,000
connections each, all three at once against one hub for 60 s, while a probe client calls `/healthz` and an agent
through the relay every 100 ms on fresh connections: every probe call must succeed, p99 < 1 s.

The three attacks run concurrently (3,000 connections, under the 4,096 the hub allows per listener) rather than one
after the other: the same pressure on the hub in a third of the time. The probe, like the attacks, comes from
127.0.0.1, so the per-address rate limit is raised for this hub: the check is about connections held open, not
about request rates (09_rate_limits covers those). Kestrel's limits decide the outcome: RequestHeadersTimeout
(10 s) for slow headers, MinRequestBodyDataRate for slow bodies, MinResponseDataRate for slow readers.

Runs on SQLite only: what is tested is the HTTP server, the database plays no part.
"""
from __future__ import annotations

import csv
import http.client
import json
import resource
import shutil
import subprocess
import threading
import time

from harness import Row

CONNECTIONS, SECONDS, RATE = 1000, 60, 250   # per attack; RATE = new connections per second
PROBE_INTERVAL = 0.1
ATTACKS = {
    # mode flag, extra slowhttptest options, path
    "slow headers": (["-H", "-i", "5", "-x", "24"], "/healthz"),
    "slow body": (["-B", "-i", "5", "-s", "100000", "-x", "10"], "/api/v1/policies/explain"),
    "slow read": (["-X", "-k", "8", "-n", "3", "-w", "1", "-y", "8", "-z", "4"], "/.well-known/jwks.json"),
}


def run(ctx):
    if shutil.which("slowhttptest") is None:
        yield Row("slow clients", "slowhttptest", "slowhttptest is not installed (apt-get install slowhttptest)", False)
        return
    hub = ctx.hub("slow", "sqlite", env={
        "AGENTHUB_LIMITS__ADDRESSREQUESTSPERSECOND": "100000", "AGENTHUB_LIMITS__ADDRESSBURST": "100000"})
    prober = hub.agent("prober")
    hub.agent("probe-target")
    hub.allow("agent:prober", "probe-target")

    outdir = ctx.work / "slowhttptest"
    outdir.mkdir(exist_ok=True)

    def raise_fd_limit():  # 1,000 sockets per attack need more than the usual 1,024 descriptors
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    # slowhttptest stops once the hub has closed all its connections (slow headers and slow bodies are cut off within
    # seconds): each attack is started again until the 60 s are over, so the pressure lasts the whole probe
    overflows_before = listen_overflows()
    t_start = time.monotonic()
    attack_end = t_start + SECONDS
    rounds: dict[str, list[tuple[int | None, dict]]] = {name: [] for name in ATTACKS}

    def attack(name: str) -> None:
        flags, path = ATTACKS[name]
        while (left := attack_end - time.monotonic()) > 2:
            prefix = outdir / f"{name.replace(' ', '-')}-{len(rounds[name]) + 1}"
            cmd = ["slowhttptest", *flags, "-c", str(CONNECTIONS), "-r", str(RATE), "-l", str(int(left)), "-p", "3",
                   "-g", "-o", str(prefix), "-u", f"{hub.url}{path}"]
            with open(f"{prefix}.log", "wb") as log:
                p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=raise_fd_limit,
                                     start_new_session=True)
                try:
                    p.wait(left + 30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            rounds[name].append((p.returncode, read_stats(prefix)))

    attackers = [threading.Thread(target=attack, args=(name,), daemon=True) for name in ATTACKS]
    for a in attackers:
        a.start()

    probes: dict[str, list[tuple[float, int | str]]] = {"healthz": [], "relay": []}
    connects: dict[str, list[float]] = {"healthz": [], "relay": []}
    stop = threading.Event()

    def probe(kind: str) -> None:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
            "messageId": "probe", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}})
        headers = {"Authorization": f"Bearer {prober}", "Content-Type": "application/json", "A2A-Version": "1.0"}
        next_at = time.monotonic()
        while not stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # the probe's send schedule
            next_at += PROBE_INTERVAL
            t0 = time.monotonic()
            c = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)  # a fresh connection each time
            connected = None
            try:
                c.connect()
                connected = time.monotonic() - t0
                if kind == "healthz":
                    c.request("GET", "/healthz")
                else:
                    c.request("POST", "/a2a/probe-target", body, headers)
                r = c.getresponse()
                r.read()
                outcome: int | str = r.status
            except OSError as e:
                outcome = type(e).__name__
            finally:
                c.close()
            probes[kind].append((time.monotonic() - t0, outcome))
            connects[kind].append(connected if connected is not None else float("inf"))

    # the probe starts once the attacks hold their connections (1,000 at RATE/s), and ends with them
    ramp = CONNECTIONS / RATE + 1
    threads = [threading.Thread(target=probe, args=(k,), daemon=True) for k in probes]
    while time.monotonic() < t_start + ramp:
        time.sleep(0.2)  # pacing: the attacks ramp up on their own schedule
    for t in threads:
        t.start()
    for a in attackers:
        a.join(SECONDS + 60)
    stop.set()
    for t in threads:
        t.join(15)
    probe_seconds = time.monotonic() - t_start - ramp
    overflows = listen_overflows() - overflows_before
    for name, results in rounds.items():
        stats = [st for _, st in results]
        seconds = sum(st["rows"] for st in stats)
        yield Row(f"{name}: slowhttptest",
                  f"{CONNECTIONS} connections at {RATE}/s on {ATTACKS[name][1]}, started again whenever the hub had "
                  f"closed them all, for {SECONDS} s (all three attacks at once)",
                  f"{len(results)} rounds over {seconds} s; peak {max((st['connected'] for st in stats), default=0)} "
                  f"connected; {sum(st['closed'] for st in stats)} connections closed by the hub, "
                  f"{stats[-1]['connected_end'] if stats else 0} still open at the end; its own probe saw the service "
                  f"available in {sum(st['up'] for st in stats)}/{seconds} s; exit codes "
                  f"{','.join(str(rc) for rc, _ in results)}",
                  bool(results) and all(rc == 0 for rc, _ in results) and seconds >= SECONDS * 0.8
                  and max(st["connected"] for st in stats) >= CONNECTIONS * 0.8)

    alive = hub.alive()
    for kind, results in probes.items():
        ok = [lat for lat, o in results if o == 200]
        failed = [o for _, o in results if o != 200]
        lat = sorted(lat for lat, _ in results)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("inf")
        what = "GET /healthz" if kind == "healthz" else "SendMessage relayed to an agent"
        slow_connects = sum(1 for t in connects[kind] if t > 0.5)
        kinds = ", ".join(f"{n}× {o}" for o, n in sorted(count(failed).items(), key=str)) or "none"
        yield Row(f"probe during the attacks: {kind}",
                  f"{len(results)} calls of {what} every {PROBE_INTERVAL * 1000:.0f} ms on fresh connections "
                  f"over {probe_seconds:.0f} s",
                  f"{len(ok)}/{len(results)} succeeded (failures: {kinds}); p50 {pct(lat, 0.5) * 1000:.0f} ms, "
                  f"p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000 if lat else 0:.0f} ms; {slow_connects} connects took "
                  f"> 0.5 s; listen queue overflows on loopback meanwhile: {overflows}; hub alive: {alive}",
                  bool(results) and len(ok) == len(results) and p99 < 1.0 and alive and probe_seconds >= SECONDS / 2)
    hub.stop()


def listen_overflows() -> int:
    """The kernel's count of connections dropped because a listen queue was full (TcpExt ListenOverflows)."""
    with open("/proc/net/netstat") as f:
        lines = [line.split() for line in f if line.startswith("TcpExt:")]
    return int(dict(zip(lines[0][1:], lines[1][1:])).get("ListenOverflows", 0))


def count(items):
    out: dict = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


def pct(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))] if sorted_values else 0.0


def read_stats(prefix):
    """slowhttptest's CSV (-g -o): seconds, closed, pending, connected, service available (one row a second)."""
    stats = {"rows": 0, "connected": 0, "closed": 0, "pending": 0, "connected_end": 0, "up": 0}
    path = prefix.with_suffix(".csv") if prefix.suffix == "" else prefix.parent / (prefix.name + ".csv")
    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f) if r and r[0].strip().isdigit()]
    except OSError:
        return stats
    if not rows:
        return stats
    stats["rows"] = len(rows)
    stats["connected"] = max(int(r[3]) for r in rows)
    last = rows[-1]
    stats["closed"], stats["pending"], stats["connected_end"] = int(last[1]), int(last[2]), int(last[3])
    up = sum(1 for r in rows if r[4].strip().isdigit() and int(r[4]) > 0)  # the column is 0 when its probe failed
    stats["up"] = up
    return stats
