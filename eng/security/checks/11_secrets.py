"""11. Secrets: canary values for an API key, the master key, a provider key and a JWT are planted, and every other
secret the suite minted is remembered; after the whole suite (this check runs after the others) none of them
appears, raw, base64/base64url (at every byte alignment), hex or URL-encoded, in any log, any process output, any
database file (SQLite files, WAL and journal; every PostgreSQL database as dumped by pg_dump, and the server's log),
any audit export or any answer body (all but those that show a new key once, by design).

Places that hold a secret by design are not searched: DATA/master.key and DATA/bootstrap-admin.key (the custody
files, mode 0600) and files a check wrote under a `private` directory (the material it signs or forges with)."""
from __future__ import annotations

import base64
import binascii
import http.client
import http.server
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from harness import HUB_DLL, ROOT, Row, card

sys.path.insert(0, str(ROOT / "eng"))
from totals import b64_forms  # noqa: E402  (the same encodings the log canary of eng/test.sh uses)

CUSTODY = {"master.key", "bootstrap-admin.key"}


class Recorder(http.server.ThreadingHTTPServer):
    """An A2A agent on loopback that answers SendMessage with a completed task and remembers the hub token it got."""

    def __init__(self):
        self.tokens: list[str] = []
        super().__init__(("127.0.0.1", 0), RecorderHandler)


class RecorderHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            self.server.tokens.append(auth[7:])
        request_id = json.loads(body).get("id") if body else None
        answer = json.dumps({"jsonrpc": "2.0", "id": request_id, "result": {"task": {
            "id": f"task-{secrets.token_hex(4)}", "contextId": "ctx-canary",
            "status": {"state": "TASK_STATE_COMPLETED"}}}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def forms(secret: str) -> list[tuple[str, bytes]]:
    """Every literal form the secret could take in a file: raw, base64/base64url at each byte alignment, hex (either
    case), URL-encoded (either case of the hex digits); a base64 secret (a master key) also as its bytes in hex."""
    raw = secret.encode()
    out = {("raw", secret), ("hex", raw.hex()), ("hex", raw.hex().upper())} | b64_forms(raw)
    for enc in (urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret, safe=""), urllib.parse.quote(secret, safe="/:")):
        if enc != secret:
            out |= {("url-encoded", enc), ("url-encoded", re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), enc))}
    try:
        decoded = base64.b64decode(secret, validate=True)
        if len(decoded) >= 16:
            out |= {("decoded hex", decoded.hex()), ("decoded hex", decoded.hex().upper())}
    except (binascii.Error, ValueError):
        pass
    return [(form, text.encode()) for form, text in out]


def search(secrets_: list[str], files: list[Path], work: Path) -> list[tuple[str, str, Path]]:
    """(secret, form, file) for every secret found in a file. GNU grep -F matches all forms of all secrets in one
    pass (tens of thousands of fixed strings; a regex per form would take hours)."""
    by_text: dict[bytes, tuple[str, str]] = {}
    for secret in secrets_:
        for form, text in forms(secret):
            by_text.setdefault(text, (secret, form))
    patterns = work / "private" / "needles.txt"
    patterns.parent.mkdir(exist_ok=True)
    patterns.write_bytes(b"\n".join(by_text) + b"\n")
    found = set()
    for i in range(0, len(files), 200):
        batch = [str(f) for f in files[i:i + 200]]
        r = subprocess.run(["grep", "-F", "-a", "-o", "-H", "--null", "-f", str(patterns), *batch], capture_output=True)
        if r.returncode not in (0, 1):
            raise RuntimeError(f"grep exited {r.returncode}: {r.stderr.decode()[-300:]}")
        for line in r.stdout.splitlines():
            name, _, match = line.partition(b"\0")
            if match in by_text:
                secret, form = by_text[match]
                found.add((secret, form, Path(name.decode())))
    return sorted(found)


def parts(secret: str) -> list[str]:
    """The secret, and for an API key (ahk_<id>_<secret>) its secret part alone: the id is public, the rest is not."""
    m = re.fullmatch(r"ahk_[^_]+_(.+)", secret)
    return [secret, m[1]] if m else [secret]


