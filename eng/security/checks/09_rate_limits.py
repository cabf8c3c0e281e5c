"""9. Rate limits: a burst at 10× a caller's limit is refused with 429 + Retry-After beyond the limit (accepted ≤
limit × 1.05), while another caller's calls all succeed."""
from __future__ import annotations

import http.client
import json
import threading
import time

from harness import Row

RATE, BURST = 20, 20          # the per-principal bucket under test
SECONDS, FACTOR = 3.0, 10     # the burst: 10× the rate for 3 s
OTHER_RATE = 5                # the other caller's calm traffic


def run(ctx):
    for db in ctx.dbs:
        yield from burst(ctx, db)


def burst(ctx, db: str):
    hub = ctx.hub(f"ratelimit-{db}", db, env={
        "AGENTHUB_LIMITS__PRINCIPALREQUESTSPERSECOND": str(RATE), "AGENTHUB_LIMITS__PRINCIPALBURST": str(BURST),
        # the per-address bucket is set high: both callers come from 127.0.0.1, this check is about principals
        "AGENTHUB_LIMITS__ADDRESSREQUESTSPERSECOND": "100000", "AGENTHUB_LIMITS__ADDRESSBURST": "100000"})
    noisy, calm = hub.agent("noisy"), hub.agent("calm")
    hub.agent("target")
    hub.allow("agent:noisy", "target")
    hub.allow("agent:calm", "target")



    results: dict[str, list[tuple[int, str | None]]] = {"noisy": [], "calm": []}
    lock = threading.Lock()

    def send(who: str, key: str, count: int, interval: float, start: float) -> None:
        c = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=30)
        for i in range(count):
            due = start + i * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # a fixed send schedule, not a wait for a condition
            body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {"message": {
                "messageId": f"{who}-{i}", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}})
            c.request("POST", "/a2a/target", body, {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                                                    "A2A-Version": "1.0"})
            r = c.getresponse()
            r.read()
            with lock:
                results[who].append((r.status, r.getheader("Retry-After")))

    start = time.monotonic() + 0.2
    threads = 8
    per_thread = int(RATE * FACTOR * SECONDS / threads)
    workers = [threading.Thread(target=send, args=("noisy", noisy, per_thread, threads / (RATE * FACTOR), start + t / (RATE * FACTOR)))
               for t in range(threads)]
    workers.append(threading.Thread(target=send, args=("calm", calm, int(OTHER_RATE * SECONDS), 1 / OTHER_RATE, start)))
    t0 = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - t0
    sent = len(results["noisy"])
    accepted = sum(1 for s, _ in results["noisy"] if s == 200)
    refused = [(s, ra) for s, ra in results["noisy"] if s != 200]
    allowed = (BURST + RATE * elapsed) * 1.05
    bad_refusals = [r for r in refused if r[0] != 429 or not (r[1] or "").isdigit()]
    calm_ok = sum(1 for s, _ in results["calm"] if s == 200)
    yield Row(f"burst at 10× the limit ({db})",
              f"{sent} relay calls in {elapsed:.1f} s by one agent limited to {RATE}/s (burst {BURST})",
              f"{accepted} accepted (allowed ≤ {allowed:.0f}), {len(refused)} refused, "
              f"{len(refused) - len(bad_refusals)} of them 429 with Retry-After",
              accepted <= allowed and accepted >= BURST and not bad_refusals and len(refused) > 0)
    yield Row(f"another caller meanwhile ({db})", f"{len(results['calm'])} calls at {OTHER_RATE}/s by a second agent",
              f"{calm_ok}/{len(results['calm'])} succeeded", calm_ok == len(results["calm"]) and calm_ok > 0)
    hub.stop()
