"""6. Crash safety: 30 times, `kill -9` the hub at a random moment during a mixed write load (keys, agents, policies,
relay calls); after each restart every acknowledged write is present, `PRAGMA integrity_check` is ok and
`agenthub audit verify` exits 0. Once with PostgreSQL: the backends serving the hub are terminated; the hub recovers
without a restart."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import shutil
import sqlite3
import subprocess
import threading
import time

from harness import HUB_DLL, Row

KILLS = 30
SEED = 20260706
LOAD_THREADS = {"key": 1, "agent": 1, "policy": 1, "relay": 2}
# rate limits out of the way: the load and the look-ups after each restart are one admin's hundreds of requests a
# second, and this check is about durability, not limits (09_rate_limits checks those)
NO_LIMITS = {"AGENTHUB_LIMITS__PRINCIPALREQUESTSPERSECOND": "1000000", "AGENTHUB_LIMITS__PRINCIPALBURST": "1000000",
             "AGENTHUB_LIMITS__ADDRESSREQUESTSPERSECOND": "1000000", "AGENTHUB_LIMITS__ADDRESSBURST": "1000000"}
KINDS = {"key": "keys", "agent": "agents", "policy": "policies", "relay": "relay calls"}


def run(ctx):
    if "sqlite" in ctx.dbs:
        yield from kills(ctx)
    if "postgres" in ctx.dbs:
        yield from postgres_backends(ctx)


class Load:
    """Writes of every kind from several threads until told to stop or the hub goes away; keeps the acknowledged ones."""

    def __init__(self, hub, admin: str, caller_key: str, tag: str):
        self.hub, self.admin, self.caller_key, self.tag = hub, admin, caller_key, tag
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: list[tuple[str, str]] = []      # (kind, id or body hash), answered with success
        self.started: list[tuple[str, float]] = []   # (kind, when its request was sent), for each acknowledged write
        self.failures: list[tuple[str, int, float]] = []  # (kind, status, seconds) of answers that were not a success
        self.errors = 0                              # connections that broke (the hub died under them)
        self.threads = [threading.Thread(target=self.loop, args=(kind, n), daemon=True)
                        for kind, count in LOAD_THREADS.items() for n in range(count)]

    def start(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def loop(self, kind: str, n: int) -> None:
        c = http.client.HTTPConnection("127.0.0.1", self.hub.port, timeout=30)
        i = 0
        while not self.stop.is_set():
            i += 1
            name = f"{self.tag}-{kind[0]}{n}-{i}"
            path, body, key = self.request(kind, name, i)
            t0 = time.monotonic()
            try:
                c.request("POST", path, body, {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                                               "A2A-Version": "1.0"})
                r = c.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException):
                # the request in flight when the hub died (or a broken connection, which a live hub must not cause)
                with self.lock:
                    self.errors += 1
                c.close()
                return
            took = time.monotonic() - t0
            found = self.acknowledged(kind, r.status, data, body)
            with self.lock:
                if found:
                    self.acked.append((kind, found))
                    self.started.append((kind, t0))
                else:
                    self.failures.append((kind, r.status, took))
                    self.hub.ctx.keep_body(data)

    def request(self, kind: str, name: str, i: int) -> tuple[str, bytes, str]:
        if kind == "key":
            return "/api/v1/keys", json.dumps({"principal": f"user:{name}", "role": "operator"}).encode(), self.admin
        if kind == "agent":
            from harness import card
            return "/api/v1/agents", json.dumps({"id": name, "card": card(name, self.hub.ctx.upstream())}).encode(), self.admin
        if kind == "policy":
            return "/api/v1/policies", json.dumps({"caller": f"agent:{name}", "agent": "crash-target", "methods": ["SendMessage"],
                                                   "effect": "allow"}).encode(), self.admin
        return "/a2a/crash-target", json.dumps({"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {"message": {
            "messageId": name, "role": "ROLE_USER", "parts": [{"text": "crash safety"}]}}}).encode(), self.caller_key

    def acknowledged(self, kind: str, status: int, data: bytes, body: bytes) -> str | None:
        """The id that finds the write again, when the answer says it was done."""
        try:
            answer = json.loads(data)
        except ValueError:
            return None
        if kind == "relay":
            return hashlib.sha256(body).hexdigest() if status == 200 and "result" in answer else None
        if status != 201:
            return None
        if kind == "key":
            self.hub.ctx.secret(answer["key"])
            return answer["id"]
        if kind == "agent":
            self.hub.ctx.secret(answer["key"]["key"])
            return answer["agent"]["id"]
        return answer["id"]


def relay_hashes(hub, admin: str, after: int = 0) -> tuple[set[str], int]:
    """request_sha256 of every relay.call record after seq `after`; and the last seq seen."""
    api, hashes, cursor = hub.api(admin), set(), str(after)
    while cursor:
        page = api.call("GET", f"/api/v1/audit?type=relay.call&limit=200&after={cursor}")
        for item in page["items"]:
            hashes.add(item["details"].get("request_sha256"))
            after = max(after, item["seq"])
        cursor = page.get("next")
    return hashes, after


def listed(hub, admin: str, path: str) -> set[str]:
    """Every id a paged list endpoint returns."""
    api, ids, cursor = hub.api(admin), set(), ""
    while True:
        page = api.call("GET", f"{path}?limit=200" + (f"&after={cursor}" if cursor else ""))
        ids.update(item["id"] for item in page["items"])
        cursor = page.get("next")
        if not cursor:
            return ids


def missing(hub, admin: str, acked: list[tuple[str, str]], relayed: set[str] | None = None) -> list[tuple[str, str]]:
    """The acknowledged writes the hub no longer has: keys, agents, policies by id, relay calls by their audit record
    (matched by the SHA-256 of the request body it holds)."""
    api = hub.api(admin)
    gone = []
    paths = {"key": "/api/v1/keys/", "agent": "/api/v1/agents/", "policy": "/api/v1/policies/"}
    for kind, ident in acked:
        if kind in paths:
            try:
                api.call("GET", paths[kind] + ident)
            except RuntimeError as e:
                # only a 404 says the write is gone; any other refusal means the look-up itself failed
                if f"{paths[kind]}{ident}: 404 " not in str(e):
                    raise
                gone.append((kind, ident))
    calls = [ident for kind, ident in acked if kind == "relay"]
    if calls:
        hashes = relayed if relayed is not None else relay_hashes(hub, admin)[0]
        gone += [("relay", h) for h in calls if h not in hashes]
    return gone


def missing_from_lists(hub, admin: str, acked: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The same as missing() for many writes at once: one paged listing per kind instead of one request per write."""
    present = {"key": listed(hub, admin, "/api/v1/keys"), "agent": listed(hub, admin, "/api/v1/agents"),
               "policy": listed(hub, admin, "/api/v1/policies"), "relay": relay_hashes(hub, admin)[0]}
    return [(kind, ident) for kind, ident in acked if ident not in present[kind]]


