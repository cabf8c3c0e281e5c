"""BENCHMARKS.md and the summary line, from the results eng/bench.py gathered."""
from __future__ import annotations


def _mr(v: dict, fmt: str = "{:,.0f}") -> str:
    """median (min–max) of a median_range dict."""
    if v["n"] == 1:
        return fmt.format(v["median"])
    return f"{fmt.format(v['median'])} ({fmt.format(v['min'])}–{fmt.format(v['max'])})"


def _policy_ns(r: dict) -> float | None:
    rows = [m for m in r.get("micro", []) if "Decide" in m["name"] and "10000" in m["name"]]
    return max(float(m["mean_ns"]) for m in rows) if rows else None


def _policy_alloc(r: dict) -> float | None:
    rows = [m for m in r.get("micro", []) if "Decide" in m["name"] and "10000" in m["name"]]
    return max(float(m["allocated_bytes"] or 0) for m in rows) if rows else None


def summary_line(r: dict) -> str:
    if not all(k in r for k in ("throughput", "latency", "ttfe", "audit", "rss_agents_mb")):
        return "bench: partial run (--parts): no summary"
    t, lat, tt = r["throughput"], r["latency"], r["ttfe"]
    policy = _policy_ns(r)
    return (f"bench: hub/nginx={t['hub_over_nginx']['median']:.2f} signed/nginx={t['signed_over_nginx']['median']:.2f} "
            f"p99_added_ms={lat['hub_p99_added_ms']['median']:.2f} ttfe_added_ms={tt['hub_p50_added_ms']['median']:.2f} "
            f"audit_rps={r['audit']['sqlite_64']['median']:.0f} policy_ns={policy if policy is not None else float('nan'):.0f} "
            f"rss_mb={r['rss_agents_mb']:.0f}")


