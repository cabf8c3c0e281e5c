#!/usr/bin/env python3
"""The measuring half of eng/bench.sh (which installs what is missing and builds Release first).

Starts everything on loopback, measures, stops everything and writes the report; see eng/bench.sh --help.
Servers (the upstream agent, nginx, the hub) run on CPU 0, load generators on CPU 1, so every path under test gets
the same core and the load generator never competes with it. Ratios are computed pair by pair within one round
(direct, nginx, hub, signed, direct, nginx, …), never across rounds.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOAD = ROOT / "bench" / "load"
# the hub as published by bench.sh (Release, ReadyToRun), or another build given by path
DEFAULT_HUB_DLL = ROOT / "artifacts/bench/hub/agenthub.dll"
HUB_DLL = Path(os.environ.get("AGENTHUB_BENCH_HUB_DLL") or DEFAULT_HUB_DLL)
AGENT_DLL = ROOT / "bench/AgentHub.BenchAgent/bin/Release/net10.0/AgentHub.BenchAgent.dll"
BENCH_DLL = ROOT / "bench/AgentHub.Benchmarks/bin/Release/net10.0/AgentHub.Benchmarks.dll"

FULL = dict(runs=3, warmup_seconds=5, warmup_min_seconds=60, warmup_max_seconds=300, jit_settled_share=0.01, seconds=10, latency_seconds=10, rate=1000, ttfe_rate=200, ttfe_seconds=10, connections=64,
            rules=10_000, agents=10_000, soak_seconds=300, audit_seconds=5, audit_warmup_seconds=10, audit_runs=3, cold_runs=3)
QUICK = dict(runs=1, warmup_seconds=2, warmup_min_seconds=2, warmup_max_seconds=6, jit_settled_share=0.01, seconds=2, latency_seconds=2, rate=1000, ttfe_rate=200, ttfe_seconds=1, connections=64,
             rules=1_000, agents=1_000, soak_seconds=5, audit_seconds=1, audit_warmup_seconds=1, audit_runs=1, cold_runs=1)
PATHS = ["direct", "nginx", "hub", "signed"]


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Procs:
    """Every process the run starts, stopped on the way out whatever happens."""

    def __init__(self, pin: bool):
        self.pin = pin
        self.items: list[subprocess.Popen] = []

    def start(self, cmd: list[str], log_path: Path, cpu: int = 0, env: dict | None = None) -> subprocess.Popen:
        if self.pin:
            cmd = ["taskset", "-c", str(cpu), *cmd]
        handle = open(log_path, "ab")
        p = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                             start_new_session=True)
        self.items.append(p)
        return p

    def stop(self, p: subprocess.Popen) -> None:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def stop_all(self) -> None:
        for p in reversed(self.items):
            try:
                self.stop(p)
            except ProcessLookupError:
                pass


def wait_http(url: str, timeout: float = 30, proc: subprocess.Popen | None = None) -> float:
    """Polls url until it answers 200; returns when it did (time.monotonic())."""
    u = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection(u[1], int(u[2]), timeout=1)
            c.request("GET", u[3])
            if c.getresponse().status == 200:
                return time.monotonic()
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time so far of a process and of its running children (nginx's worker)."""
    def stat(p: int) -> list[str]:
        with open(f"/proc/{p}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    pids = [pid]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(stat(int(d))[1]) == pid:
                    pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass  # gone meanwhile
    total = 0.0
    for p in pids:
        try:
            f = stat(p)
            total += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def rss_mb(pid: int) -> float:
    """Resident set of the process (the dotnet host itself: taskset execs it, so the pid is the same)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Api:
    """The hub's admin API over keep-alive connections, one per thread."""

    def __init__(self, port: int, key: str):
        self.port, self.key, self.local = port, key, threading.local()

    def call(self, method: str, path: str, body: dict | None = None, expect=(200, 201)) -> dict:
        for attempt in range(3):
            c = getattr(self.local, "c", None) or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.local.c = c
            try:
                data = json.dumps(body).encode() if body is not None else None
                c.request(method, path, data, {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"})
                r = c.getresponse()
                text = r.read()
                if r.status not in expect:
                    raise RuntimeError(f"{method} {path}: {r.status} {text[:300]!r}")
                return json.loads(text) if text else {}
            except (http.client.HTTPException, ConnectionError):
                c.close()
                self.local.c = None
                if attempt == 2:
                    raise
        raise AssertionError

    def many(self, method: str, path: str, bodies: list[dict], workers: int = 32) -> None:
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(lambda b: self.call(method, path, b), bodies):
                pass


def card(name: str, url: str) -> dict:
    return {"name": name, "description": f"{name} for the benchmarks", "version": "1.0.0",
            "supportedInterfaces": [{"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
            "capabilities": {}, "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
            "skills": [{"id": "work", "name": "Work", "description": "Does work.", "tags": ["bench"]}]}


def filler_rules(count: int) -> list[dict]:
    """A realistic mix: exact caller → exact agent allows, role rules, wildcard-agent rules and some denies."""
    methods = [["SendMessage"], ["SendMessage", "GetTask"], ["*"], ["GetTask", "CancelTask"]]
    rules = []
    for i in range(count):
        kind = i % 20
        if kind == 0:
            rule = {"caller": f"role:{['operator', 'auditor', 'agent'][i % 3]}", "agent": f"svc-{i % 997}", "effect": "allow"}
        elif kind == 1:
            rule = {"caller": f"agent:worker-{i}", "agent": "*", "effect": "allow"}
        elif kind == 2:
            rule = {"caller": f"agent:worker-{i}", "agent": f"svc-{i % 997}", "effect": "deny"}
        else:
            rule = {"caller": f"agent:worker-{i}", "agent": f"svc-{i % 997}", "effect": "allow"}
        rule["methods"] = methods[i % len(methods)]
        rules.append(rule)
    return rules


def run(cmd: list[str], cpu: int | None, pin: bool, timeout: float = 900, env: dict | None = None) -> str:
    if pin and cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr[-2000:]}")
    return r.stdout


def last_json(text: str) -> dict:
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no JSON result in: {text[-500:]}")


def median_range(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


class Bench:
    def __init__(self, args, params: dict, work: Path):
        self.args, self.p, self.work = args, params, work
        self.pin = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
        self.procs = Procs(self.pin)
        self.results: dict = {"params": params, "pinned": self.pin,
                              "hub_build": f"`{HUB_DLL.relative_to(ROOT) if HUB_DLL.is_relative_to(ROOT) else HUB_DLL}`"
                                           + (" (`dotnet publish -c Release`: ReadyToRun)" if HUB_DLL == DEFAULT_HUB_DLL else "")}
        self.hub_rps = 0.0  # the unsigned hub path's last throughput: sizes the signed request files

    # ---- the servers -------------------------------------------------------------------------------------------

    def start_upstream(self) -> None:
        self.agent_port = free_port()
        # Its thread pool does not spin while waiting for work: it shares CPU 0 with the server under test, and behind
        # the hub, whose calls reach it one at a time rather than in a saturating stream, that spinning cost about
        # 100 µs of the shared core per call (measured: 150–240 µs of upstream CPU a call with it, 55–100 µs without),
        # time the hub path was charged for. Every path uses the same upstream.
        self.agent = self.procs.start(["dotnet", str(AGENT_DLL), "--urls", f"http://127.0.0.1:{self.agent_port}"],
                                      self.work / "agent.log", env={"DOTNET_gcServer": "0", "DOTNET_TieredPGO": "1",
                                                                    "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit": "0"})
        wait_http(f"http://127.0.0.1:{self.agent_port}/healthz", proc=self.agent)

    def start_nginx(self) -> None:
        self.nginx_port = free_port()
        conf = self.work / "nginx.conf"
        conf.write_text(f"""
worker_processes 1;
daemon off;
pid {self.work}/nginx.pid;
error_log {self.work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {self.work}/nginx-body;
  proxy_temp_path {self.work}/nginx-proxy;
  fastcgi_temp_path {self.work}/nginx-fastcgi;
  uwsgi_temp_path {self.work}/nginx-uwsgi;
  scgi_temp_path {self.work}/nginx-scgi;
  upstream agent {{ server 127.0.0.1:{self.agent_port}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{self.nginx_port};
    keepalive_requests 1000000;
    location / {{
      proxy_pass http://agent;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }}
  }}
}}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx = self.procs.start([nginx, "-c", str(conf), "-e", str(self.work / "nginx-error.log")], self.work / "nginx.log")
        wait_http(f"http://127.0.0.1:{self.nginx_port}/healthz", proc=self.nginx)

    def hub_env(self, data: Path) -> dict:
        return {
            "AGENTHUB_DATA": str(data),
            "AGENTHUB_AGENTS__ALLOWPRIVATENETWORKS": "true",
            # rate limits stay on, set high enough not to refuse the benchmark's load
            "AGENTHUB_LIMITS__PRINCIPALREQUESTSPERSECOND": "1000000", "AGENTHUB_LIMITS__PRINCIPALBURST": "1000000",
            "AGENTHUB_LIMITS__ADDRESSREQUESTSPERSECOND": "1000000", "AGENTHUB_LIMITS__ADDRESSBURST": "1000000",
            "AGENTHUB_RELAY__MAXCONCURRENTPERCALLER": "1024", "AGENTHUB_RELAY__MAXCONCURRENTPERAGENT": "1024",
        }

    def start_hub(self, data: Path) -> tuple[subprocess.Popen, float]:
        self.hub_port, self.metrics_port = free_port(), free_port()
        started = time.monotonic()
        hub = self.procs.start(["dotnet", str(HUB_DLL), "serve", "--urls", f"http://127.0.0.1:{self.hub_port}",
                                "--metrics-urls", f"http://127.0.0.1:{self.metrics_port}"],
                               self.work / "hub.log", env=self.hub_env(data))
        ready = wait_http(f"http://127.0.0.1:{self.hub_port}/readyz", proc=hub, timeout=60)
        return hub, ready - started

    def setup_hub(self) -> None:
        self.hub_data = self.work / "hub-data"
        self.hub, _ = self.start_hub(self.hub_data)
        admin = (self.hub_data / "bootstrap-admin.key").read_text().strip()
        self.api = Api(self.hub_port, admin)
        upstream = f"http://127.0.0.1:{self.agent_port}/"
        self.api.call("POST", "/api/v1/agents", {"id": "bench", "cardUrl": f"{upstream}.well-known/agent-card.json"})
        self.caller_key = self.api.call("POST", "/api/v1/agents", {"id": "caller", "card": card("Caller", upstream)})["key"]["key"]
        run(["node", str(LOAD / "requests.mjs"), "keygen", str(self.work)], None, False)
        signer_jwk = json.loads((self.work / "signer.pub.jwk").read_text())
        self.signer_key = self.api.call("POST", "/api/v1/agents", {
            "id": "signer", "card": card("Signer", upstream), "keys": [signer_jwk], "requireSignature": True})["key"]["key"]
        started = time.monotonic()
        rules = filler_rules(self.p["rules"] - 2)
        rules += [{"caller": "agent:caller", "agent": "bench", "methods": ["*"], "effect": "allow"},
                  {"caller": "agent:signer", "agent": "bench", "methods": ["*"], "effect": "allow"}]
        self.api.many("POST", "/api/v1/policies", rules)
        log(f"{len(rules)} policy rules loaded in {time.monotonic() - started:.1f} s")
        self.results["rss_idle_mb"] = rss_mb(self.hub.pid)

    # ---- load ----------------------------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return {"direct": f"http://127.0.0.1:{self.agent_port}/",
                "nginx": f"http://127.0.0.1:{self.nginx_port}/",
                "hub": f"http://127.0.0.1:{self.hub_port}/a2a/bench",
                "signed": f"http://127.0.0.1:{self.hub_port}/a2a/bench"}[path]

    def requests_file(self, path: str, count: int, method: str = "SendMessage") -> Path:
        out = self.work / f"requests-{path}-{method}.txt"
        common = ["--url", self.url(path), "--method", method, "--out", str(out)]
        if path == "signed":
            run(["node", str(LOAD / "requests.mjs"), "signed", *common, "--key", self.signer_key,
                 "--jwk", str(self.work / "signer.jwk"), "--count", str(count)], 1, self.pin)
        else:
            key = ["--key", self.caller_key] if path == "hub" else []
            run(["node", str(LOAD / "requests.mjs"), "plain", *common, *key], 1, self.pin)
        return out

    def check_path(self, path: str) -> None:
        """One request before measuring: the path must answer a task, or its figures would measure an error."""
        raw = self.requests_file(path, 1).read_bytes().split(b"--8<--\n")[0]
        head, body = raw.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        c = http.client.HTTPConnection("127.0.0.1", int(self.url(path).split(":")[2].split("/")[0]), timeout=10)
        c.request("POST", lines[0].split(" ")[1], body, dict(h.split(": ", 1) for h in lines[1:] if not h.startswith("Host:")))
        r = c.getresponse()
        text = r.read()
        if r.status != 200 or b'"task"' not in text:
            raise RuntimeError(f"{path}: the check request got {r.status} {text[:300]!r}")

    def wrk(self, path: str, seconds: float, connections: int, rate: int = 0) -> dict:
        count = 1
        if path == "signed":
            # Each signed request is sent once: twice what the unsigned hub path last managed (signing only adds work),
            # or the fixed rate, made right before the run so `created` is well within the hub's clock-skew window.
            count = int(max(rate or self.hub_rps, 2000) * 2 * seconds) + 2000
        requests = self.requests_file(path, count)
        out = run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(LOAD / "relay.lua"),
                   self.url(path), "--", str(requests)], 1, self.pin, timeout=seconds + 120, env={"AGENTHUB_BENCH_RATE": str(rate)})
        r = last_json(out)
        r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
        if path == "hub" and not rate:
            self.hub_rps = r["rps"]
        errors = sum(r[k] for k in r if k.startswith("errors_"))
        if errors:
            raise RuntimeError(f"{path}: wrk saw {errors} errors ({out.strip().splitlines()[-1]})")
        return r

    def hub_metrics(self, *names: str) -> dict[str, float]:
        """Unlabelled samples of the hub's metrics listener, by name."""
        c = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=10)
        try:
            c.request("GET", "/metrics")
            text = c.getresponse().read().decode()
        finally:
            c.close()
        found = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name in names:
                found[name] = float(value)
        missing = [n for n in names if n not in found]
        if missing:
            raise RuntimeError(f"the hub's /metrics has no {', '.join(missing)}")
        return found

    def hub_jit_seconds(self) -> float:
        """Time the hub's JIT has spent compiling so far."""
        return self.hub_metrics("dotnet_jit_compilation_seconds_total")["dotnet_jit_compilation_seconds_total"]

    GC_METRICS = ("dotnet_gc_allocated_bytes_total", "dotnet_gc_pause_seconds_total")

    def server_of(self, path: str) -> subprocess.Popen:
        """The process a path's calls cost: the upstream for direct, nginx for nginx, the hub for the hub's paths."""
        return {"direct": self.agent, "nginx": self.nginx}.get(path, self.hub)

    def warm_up(self) -> None:
        """Not measured: every path serves load until it has settled, so the figures are of code the JIT has optimised.
        Slices of warmup_seconds run for at least warmup_min_seconds, then, for direct and nginx, until two in a row add
        less than 5 % over the best throughput so far; for the hub's paths, until the hub's JIT spent under
        jit_settled_share of two slices in a row compiling (its tiered JIT keeps recompiling hot methods for a minute
        or two under load on two cores, while the throughput creeps up by less than 5 % a slice). At most
        warmup_max_seconds either way."""
        self.results["warmup_s"] = {}
        for path in PATHS:
            best, flat, spent = 0.0, 0, 0.0
            while spent < self.p["warmup_min_seconds"] or (spent < self.p["warmup_max_seconds"] and flat < 2):
                jit = self.hub_jit_seconds() if path in ("hub", "signed") else 0.0
                rps = self.wrk(path, self.p["warmup_seconds"], self.p["connections"])["rps"]
                spent += self.p["warmup_seconds"]
                if path in ("hub", "signed"):
                    settled = self.hub_jit_seconds() - jit < self.p["jit_settled_share"] * self.p["warmup_seconds"]
                else:
                    settled = rps < best * 1.05
                flat = flat + 1 if settled else 0
                best = max(best, rps)
            self.results["warmup_s"][path] = spent
            log(f"{path}: warmed up for {spent:.0f} s (best {best:,.0f} requests/s)")

    def throughput(self) -> None:
        rounds, costs = [], []
        for i in range(self.p["runs"]):
            row, cost = {}, {}
            for path in PATHS:
                server = self.server_of(path).pid
                cpu = cpu_seconds(server)
                gc = self.hub_metrics(*self.GC_METRICS) if path in ("hub", "signed") else None
                r = self.wrk(path, self.p["seconds"], self.p["connections"])
                row[path] = r["rps"]
                # What each call cost the process under test (the upstream's own share is the direct path's).
                cost[path] = {"cpu_us": (cpu_seconds(server) - cpu) / r["requests"] * 1e6}
                if gc is not None:
                    after = self.hub_metrics(*self.GC_METRICS)
                    cost[path]["alloc_kb"] = (after[self.GC_METRICS[0]] - gc[self.GC_METRICS[0]]) / r["requests"] / 1024
                    cost[path]["gc_pause_pct"] = (after[self.GC_METRICS[1]] - gc[self.GC_METRICS[1]]) / (r["duration_us"] / 1e6) * 100
            log("throughput round {}: {}".format(i + 1, ", ".join(f"{k} {v:,.0f}/s ({cost[k]['cpu_us']:,.0f} µs CPU a call)" for k, v in row.items())))
            rounds.append(row)
            costs.append(cost)
        self.results["throughput"] = {
            "rounds": rounds,
            "cost": {path: {k: median_range([c[path][k] for c in costs]) for k in costs[0][path]} for path in PATHS},
            "hub_cpu_over_nginx": median_range([c["hub"]["cpu_us"] / c["nginx"]["cpu_us"] for c in costs]),
            **{f"{path}_rps": median_range([r[path] for r in rounds]) for path in PATHS},
            "hub_over_nginx": median_range([r["hub"] / r["nginx"] for r in rounds]),
            "signed_over_nginx": median_range([r["signed"] / r["nginx"] for r in rounds]),
            "hub_over_direct": median_range([r["hub"] / r["direct"] for r in rounds]),
        }

    def latency(self) -> None:
        connections = 64
        rounds = []
        for i in range(self.p["runs"]):
            row = {path: self.wrk(path, self.p["latency_seconds"], connections, self.p["rate"]) for path in PATHS}
            log("latency round {}: {}".format(i + 1, ", ".join(f"{k} p99 {v['lat_p99_us'] / 1000:.2f} ms at {v['rps']:,.0f}/s" for k, v in row.items())))
            rounds.append(row)
        summary = {"connections": connections, "rounds": rounds}
        for path in PATHS:
            for q in ["p50", "p90", "p99", "p999"]:
                summary[f"{path}_{q}_ms"] = median_range([r[path][f"lat_{q}_us"] / 1000 for r in rounds])
            summary[f"{path}_rps"] = median_range([r[path]["rps"] for r in rounds])
        for path in ["nginx", "hub", "signed"]:
            for q in ["p50", "p99"]:
                summary[f"{path}_{q}_added_ms"] = median_range([(r[path][f"lat_{q}_us"] - r["direct"][f"lat_{q}_us"]) / 1000 for r in rounds])
        self.results["latency"] = summary

    def ttfe(self) -> None:
        rounds = []
        for i in range(self.p["runs"]):
            row = {}
            for path in ["direct", "nginx", "hub"]:
                key = ["--key", self.caller_key] if path == "hub" else []
                r = last_json(run(["node", str(LOAD / "ttfe.mjs"), "--url", self.url(path), *key, "--rate", str(self.p["ttfe_rate"]),
                                   "--seconds", str(self.p["ttfe_seconds"])], 1, self.pin, timeout=300))
                if r["errors"] or r["ok"] != r["sent"]:
                    raise RuntimeError(f"ttfe {path}: {r}")
                row[path] = r
            log("ttfe round {}: {}".format(i + 1, ", ".join(f"{k} p50 {v['p50_us'] / 1000:.2f} ms p99 {v['p99_us'] / 1000:.2f} ms" for k, v in row.items())))
            rounds.append(row)
        summary = {"rounds": rounds}
        for path in ["direct", "nginx", "hub"]:
            for q in ["p50", "p90", "p99", "p999"]:
                summary[f"{path}_{q}_ms"] = median_range([r[path][f"{q}_us"] / 1000 for r in rounds])
        for path in ["nginx", "hub"]:
            for q in ["p50", "p99"]:
                summary[f"{path}_{q}_added_ms"] = median_range([(r[path][f"{q}_us"] - r["direct"][f"{q}_us"]) / 1000 for r in rounds])
        self.results["ttfe"] = summary

    # ---- memory and start-up -------------------------------------------------------------------------------------

    def agents_and_memory(self) -> None:
        started = time.monotonic()
        upstream = f"http://127.0.0.1:{self.agent_port}/"
        self.api.many("POST", "/api/v1/agents", [{"id": f"svc-{i}", "card": card(f"Service {i}", upstream)} for i in range(self.p["agents"])])
        log(f"{self.p['agents']} agents registered in {time.monotonic() - started:.1f} s")
        self.results["rss_agents_mb"] = rss_mb(self.hub.pid)

        # sustained load at the latency rate; RSS sampled along the way
        samples = []
        seconds = self.p["soak_seconds"]
        connections = 64
        requests = self.requests_file("hub", 1)
        wrk = subprocess.Popen((["taskset", "-c", "1"] if self.pin else []) +
                               ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(LOAD / "relay.lua"),
                                self.url("hub"), "--", str(requests)], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "AGENTHUB_BENCH_RATE": str(self.p["rate"])})
        t0 = time.monotonic()
        while wrk.poll() is None:
            samples.append((round(time.monotonic() - t0, 1), round(rss_mb(self.hub.pid), 1)))
            time.sleep(min(10, max(1, seconds / 30)))
        out = last_json(wrk.stdout.read())
        third = max(1, len(samples) // 3)
        self.results["soak"] = {"seconds": seconds, "requests": out["requests"], "errors_status": out["errors_status"],
                                "samples": samples, "rss_first_third_max_mb": max(s[1] for s in samples[:third]),
                                "rss_last_third_max_mb": max(s[1] for s in samples[-third:]),
                                "rss_end_mb": rss_mb(self.hub.pid)}

    def cold_start(self) -> None:
        self.procs.stop(self.hub)
        times = []
        for _ in range(self.p["cold_runs"]):
            hub, ready = self.start_hub(self.hub_data)
            times.append(ready * 1000)
            self.procs.stop(hub)
        fresh = []
        for i in range(self.p["cold_runs"]):
            _, ready = self.start_hub(self.work / f"fresh-{i}")
            fresh.append(ready * 1000)
            self.procs.stop(self.procs.items[-1])
        self.results["cold_start_ms"] = median_range(times)
        self.results["cold_start_fresh_ms"] = median_range(fresh)

    # ---- components ----------------------------------------------------------------------------------------------

    def audit(self) -> None:
        env = {**os.environ, "AGENTHUB_PG_DURABLE": "1"}
        pg = subprocess.run([str(ROOT / "eng/postgres.sh"), "start"], capture_output=True, text=True, env=env, check=True).stdout
        conn = re.search(r"AGENTHUB_TEST_POSTGRES='([^']+)'", pg)[1]
        pgdir = re.search(r"AGENTHUB_TEST_PGDIR='([^']+)'", pg)[1]
        try:
            results = {}
            for db in ["sqlite", "postgres"]:
                for writers in [1, 8, 64]:
                    values = []
                    for _ in range(self.p["audit_runs"]):
                        cmd = ["dotnet", str(BENCH_DLL), "audit", "--db", db, "--writers", str(writers), "--seconds", str(self.p["audit_seconds"]),
                               "--warmup", str(self.p["audit_warmup_seconds"])]
                        if db == "postgres":
                            cmd += ["--postgres", conn]
                        values.append(last_json(run(cmd, 0, self.pin, env={"TMPDIR": str(self.work)}))["records_per_s"])
                    results[f"{db}_{writers}"] = median_range(values)
                    log(f"audit {db} {writers} writers: {results[f'{db}_{writers}']['median']:,.0f} records/s")
            self.results["audit"] = results
        finally:
            subprocess.run([str(ROOT / "eng/postgres.sh"), "stop", pgdir], check=False)

    def micro(self) -> None:
        out = self.work / "micro"
        # --quick leaves out Policy.Compile (not a target; its 10,000-rule case alone takes seconds)
        quick = ["--quick", "--filter", "*Decide*", "*Signature*", "*ContentDigest*", "*Envelope*"] if self.args.quick else []
        run(["dotnet", str(BENCH_DLL), "micro", "--out", str(out), *quick], 0, self.pin, timeout=1800)
        rows = (out / "micro.tsv").read_text().strip().splitlines()
        header = rows[0].split("\t")
        self.results["micro"] = [dict(zip(header, r.split("\t"))) for r in rows[1:]]

    # ---- the whole run -------------------------------------------------------------------------------------------

    def run(self) -> dict:
        started = time.monotonic()
        parts = set(self.args.parts.split(","))
        if "paths" in parts:
            self.paths()
        if "audit" in parts:
            self.audit()
        if "micro" in parts:
            self.micro()
        self.results["elapsed_s"] = time.monotonic() - started
        return self.results

    def paths(self) -> None:
        try:
            self.start_upstream()
            self.start_nginx()
            self.setup_hub()
            for path in PATHS:
                self.check_path(path)
            self.warm_up()
            self.throughput()
            self.latency()
            self.ttfe()
            self.agents_and_memory()
            self.cold_start()
        finally:
            self.procs.stop_all()


def machine() -> dict:
    mem = next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1]
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    osname = next((line.split("=", 1)[1].strip().strip('"') for line in open("/etc/os-release") if line.startswith("PRETTY_NAME")), platform.system())
    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip() or subprocess.run(cmd, capture_output=True, text=True).stderr.strip()
        except OSError:
            return "?"
    return {"cores": os.cpu_count(), "cpu": model, "memory_gb": round(int(mem) / 1024 / 1024, 1), "os": osname,
            "kernel": platform.release(), "dotnet": version(["dotnet", "--version"]),
            "nginx": version(["nginx", "-v"]).replace("nginx version: ", ""),
            "wrk": version(["wrk", "-v"]).splitlines()[0] if version(["wrk", "-v"]) else "?",
            "node": version(["node", "--version"]), "load": open("/proc/loadavg").read().split()[0]}


def commit() -> str:
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    return sha + (" (with uncommitted changes)" if dirty else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--parts", default="paths,audit,micro")
    parser.add_argument("--rounds", type=int, help="rounds of each measurement (default 3, --quick 1)")
    args = parser.parse_args()
    params = dict(QUICK if args.quick else FULL)
    if args.rounds:
        params.update(runs=args.rounds, audit_runs=args.rounds, cold_runs=args.rounds)
    out = args.out or (ROOT / ("artifacts/bench/BENCHMARKS-quick.md" if args.quick else "BENCHMARKS.md"))
    work = Path(tempfile.mkdtemp(prefix="agenthub-bench."))
    try:
        started = datetime.datetime.now(datetime.timezone.utc)
        results = Bench(args, params, work).run()
        results.update({"date": started.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(), "commit": commit(), "quick": args.quick})
        out.parent.mkdir(parents=True, exist_ok=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        sys.path.insert(0, str(ROOT / "eng"))
        from bench_report import report, summary_line
        out.write_text(report(results))
        log(f"report written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
        print(summary_line(results))
        return 0
    except Exception as e:  # one clear line (AGENTHUB_BENCH_TRACE=1: the traceback), the work dir kept for the logs
        log(f"failed: {e}")
        if os.environ.get("AGENTHUB_BENCH_TRACE"):
            import traceback
            traceback.print_exc()
        log(f"logs kept in {work}")
        work = None
        return 1
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