def integrity(db_path) -> str:
    with sqlite3.connect(db_path, timeout=30) as db:
        return ";".join(row[0] for row in db.execute("PRAGMA integrity_check"))


def audit_verify(hub, data=None) -> tuple[int, str]:
    return finish_verify(start_verify(hub, data))


def start_verify(hub, data=None) -> subprocess.Popen:
    return subprocess.Popen(["dotnet", str(HUB_DLL), "audit", "verify", "--data", str(data or hub.data)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **hub.env(), "AGENTHUB_DATA": str(data or hub.data)})


def finish_verify(p: subprocess.Popen) -> tuple[int, str]:
    out, _ = p.communicate(timeout=120)
    lines = out.strip().splitlines()
    return p.returncode, lines[-1] if lines else ""


def snapshot(hub, into) -> None:
    """The database and the audit checkpoints as the crash left them (no key files: they hold secrets)."""
    if into.exists():
        shutil.rmtree(into)
    (into / "audit").mkdir(parents=True)
    for name in ["agenthub.db", "agenthub.db-wal"]:
        if (hub.data / name).exists():
            shutil.copy2(hub.data / name, into / name)
    if (hub.data / "audit/checkpoints").exists():
        shutil.copy2(hub.data / "audit/checkpoints", into / "audit/checkpoints")


def setup(hub) -> tuple[str, str]:
    admin = hub.admin_key
    caller = hub.agent("crash-caller")
    hub.agent("crash-target")
    hub.allow("agent:crash-caller", "crash-target")
    return admin, caller