def _target(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(r: dict) -> str:
    missing = [k for k in ("throughput", "latency", "ttfe", "soak", "audit", "micro") if k not in r]
    if missing:  # a run of some parts (--parts): the raw figures only
        import json
        return "# Benchmarks (partial run: " + ", ".join(missing) + " not measured)\n\n```json\n" + json.dumps(r, indent=1) + "\n```\n"
    p, m, t, lat, tt, a = r["params"], r["machine"], r["throughput"], r["latency"], r["ttfe"], r["audit"]
    policy, policy_alloc = _policy_ns(r), _policy_alloc(r)
    out = []
    w = out.append
    w("# Benchmarks")
    w("")
    w("What the hub costs on the hot path, measured beside a direct call and beside nginx in the same run. Written by")
    w("`eng/bench.sh`" + (" **--quick** (fewer, shorter runs: a smoke test, not figures to quote)" if r["quick"] else "") +
      "; run it again to reproduce. Every figure is the median of the rounds, with min–max in brackets.")
    w("")
    w(f"- Date: {r['date']}; commit `{r['commit']}`; whole run {r['elapsed_s'] / 60:.1f} min")
    w(f"- Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, {m['os']}, kernel {m['kernel']}; load average at the end {m['load']}")
    w(f"- Software: .NET SDK {m['dotnet']}, {m['nginx']}, {m['wrk']}, Node {m['node']}")
    warm = r.get("warmup_s") or {}
    warmed = ", ".join(f"{k} {v:.0f} s" for k, v in warm.items())
    w(f"- Parameters: unmeasured load on each path first, in {p['warmup_seconds']} s slices for at least {p.get('warmup_min_seconds', 0)} s, then until "
      f"two in a row add under 5 % to its best throughput (direct, nginx) or the hub's JIT compiles for under "
      f"{p.get('jit_settled_share', 0) * 100:.0f} % of two in a row (hub, signed; from its `dotnet_jit_compilation_seconds_total`) (at most {p.get('warmup_max_seconds', p['warmup_seconds'])} s), so the figures are of code the JIT has optimised"
      f"{' (' + warmed + ')' if warmed else ''}; {p['runs']} round(s); throughput {p['seconds']} s per path at {p['connections']} connections; latency "
      f"{p['latency_seconds']} s per path at {p['rate']} requests/s; time to first event {p['ttfe_seconds']} s per path at "
      f"{p['ttfe_rate']} streams/s; {p['rules']:,} policy rules; {p['agents']:,} agents; memory soak {p['soak_seconds']} s")
    w("- Hub build: " + r.get("hub_build", "the Release build"))
    w("- Pinning: " + ("servers (upstream agent, nginx, hub) on CPU 0, load generators on CPU 1 (`taskset`)" if r["pinned"] else
                       "none (fewer than two cores or no `taskset`)"))
    w("")
    w("## Targets")
    w("")
    w("| target | measured | |")
    w("| --- | --- | --- |")
    rows = [
        ("full-security hub throughput ≥ 0.8 × nginx (stretch 1.0)", f"{t['hub_over_nginx']['median']:.2f} × nginx", t["hub_over_nginx"]["median"] >= 0.8),
        ("with RFC 9421 verify + sign ≥ 0.7 × nginx", f"{t['signed_over_nginx']['median']:.2f} × nginx", t["signed_over_nginx"]["median"] >= 0.7),
        ("added p99 latency over direct at 1,000 req/s ≤ 1 ms", f"{lat['hub_p99_added_ms']['median']:.2f} ms", lat["hub_p99_added_ms"]["median"] <= 1),
        ("added time to first SSE event ≤ 1 ms (median)", f"{tt['hub_p50_added_ms']['median']:.2f} ms", tt["hub_p50_added_ms"]["median"] <= 1),
        ("audit ≥ 20,000 durable records/s on SQLite at 64 writers", f"{a['sqlite_64']['median']:,.0f}/s", a["sqlite_64"]["median"] >= 20000),
        ("policy ≤ 1 µs per decision at 10,000 rules, zero allocations",
         f"{policy:,.0f} ns, {policy_alloc:.0f} B" if policy is not None else "not measured",
         policy is not None and policy <= 1000 and policy_alloc == 0),
        (f"RSS ≤ 150 MB with {p['agents']:,} agents registered", f"{r['rss_agents_mb']:.0f} MB", r["rss_agents_mb"] <= 150),
        ("cold start to ready ≤ 1.5 s", f"{r['cold_start_ms']['median'] / 1000:.2f} s", r["cold_start_ms"]["median"] <= 1500),
    ]
    for name, value, ok in rows:
        w(f"| {name} | {value} | {_target(ok)} |")
    w("")
    w("## Reading the figures")
    w("")
    w("The hub does on every call what nginx does not: it authenticates the key (a database read), decides the policy,")
    w("looks the agent up, makes the caller's authentication and the `relay.call` record durable before forwarding (a")
    w("group commit: one fsync for the calls waiting together), mints an ES256 hub token and signs the forwarded request")
    w("(RFC 9421, ES256), records task ownership durably before the answer goes out, and queues `relay.result` after it.")
    w("At low load the added latency therefore has a floor of two durable commits, which the audit table below (1 writer)")
    w("shows for this machine's disk; at high load the commits are shared and CPU per call decides the throughput. The")
    w("load generator's own latency is in every path's figures alike, so compare the *added* columns.")
    w("")
    w("## Paths")
    w("")
    w("The same ~1 KB A2A `SendMessage` request to the same upstream (`bench/AgentHub.BenchAgent`, a minimal A2A agent that")
    w("answers a completed ~1 KB Task; its thread pool does not spin waiting for work, which would take the shared core")
    w("from the server under test) by four paths: **direct** to the upstream; **nginx** (`proxy_pass` with upstream")
    w("keep-alive, buffering off, one worker); **hub**: through `/a2a/bench` with every check on — API key, policy with")
    w(f"{p['rules']:,} rules, rate limits (set high), concurrency limits, the durable `relay.call` audit record before forwarding and")
    w("`relay.result` after, task ownership, hub JWT and RFC 9421 signature on the forwarded request, metrics; **signed**: as")
    w("hub, and the caller signs each request (RFC 9421, `ecdsa-p256-sha256`, its own nonce) which the hub verifies,")
    w("replay-checks and records. Load: `wrk` (one thread).")
    w("")
    w(f"### Throughput ({p['connections']} connections, requests/s)")
    w("")
    w("| path | requests/s | ratio to nginx |")
    w("| --- | --- | --- |")
    for path in ["direct", "nginx", "hub", "signed"]:
        ratio = {"hub": _mr(t["hub_over_nginx"], "{:.2f}"), "signed": _mr(t["signed_over_nginx"], "{:.2f}"), "nginx": "1"}.get(path, "")
        w(f"| {path} | {_mr(t[f'{path}_rps'])} | {ratio} |")
    w("")
    w("Rounds (direct, nginx, hub, signed, one after the other): " +
      "; ".join(", ".join(f"{k} {v:,.0f}" for k, v in rnd.items()) for rnd in t["rounds"]))
    w("")
    w("### What a call costs the process under test (same throughput runs)")
    w("")
    w("CPU time (user and system, from `/proc`) of the process that handles the path — the upstream for direct, nginx")
    w("(master and worker) for nginx, the hub for hub and signed — divided by the calls it served; the upstream's own share")
    w("of the proxied paths is the direct row. Unlike requests/s it does not depend on how the one core is shared between")
    w("the processes, so it is the better figure to compare builds by (it still moves with the machine's speed: compare")
    w("within one run, or A B B A). The hub's allocations per call do not move with the machine at all; they and its GC")
    w("pauses come from its metrics")
    w("(`dotnet_gc_allocated_bytes_total`, `dotnet_gc_pause_seconds_total`).")
    w("")
    w("| path | CPU per call (µs) | allocated per call (KB) | GC pauses (% of the run) |")
    w("| --- | --- | --- | --- |")
    for path in ["direct", "nginx", "hub", "signed"]:
        c = t["cost"][path]
        alloc = _mr(c["alloc_kb"], "{:.1f}") if "alloc_kb" in c else ""
        pause = _mr(c["gc_pause_pct"], "{:.1f}") if "gc_pause_pct" in c else ""
        w(f"| {path} | {_mr(c['cpu_us'])} | {alloc} | {pause} |")
    w("")
    w(f"The hub spends {_mr(t['hub_cpu_over_nginx'], '{:.0f}')} times nginx's CPU on a call.")
    w("")
    w(f"### Latency at a fixed rate (`SendMessage`, {p['rate']:,} requests/s on a fixed schedule over {lat['connections']} connections; ms)")
    w("")
    w("Each request takes the next slot of the schedule when a connection is free, so a slow answer does not lower the")
    w("rate while fewer than all connections wait; where a path cannot keep up, its achieved rate says so.")
    w("")
    w("| path | achieved req/s | p50 | p90 | p99 | p99.9 | p50 added | p99 added |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in ["direct", "nginx", "hub", "signed"]:
        added = ("", "") if path == "direct" else (_mr(lat[f"{path}_p50_added_ms"], "{:.2f}"), _mr(lat[f"{path}_p99_added_ms"], "{:.2f}"))
        w(f"| {path} | {_mr(lat[f'{path}_rps'])} | " + " | ".join(_mr(lat[f"{path}_{q}_ms"], "{:.2f}") for q in ["p50", "p90", "p99", "p999"]) +
          f" | {added[0]} | {added[1]} |")
    w("")
    w(f"### Time to first event (`SendStreamingMessage`, {p['ttfe_rate']} streams/s open loop, Node's HTTP client; ms)")
    w("")
    w("The upstream answers Task, status, artifact and completed events; the time is from sending the request to the first `data:`.")
    w("")
    w("| path | p50 | p90 | p99 | p99.9 | p50 added | p99 added |")
    w("| --- | --- | --- | --- | --- | --- | --- |")
    for path in ["direct", "nginx", "hub"]:
        added = ("", "") if path == "direct" else (_mr(tt[f"{path}_p50_added_ms"], "{:.2f}"), _mr(tt[f"{path}_p99_added_ms"], "{:.2f}"))
        w(f"| {path} | " + " | ".join(_mr(tt[f"{path}_{q}_ms"], "{:.2f}") for q in ["p50", "p90", "p99", "p999"]) + f" | {added[0]} | {added[1]} |")
    w("")
    w("## Components")
    w("")
    w(f"### Audit append (durable records/s, group commit; {p['audit_seconds']} s per run after {p.get('audit_warmup_seconds', 1)} s of the same load)")
    w("")
    w("| writers | SQLite (WAL, synchronous=FULL) | PostgreSQL (fsync on, synchronous_commit on) |")
    w("| --- | --- | --- |")
    for n in [1, 8, 64]:
        w(f"| {n} | {_mr(a[f'sqlite_{n}'])} | {_mr(a[f'postgres_{n}'])} |")
    w("")
    w("### Micro benchmarks (BenchmarkDotNet, `bench/AgentHub.Benchmarks`)")
    w("")
    w("| benchmark | mean | median | min–max | allocated |")
    w("| --- | --- | --- | --- | --- |")
    for row in r.get("micro", []):
        def ns(v):
            v = float(v)
            return f"{v / 1000:,.2f} µs" if v >= 1000 else f"{v:,.1f} ns"
        w(f"| {row['name']} | {ns(row['mean_ns'])} | {ns(row['median_ns'])} | {ns(row['min_ns'])}–{ns(row['max_ns'])} | {row['allocated_bytes']} B |")
    w("")
    w("## Memory and start-up")
    w("")
    s = r["soak"]
    w(f"- RSS idle (hub started, {p['rules']:,} rules loaded, 3 agents): {r['rss_idle_mb']:.0f} MB")
    w(f"- RSS with {p['agents']:,} more agents registered: {r['rss_agents_mb']:.0f} MB")
    w(f"- Under load for {s['seconds']} s at {p['rate']:,} requests/s ({s['requests']:,} calls, {s['errors_status']} non-2xx): "
      f"highest RSS in the first third {s['rss_first_third_max_mb']:.0f} MB, in the last third {s['rss_last_third_max_mb']:.0f} MB, "
      f"at the end {s['rss_end_mb']:.0f} MB")
    w(f"  (samples, seconds → MB: {', '.join(f'{x[0]:.0f}→{x[1]:.0f}' for x in s['samples'])})")
    w(f"- Cold start, process start to `/readyz` = 200, on that data directory: {_mr(r['cold_start_ms'])} ms; on an empty one "
      f"(master key, migrations, bootstrap admin): {_mr(r['cold_start_fresh_ms'])} ms")
    w("")
    w("## Summary line")
    w("")
    w("```")
    w(summary_line(r))
    w("```")
    w("")
    return "\n".join(out)
