"""7. Disk full: the data directory on a 4 MB tmpfs → writes fail with a clear 507/503 (nothing acknowledged is lost,
nothing half-written), reads keep working, and the hub recovers by itself once space is freed."""
from __future__ import annotations

import atexit
import errno
import hashlib
import http.client
import json
import os
import subprocess
import threading
import time

from harness import Row, card

SIZE = "4m"
ROOM = 1024 * 1024          # what the filler leaves the hub once it is up
FILL_SECONDS = 60           # the longest the load may take to meet a full disk
REFUSALS_PER_KIND = 5       # refusals of every kind of write before the load stops
KINDS = ["key", "agent", "policy", "relay"]


def run(ctx):
    if "sqlite" not in ctx.dbs:
        return
    mount = ctx.work / "diskfull-data"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(mount)], capture_output=True, text=True)
    if r.returncode != 0:
        yield Row("disk full (sqlite)", f"mount a {SIZE} tmpfs", f"could not mount: {r.stderr.strip()}", False)
        return
    atexit.register(unmount, mount)  # the last resort should the run be torn down before the finally below
    hub = None
    try:
        hub = ctx.hub("diskfull", data=mount)
        yield from full(ctx, hub, mount)
    finally:
        if hub is not None:
            hub.stop()
        unmount(mount)