def kills(ctx):
    rng = random.Random(SEED)
    hub = ctx.hub("crash-sqlite", env=NO_LIMITS)
    admin, caller = setup(hub)
    everything: list[tuple[str, str]] = []
    lost, bad_integrity, bad_verify, restarts, in_flight = [], [], [], [], 0
    counts = {k: 0 for k in LOAD_THREADS}
    last_verify = ""
    relayed, seq = set(), 0
    crashed = ctx.work / "crash-sqlite-snapshot"
    for round_ in range(KILLS):
        load = Load(hub, admin, caller, f"r{round_}").start()
        time.sleep(rng.uniform(0.2, 2.0))  # the random moment of the kill, not a wait for a condition
        hub.kill9()
        load.join()
        in_flight += load.errors
        # the files as the crash left them are checked beside the restart: PRAGMA integrity_check and audit verify
        snapshot(hub, crashed)
        check = integrity(crashed / "agenthub.db")
        if check != "ok":
            bad_integrity.append((round_, check))
        verify = start_verify(hub, crashed)
        t0 = time.monotonic()
        hub.start()
        restarts.append(time.monotonic() - t0)
        new_hashes, seq = relay_hashes(hub, admin, seq)
        relayed |= new_hashes
        lost += [(round_, *m) for m in missing(hub, admin, load.acked, relayed)]
        everything += load.acked
        for kind, _ in load.acked:
            counts[kind] += 1
        code, last_verify = finish_verify(verify)
        if code != 0:
            bad_verify.append((round_, last_verify))
    shutil.rmtree(crashed, ignore_errors=True)
    # the last restart still holds every write acknowledged in all rounds
    lost_at_end = missing_from_lists(hub, admin, everything)
    hub.stop()
    check = integrity(hub.data / "agenthub.db")
    code, last_verify = audit_verify(hub)
    if check != "ok":
        bad_integrity.append(("end", check))
    if code != 0:
        bad_verify.append(("end", last_verify))
    restarts.sort()
    yield Row("kill -9 under mixed writes (sqlite)",
              f"{KILLS} kill -9 at a random moment 0.2–2 s into a load of {sum(LOAD_THREADS.values())} threads "
              f"(seed {SEED}); {len(everything)} acknowledged writes ({', '.join(f'{v} {KINDS[k]}' for k, v in counts.items())}), "
              f"{in_flight} requests cut off in flight",
              f"{len(lost)} acknowledged writes missing after their restart, {len(lost_at_end)} missing at the end"
              + (f" (first: {(lost + lost_at_end)[0]})" if lost or lost_at_end else ""),
              not lost and not lost_at_end and len(everything) > 0 and all(counts.values()))
    yield Row("integrity after kill -9 (sqlite)",
              f"PRAGMA integrity_check and `agenthub audit verify` on the files as each of the {KILLS} kills left them, "
              f"and on the data dir after a clean stop at the end",
              f"integrity not ok {len(bad_integrity)}×, audit verify failed {len(bad_verify)}× "
              f"(last: {last_verify}); restart to ready median {restarts[len(restarts) // 2]:.2f} s, max {restarts[-1]:.2f} s"
              + (f"; first failure: {(bad_integrity + bad_verify)[0]}" if bad_integrity or bad_verify else ""),
              not bad_integrity and not bad_verify)


def postgres_backends(ctx):
    hub = ctx.hub("crash-postgres", "postgres", env=NO_LIMITS)
    admin, caller = setup(hub)
    conn = hub.database
    database = dict(p.split("=", 1) for p in conn.split(";") if p)["Database"]
    pid = hub.proc.pid
    load = Load(hub, admin, caller, "pg").start()
    # a little load first, then every backend serving the hub's database is terminated
    deadline = time.monotonic() + 30
    while len(load.acked) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    terminated = int(ctx.psql(conn, f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    f"WHERE datname = '{database}' AND pid <> pg_backend_pid()").strip() or 0)
    killed_at = time.monotonic()
    # recovered: writes of every kind sent after the termination succeed
    recovered = None
    deadline = killed_at + 30
    while time.monotonic() < deadline:
        with load.lock:
            after = [(k, t) for k, t in load.started if t >= killed_at]
        if {k for k, _ in after} >= set(LOAD_THREADS):
            recovered = max(min(t for k2, t in after if k2 == k) for k in LOAD_THREADS) - killed_at
            break
        time.sleep(0.02)
    load.join()
    same_process = hub.alive() and hub.proc.pid == pid
    failures = list(load.failures)
    bad = [f for f in failures if f[1] not in (503,) or f[2] > 10]
    gone = missing(hub, admin, load.acked)
    hub.stop()
    yield Row("PostgreSQL backends terminated (postgres)",
              f"pg_terminate_backend on the {terminated} backends of the hub's database during a load of "
              f"{sum(LOAD_THREADS.values())} writer threads; {len(load.acked)} acknowledged writes",
              (f"every kind of write sent {recovered:.2f} s or later after it succeeds" if recovered is not None else "writes did not recover within 30 s")
              + f" without a restart (same process: {same_process}); {len(failures)} requests failed meanwhile "
              f"({', '.join(sorted({str(s) for _, s, _ in failures})) or 'none'}, slowest {max([f[2] for f in failures], default=0):.2f} s), "
              f"{len(bad)} not a clean 503, {len(gone)} acknowledged writes missing, {load.errors} broken connections",
              recovered is not None and same_process and terminated > 0 and not bad and not gone and load.errors == 0)