def plant(ctx, hub, recorder_port: int) -> dict[str, str]:
    """Uses the canaries where a careless hub would log, store or echo them; returns them by kind."""
    api = hub.api()
    provider = "sk-proj-" + secrets.token_urlsafe(36) + "Q7"  # upper case and a digit, as provider keys have
    canary_key = hub.key("user:canary", "operator")
    ctx.secret(provider)

    # the API key: right, wrong (one character changed), in the query string, in other headers, as a body value
    hub.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {canary_key}"})
    wrong = canary_key[:-1] + ("A" if canary_key[-1] != "A" else "B")
    ctx.secret(wrong)
    hub.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {wrong}"})
    hub.request("GET", f"/api/v1/me?api_key={canary_key}")
    hub.request("GET", f"/api/v1/agents?q={canary_key}", headers={"Authorization": f"Bearer {canary_key}"})
    hub.request("GET", "/api/v1/me", headers={"X-Api-Key": canary_key, "Authorization": f"Basic {canary_key}"})
    hub.request("POST", "/api/v1/policies", {"caller": canary_key, "agent": "x", "methods": ["*"], "effect": "allow"},
                headers={"Authorization": f"Bearer {canary_key}", "Content-Type": "application/json"})

    # the agents: `caller` calls `recorder` (whose upstream remembers the hub token), which calls `target` on the
    # caller's behalf with that token as its delegation
    recorder_key = api.call("POST", "/api/v1/agents", {"id": "recorder", "card": card("recorder", f"http://localhost:{recorder_port}/")})["key"]["key"]
    ctx.secret(recorder_key)
    caller_key, _ = hub.agent("caller"), hub.agent("target")
    hub.allow("agent:caller", "recorder")
    hub.allow("agent:recorder", "target")

    def relay(agent, key, text, extra=None, query=""):
        body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
            "messageId": secrets.token_hex(8), "role": "ROLE_USER", "parts": [{"text": text}]}}}
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "A2A-Version": "1.0", **(extra or {})}
        return hub.request("POST", f"/a2a/{agent}{query}", body, headers)

    # the provider key: in a message body (the hub keeps only its hash), a header, a query string, a bad request
    status, _, _ = relay("recorder", caller_key, f"use {provider} for the model call", {"X-Provider-Key": provider})
    if status != 200 or not ctx_tokens(hub):
        raise RuntimeError(f"the canary relay call got {status}, or the recorder saw no hub token")
    relay("recorder", caller_key, "again", query=f"?key={provider}")
    hub.request("POST", "/a2a/recorder", f'{{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":"{provider}"',
                {"Authorization": f"Bearer {caller_key}", "Content-Type": "application/json"})

    # the JWT: a real hub token, used as a delegation the right way and the wrong ways
    jwt = ctx_tokens(hub)[0]
    ctx.secret(jwt)
    delegated, _, _ = relay("target", recorder_key, "on behalf", {"AgentHub-Delegation": jwt})
    relay("target", caller_key, "stolen token", {"AgentHub-Delegation": jwt})         # not issued to caller: 401
    relay("target", recorder_key, "tampered", {"AgentHub-Delegation": jwt[:-4] + "AAAA"})
    hub.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {jwt}"})    # a JWT is no API key
    if delegated != 200:
        raise RuntimeError(f"the delegated call with the canary token got {delegated}")
    return {"API key": canary_key, "master key": ctx.canary_master_key, "provider key": provider, "JWT": jwt}


def ctx_tokens(hub) -> list[str]:
    return hub.recorder.tokens


def export_audit(ctx, hub) -> None:
    out = ctx.work / "canary-audit-export.jsonl"
    r = subprocess.run(["dotnet", str(HUB_DLL), "audit", "export", "--out", str(out), "--hub", hub.url],
                       capture_output=True, text=True, env={**os.environ, "AGENTHUB_KEY": hub.admin_key}, timeout=120)
    (ctx.work / "canary-audit-export.out").write_text(r.stdout + r.stderr)
    if r.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"audit export exited {r.returncode}: {r.stderr.strip()[-300:]}")


def dump_postgres(ctx) -> int:
    dumped = 0
    for conn in ctx.pg_databases:
        p = dict(x.split("=", 1) for x in conn.split(";") if x)
        out = ctx.work / f"pg_dump-{p['Database']}.sql"
        with open(out, "wb") as f:
            r = subprocess.run(["pg_dump", "-h", p["Host"], "-p", p.get("Port", "5432"), "-U", p["Username"], p["Database"]],
                               stdout=f, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError(f"pg_dump {p['Database']}: {r.stderr.decode().strip()}")
        dumped += 1
    return dumped


def searched_files(ctx) -> list[Path]:
    roots = [ctx.work] + ([ctx.postgres_dir] if ctx.postgres_dir else [])
    files = []
    for root in roots:
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if x not in ("private", "pg")]  # pg: the server's data files, dumped instead
            files += [Path(d, n) for n in names if n not in CUSTODY and Path(d, n).is_file()]
    return sorted(files)