def unmount(mount) -> None:
    if os.path.ismount(mount):
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(path, leave: int) -> int:
    """Fills the file system with one file, then gives back `leave` bytes; returns the filler's size."""
    chunk = b"\0" * 65536
    with open(path, "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
    size = os.path.getsize(path)
    os.truncate(path, max(0, size - leave))
    return os.path.getsize(path)


def top_up(path) -> None:
    """Takes whatever room is left (the refused writes gave some back)."""
    with open(path, "ab", buffering=0) as f:
        for size in (65536, 4096, 512):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise


class Writer:
    def __init__(self, hub, admin: str, caller: str):
        self.hub, self.admin, self.caller = hub, admin, caller
        self.lock = threading.Lock()
        self.acked: list[tuple[str, str]] = []
        self.refused: list[tuple[str, str, int, dict, bytes, float]] = []   # kind, name, status, headers, body, seconds
        self.hangs = 0
        self.n = 0

    def one(self, kind: str, tag: str) -> bool:
        """One write of `kind`; True when acknowledged."""
        with self.lock:
            self.n += 1
            name = f"{tag}-{kind}-{self.n}"
        if kind == "key":
            path, body, key = "/api/v1/keys", {"principal": f"user:{name}", "role": "operator"}, self.admin
        elif kind == "agent":
            c = card(name, self.hub.ctx.upstream())
            c["description"] = "a large card to fill the disk " + "x" * 16_000
            path, body, key = "/api/v1/agents", {"id": name, "card": c}, self.admin
        elif kind == "policy":
            path, body, key = "/api/v1/policies", {"caller": f"agent:{name}", "agent": "full-target", "methods": ["SendMessage"],
                                                   "effect": "allow", "description": "y" * 400}, self.admin
        else:
            path, key = "/a2a/full-target", self.caller
            body = {"jsonrpc": "2.0", "id": self.n, "method": "SendMessage", "params": {"message": {
                "messageId": name, "role": "ROLE_USER", "parts": [{"text": "z" * 4000}]}}}
        raw = json.dumps(body).encode()
        t0 = time.monotonic()
        try:
            # a created key or agent answer shows its new key once, by design: only refusals are kept for the secrets check
            mints = kind in ("key", "agent")
            status, headers, data = self.hub.request("POST", path, raw, {"Authorization": f"Bearer {key}",
                                                                         "Content-Type": "application/json", "A2A-Version": "1.0"},
                                                     timeout=30, keep=not mints)
            if mints and status >= 400:
                self.hub.ctx.keep_body(data)
        except (OSError, http.client.HTTPException):
            with self.lock:
                self.hangs += 1
            return False
        took = time.monotonic() - t0
        ident = None
        try:
            answer = json.loads(data)
        except ValueError:
            answer = None
        if kind == "relay" and status == 200 and isinstance(answer, dict) and "result" in answer:
            ident = hashlib.sha256(raw).hexdigest()
        elif kind != "relay" and status == 201 and isinstance(answer, dict):
            if kind == "key":
                self.hub.ctx.secret(answer["key"])
            if kind == "agent":
                self.hub.ctx.secret(answer["key"]["key"])
            ident = answer["agent"]["id"] if kind == "agent" else answer["id"]
        with self.lock:
            if ident:
                self.acked.append((kind, ident))
            else:
                self.refused.append((kind, name, status, headers, data, took))
        return ident is not None


def clear(kind: str, status: int, headers: dict, data: bytes) -> bool:
    """A refusal that says the storage is full: 507 (or 503) with Retry-After, ProblemDetails or a JSON-RPC error."""
    if status not in (507, 503) or not (headers.get("retry-after") or "").isdigit():
        return False
    try:
        answer = json.loads(data)
    except ValueError:
        return False
    if kind == "relay":
        error = answer.get("error") or {}
        text = json.dumps(error).lower()
        return isinstance(error.get("code"), int) and ("full" in text or "audit" in text)
    return headers.get("content-type", "").startswith("application/problem+json") and answer.get("status") == status \
        and "full" in (str(answer.get("title")) + str(answer.get("detail"))).lower()


def full(ctx, hub, mount):
    from importlib import import_module
    crash = import_module("checks.06_crash_safety")
    admin = hub.admin_key
    caller = hub.agent("full-caller")
    hub.agent("full-target")
    hub.allow("agent:full-caller", "full-target")
    filler = mount / "filler"
    filled = fill(filler, ROOM)
    writer = Writer(hub, admin, caller)

    # load until every kind of write has been refused several times
    t0 = time.monotonic()
    stop = threading.Event()

    def loop(kind: str) -> None:
        while not stop.is_set() and time.monotonic() - t0 < FILL_SECONDS:
            writer.one(kind, "fill")
            with writer.lock:
                if sum(1 for r in writer.refused if r[0] == kind) >= REFUSALS_PER_KIND:
                    return

    threads = [threading.Thread(target=loop, args=(k,)) for k in KINDS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fill_time = time.monotonic() - t0
    refused = list(writer.refused)
    unclear = [(k, s, d[:200]) for k, _, s, h, d, _ in refused if not clear(k, s, h, d)]
    statuses = sorted({f"{k} {s}" for k, _, s, _, _, _ in refused})
    slowest = max((r[5] for r in refused), default=0)
    yield Row("writes on a full disk (sqlite)",
              f"{SIZE} tmpfs data dir, a filler leaving {ROOM // 1024} KB; keys, agents (16 KB cards), policies and relay "
              f"calls from 4 threads for {fill_time:.1f} s: {len(writer.acked)} acknowledged, {len(refused)} refused",
              f"refusals: {', '.join(statuses) or 'none'}; {len(refused) - len(unclear)}/{len(refused)} clear "
              f"(status, Retry-After, says why), slowest {slowest:.2f} s, {writer.hangs} hung or broken"
              + (f"; first unclear: {unclear[0]}" if unclear else ""),
              len(refused) >= REFUSALS_PER_KIND * len(KINDS) and not unclear and writer.hangs == 0 and slowest < 10)

    # not a byte left: reads keep working, what was acknowledged is there, what was refused is not
    top_up(filler)
    reads = [hub.request("GET", p, headers={"Authorization": f"Bearer {admin}"} if p.startswith("/api") else {})[0]
             for p in ["/healthz", "/api/v1/keys", "/api/v1/agents/full-target", "/api/v1/policies?agent=full-target",
                       "/api/v1/me"]]
    reads_ok = sum(1 for s in reads if s == 200)
    gone = crash.missing(hub, admin, writer.acked)
    half = [name for kind, name, *_ in refused if kind == "agent"
            and hub.request("GET", f"/api/v1/agents/{name}", headers={"Authorization": f"Bearer {admin}"})[0] != 404]
    for kind, name, *_ in refused:
        if kind == "policy":
            status, _, data = hub.request("GET", f"/api/v1/policies?caller=agent:{name}", headers={"Authorization": f"Bearer {admin}"})
            if status != 200 or json.loads(data).get("items"):
                half.append((name, status, data[:200]))
    yield Row("reads and data while full (sqlite)",
              f"{len(reads)} reads (healthz, keys, agent, policies, me); {len(writer.acked)} acknowledged writes looked up; "
              f"{sum(1 for r in refused if r[0] in ('agent', 'policy'))} refused agents and policies looked up",
              f"{reads_ok}/{len(reads)} reads answered 200 ({', '.join(map(str, reads))}); {len(gone)} acknowledged writes missing; "
              f"{len(half)} refused writes present anyway" + (f" (first: {half[0]})" if half else ""),
              reads_ok == len(reads) and not gone and not half)

    # free the space: the hub writes again by itself, same process
    pid = hub.proc.pid
    os.remove(filler)
    freed = time.monotonic()
    recovered, attempts, kinds_ok = None, 0, set()
    while time.monotonic() - freed < 30:
        for kind in KINDS:
            if kind not in kinds_ok:
                attempts += 1
                if writer.one(kind, "after"):
                    kinds_ok.add(kind)
        if kinds_ok == set(KINDS):
            recovered = time.monotonic() - freed
            break
        time.sleep(0.05)
    same = hub.alive() and hub.proc.pid == pid
    # the reads made while the disk was full are on record once there is room: those that found no room at all were
    # held in memory (their auth.success says held_since); the others fit in room the refused writes gave back
    # (written within a second or two of the first write that finds room)
    held, deadline = 0, time.monotonic() + 3
    while recovered is not None and held == 0 and time.monotonic() < deadline:
        held = held_records(hub, admin)
        time.sleep(0.1)
    hub.stop()
    db = mount / "agenthub.db"
    check = crash.integrity(db)
    code, verify = crash.audit_verify(hub)
    yield Row("recovery once space is freed (sqlite)",
              f"filler ({filled // 1024} KB) deleted; one write of each kind until all succeed; then stop, "
              f"PRAGMA integrity_check, agenthub audit verify",
              (f"all kinds succeed {recovered:.2f} s later" if recovered is not None else "writes still refused after 30 s")
              + f" ({attempts} attempts) without a restart (same process: {same}); {held} authentications of reads "
              f"held in memory while full are in the audit log now; integrity {check}; audit verify exit {code} ({verify})",
              recovered is not None and same and check == "ok" and code == 0)


def held_records(hub, admin: str) -> int:
    api, count, cursor = hub.api(admin), 0, "0"
    while cursor:
        page = api.call("GET", f"/api/v1/audit?type=auth.success&limit=200&after={cursor}")
        count += sum(1 for item in page["items"] if "held_since" in item["details"])
        cursor = page.get("next")
    return count
