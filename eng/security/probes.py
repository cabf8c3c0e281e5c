"""Helpers of the authorization, authentication, replay and SSRF checks: small HTTP servers on loopback that count
what reaches them, the Node tools of eng/security/node, and a reader of the audit log's newest records."""
from __future__ import annotations

import http.server
import json
import socket
import subprocess
import threading
import time

from harness import NODE_DIR


# Rate limits are not under test in these checks (09_rate_limits is): every request comes from 127.0.0.1.
UNLIMITED = {"AGENTHUB_LIMITS__PRINCIPALREQUESTSPERSECOND": "100000", "AGENTHUB_LIMITS__PRINCIPALBURST": "100000",
             "AGENTHUB_LIMITS__ADDRESSREQUESTSPERSECOND": "100000", "AGENTHUB_LIMITS__ADDRESSBURST": "100000"}


class Listener:
    """An HTTP server on one loopback address that counts every request reaching it. `answer(handler)` decides what
    it answers (default 200 with a small JSON body); `redirect` makes it a 302 to that URL instead."""

    def __init__(self, host: str = "127.0.0.1", answer=None, redirect: str | None = None):
        self.hits = 0
        self.seen: list[tuple[str, str, dict]] = []  # (method, path, headers)
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: the check reports figures
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.body = self.rfile.read(length) if length else b""
                with owner._lock:
                    owner.hits += 1
                    owner.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                if redirect:
                    self.send_response(302)
                    self.send_header("Location", redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, body = answer(self) if answer else (200, b'{"ok":true}')
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_one

        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(http.server.ThreadingHTTPServer):
            address_family = family
            daemon_threads = True

        self.server = Server((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def a2a_answer(handler) -> tuple[int, bytes]:
    """A minimal A2A v1.0 agent: SendMessage makes a completed task (a new id each time, so the hub records its
    owner); every other call gets a message."""
    try:
        call = json.loads(handler.body)
    except ValueError:
        call = {}
    if call.get("method") == "SendMessage":
        result = {"task": {"id": f"task-probe-{time.monotonic_ns()}", "contextId": "ctx-probe",
                           "status": {"state": "TASK_STATE_COMPLETED"}}}
    else:
        result = {"message": {"messageId": "probe-answer", "role": "ROLE_AGENT", "parts": [{"text": "ok"}]}}
    return 200, json.dumps({"jsonrpc": "2.0", "id": call.get("id"), "result": result}).encode()


def node(script: str, spec: dict, timeout: float = 60):
    """Runs eng/security/node/SCRIPT with the spec as JSON on stdin; its JSON answer. Nothing secret reaches a file."""
    r = subprocess.run(["node", str(NODE_DIR / script)], input=json.dumps(spec), capture_output=True, text=True,
                       cwd=NODE_DIR, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"node {script} failed: {r.stderr.strip()[-500:]}")
    return json.loads(r.stdout)


class AuditTail:
    """Reads the audit records appended since the last read (GET /api/v1/audit?after=SEQ), through an auditor key."""

    def __init__(self, hub):
        self.hub, self.api = hub, hub.api()
        self.last = 0
        self.read()

    def read(self) -> list[dict]:
        records = []
        while True:
            page = self.api.call("GET", f"/api/v1/audit?after={self.last}&limit=200")
            records += page["items"]
            if page["items"]:
                self.last = page["items"][-1]["seq"]
            if not page.get("next"):
                return records

    def refusals(self, types=("auth.failure", "relay.denied", "signature.failure")) -> list[dict]:
        """The records of refusals among the new records."""
        return [r for r in self.read() if r["type"] in types]


def rpc(method: str = "SendMessage", params: dict | None = None, text: str = "hi", rid: int = 1) -> dict:
    if params is None:
        params = {"message": {"messageId": f"m-{time.monotonic_ns()}", "role": "ROLE_USER", "parts": [{"text": text}]}}
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}


def relay_headers(key: str | None, **extra) -> dict:
    headers = {"Content-Type": "application/json", "A2A-Version": "1.0"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    headers.update(extra)
    return headers


def problem_detail(body: bytes) -> str:
    """The `detail` of a ProblemDetails body or the message of a JSON-RPC error, for the report."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body[:120].decode(errors="replace")
    if "error" in doc and isinstance(doc["error"], dict):
        return doc["error"].get("message", "")
    errors = doc.get("errors")
    if isinstance(errors, dict) and errors:
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
    return doc.get("detail") or doc.get("title") or ""


__all__ = ["UNLIMITED", "Listener", "AuditTail", "a2a_answer", "ipv6_loopback", "node", "problem_detail", "relay_headers", "rpc"]