def run(ctx):
    # a hub of its own, at debug level, its master key given in the environment
    ctx.canary_master_key = base64.b64encode(os.urandom(32)).decode()
    ctx.secret(ctx.canary_master_key)
    recorder = Recorder()
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    try:
        hub = ctx.hub("canary", env={"AGENTHUB_MASTER_KEY": ctx.canary_master_key,
                                      "AGENTHUB_LOGGING__LOGLEVEL__DEFAULT": "Debug",
                                      "AGENTHUB_LOGGING__LOGLEVEL__MICROSOFT.ASPNETCORE": "Debug"},
                      args=["--log-format", "json"])
        hub.recorder = recorder
        planted = plant(ctx, hub, recorder.server_address[1])
        export_audit(ctx, hub)
        hub.stop()
        # a start with the wrong master key must refuse without printing either key
        wrong = base64.b64encode(os.urandom(32)).decode()
        ctx.secret(wrong)
        bad = hub.__class__(ctx, "canary-wrongkey", data=hub.data, env={"AGENTHUB_MASTER_KEY": wrong})
        try:
            bad.start(timeout=30)
            refused = False
            bad.stop()
        except RuntimeError:
            refused = True
        if not refused:
            raise RuntimeError("the hub started with the wrong master key")
    finally:
        recorder.shutdown()
    ctx.procs.stop_all()  # every hub of the run has written all it will write
    dumps = dump_postgres(ctx)

    files = searched_files(ctx)
    all_secrets = sorted({p for s in ctx.secrets for p in parts(s) if len(p) >= 12})

    # positive control: the search finds each canary, in each form, in a file made to hold it
    control = ctx.work / "private" / "control"
    control.mkdir(parents=True, exist_ok=True)
    written = {}
    for kind, value in planted.items():
        raw = value.encode()
        for form, data in [("raw", raw), ("base64", base64.b64encode(b"x" + raw)), ("hex", raw.hex().encode()),
                           ("url-encoded", urllib.parse.quote(value, safe="").encode())]:
            path = control / f"{len(written)}.log"
            path.write_bytes(b"log line: " + data + b"\n")
            written[path] = f"{kind} {form}"
    hits = {path for value, _, path in search(list(planted.values()), sorted(written), ctx.work) if value in planted.values()}
    missed = [label for path, label in written.items() if path not in hits]
    yield Row("the search finds what it looks for", "each canary written raw, base64, hex and URL-encoded into a control file",
              f"{len(written) - len(missed)}/{len(written)} found" + (f"; missed: {', '.join(missed)}" if missed else ""),
              not missed)

    # the master keys as raw bytes too (a few; grep -F takes text patterns)
    masters = [base64.b64decode(k) for k in (ctx.master_key, ctx.canary_master_key)]
    started = time.monotonic()
    leaks = [f"{s[:10]}… ({form}) in {path.relative_to(ctx.work) if path.is_relative_to(ctx.work) else path}"
             for s, form, path in search(all_secrets, files, ctx.work)]
    total = 0
    for path in files:
        data = path.read_bytes()
        total += len(data)
        leaks += [f"a master key (raw bytes) in {path.name}" for m in masters if m in data]
    seconds = time.monotonic() - started
    kinds = {"log": 0, "database": 0, "export": 0, "other": 0}
    for path in files:
        name = path.name
        key = ("database" if re.search(r"\.db(-wal|-shm|-journal)?$|^pg_dump", name) else
               "export" if "export" in name else "log" if name.endswith((".log", ".out")) or name == "log" else "other")
        kinds[key] += 1
    yield Row("canaries and minted secrets appear nowhere",
              f"{len(all_secrets)} secrets (canaries: {', '.join(planted)}; and every key the suite minted) searched in "
              f"{len(files)} files, {total / 1e6:.1f} MB in {seconds:.0f} s: {kinds['log']} logs and outputs, {kinds['database']} database files "
              f"and dumps ({dumps} PostgreSQL databases), {kinds['export']} audit exports, {kinds['other']} other incl. error bodies",
              f"{len(leaks)} occurrences" + (": " + "; ".join(leaks[:5]) if leaks else ""), not leaks and len(files) > 0)
