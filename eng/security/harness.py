"""What every check of eng/security.py works with: processes, the hub, the upstream agent, PostgreSQL, rows.

A check is a module in eng/security/checks/ (run in file-name order) with a function `run(ctx)` that yields `Row`s,
one per thing it tried. It starts what it needs through `ctx` so everything is stopped on the way out, whatever
happens. Secrets a check mints or plants are given to `ctx.secret(value)`; the secrets check (last) searches every
log, output, database file, export and answer body the run kept for each of them.
"""
from __future__ import annotations

import dataclasses
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "eng"))
from bench import Api, Procs, card, free_port, rss_mb, wait_http  # noqa: E402  (shared with the benchmarks)

HUB_DLL = Path(os.environ.get("AGENTHUB_SECURITY_HUB_DLL") or ROOT / "src/AgentHub/bin/Release/net10.0/agenthub.dll")
AGENT_DLL = ROOT / "bench/AgentHub.BenchAgent/bin/Release/net10.0/AgentHub.BenchAgent.dll"
NODE_DIR = ROOT / "eng/security/node"

__all__ = ["Api", "Context", "Hub", "Row", "card", "free_port", "rss_mb", "wait_http", "ROOT", "NODE_DIR"]


@dataclasses.dataclass
class Row:
    """One line of the report: what was tried, what happened, and whether that is what the hub must do."""
    check: str
    tried: str
    result: str
    ok: bool


class Hub:
    """One `agenthub serve` process (Release build) on loopback, with its own data directory."""

    def __init__(self, ctx: "Context", name: str, db: str = "sqlite", env: dict | None = None,
                 args: list[str] | None = None, data: Path | None = None, database: str | None = None):
        self.ctx, self.name, self.db = ctx, name, db
        self.data = data or ctx.work / f"{name}-data"
        self.log = ctx.work / f"{name}.log"
        self.extra_env, self.extra_args = dict(env or {}), list(args or [])
        self.database = database if database is not None else (ctx.postgres_database(name) if db == "postgres" else "")
        self.port = free_port()
        self.scheme = "https" if "--tls-cert" in self.extra_args else "http"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def env(self) -> dict:
        # the upstream agent is reached as `localhost`, the one host allow-listed: 127.0.0.1, [::1] and every private
        # address stay refused (the SSRF check relies on it)
        env = {"AGENTHUB_DATA": str(self.data), "AGENTHUB_AGENTS__ALLOWEDHOSTS__0": "localhost"}
        if self.database:
            env["AGENTHUB_DATABASE"] = self.database
            env["AGENTHUB_MASTER_KEY"] = self.ctx.master_key
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60) -> "Hub":
        self.proc = self.ctx.procs.start(
            ["dotnet", str(HUB_DLL), "serve", "--urls", f"{self.scheme}://127.0.0.1:{self.port}", "--metrics-urls", "",
             *self.extra_args], self.log, env=self.env())
        self.starts += 1
        if self.scheme == "http":
            wait_http(f"{self.url}/readyz", timeout=timeout, proc=self.proc)
        else:
            self.wait_tls(timeout)
        return self

    def wait_tls(self, timeout: float) -> None:
        import ssl
        deadline = time.monotonic() + timeout
        context = ssl._create_unverified_context()  # the test certificate is self-signed
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub {self.name} exited with {self.proc.returncode}; see {self.log}")
            try:
                c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=1, context=context)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"hub {self.name} was not ready within {timeout} s")

    def stop(self) -> None:
        if self.proc is not None:
            self.ctx.procs.stop(self.proc)

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def admin_key(self) -> str:
        key = (self.data / "bootstrap-admin.key").read_text().strip()
        self.ctx.secret(key)
        return key

    def api(self, key: str | None = None) -> Api:
        return Api(self.port, key or self.admin_key)

    def request(self, method: str, path: str, body: bytes | str | dict | None = None, headers: dict | None = None,
                timeout: float = 30, keep: bool = True) -> tuple[int, dict, bytes]:
        """One request on a fresh connection: (status, headers with lower-case names, body). Every answer body is kept for
        the secrets check, unless keep=False: for an answer that shows a newly minted key once, by design."""
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body, headers or {})
            r = c.getresponse()
            data = r.read()
            if keep:
                self.ctx.keep_body(data)
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def key(self, principal: str, role: str) -> str:
        """A new API key for principal with role (made with the admin key)."""
        key = self.api().call("POST", "/api/v1/keys", {"principal": principal, "role": role})["key"]
        self.ctx.secret(key)
        return key

    def agent(self, agent_id: str, upstream: str | None = None, **extra) -> str:
        """Registers agent_id (card given inline, upstream = the context's upstream agent unless told); returns its key."""
        upstream = upstream or self.ctx.upstream()
        body = {"id": agent_id, "card": card(agent_id, upstream), **extra}
        key = self.api().call("POST", "/api/v1/agents", body)["key"]["key"]
        self.ctx.secret(key)
        return key

    def allow(self, caller: str, agent: str, methods: list[str] | None = None) -> None:
        self.api().call("POST", "/api/v1/policies", {"caller": caller, "agent": agent, "methods": methods or ["*"],
                                                       "effect": "allow"})


class Context:
    """What a check gets: a work dir, a process list, the upstream agent and PostgreSQL on demand, secrets, bodies."""

    def __init__(self, work: Path, dbs: list[str], quick: bool):
        self.work, self.dbs, self.quick = work, dbs, quick
        self.procs = Procs(pin=False)
        self.secrets: set[str] = set()
        self.bodies_path = work / "answer-bodies.bin"
        self._bodies_lock = threading.Lock()
        self._upstream: str | None = None
        self._pg: tuple[str, str] | None = None
        self.pg_databases: list[str] = []  # connection strings of every database made, for the secrets check
        self.master_key = __import__("base64").b64encode(os.urandom(32)).decode()
        self.secret(self.master_key)

    def secret(self, value: str) -> None:
        if value:
            self.secrets.add(value)

    def keep_body(self, data: bytes) -> None:
        if data:
            with self._bodies_lock, open(self.bodies_path, "ab") as f:
                f.write(data + b"\n")

    def hub(self, name: str, db: str = "sqlite", **kw) -> Hub:
        return Hub(self, name, db, **kw).start()

    def upstream(self) -> str:
        """The minimal A2A agent of the benchmarks (bench/AgentHub.BenchAgent), started once per run."""
        if self._upstream is None:
            port = free_port()
            p = self.procs.start(["dotnet", str(AGENT_DLL), "--urls", f"http://localhost:{port}"], self.work / "agent.log")
            wait_http(f"http://127.0.0.1:{port}/healthz", proc=p)
            self._upstream = f"http://localhost:{port}/"
        return self._upstream

    def postgres(self) -> str:
        """Connection string of a throwaway PostgreSQL server (eng/postgres.sh), started once per run."""
        if self._pg is None:
            out = subprocess.run([str(ROOT / "eng/postgres.sh"), "start"], capture_output=True, text=True, check=True).stdout
            conn = re.search(r"AGENTHUB_TEST_POSTGRES='([^']+)'", out)[1]
            pgdir = re.search(r"AGENTHUB_TEST_PGDIR='([^']+)'", out)[1]
            self._pg = (conn, pgdir)
        return self._pg[0]

    def postgres_database(self, name: str) -> str:
        """A new, empty database on the throwaway server; its connection string."""
        conn = self.postgres()
        db = re.sub(r"[^a-z0-9_]", "_", f"sec_{len(self.pg_databases) + 1}_{name}".lower())[:60]
        self.psql(conn, f"CREATE DATABASE {db}")
        self.pg_databases.append(re.sub(r"Database=[^;]*", f"Database={db}", conn))
        return self.pg_databases[-1]

    @property
    def postgres_dir(self) -> Path | None:
        """The throwaway server's directory (its log is `log` in it), if one was started."""
        return Path(self._pg[1]) if self._pg else None

    @staticmethod
    def psql(conn: str, sql: str) -> str:
        parts = dict(p.split("=", 1) for p in conn.split(";") if p)
        r = subprocess.run(["psql", "-h", parts["Host"], "-p", parts.get("Port", "5432"), "-U", parts["Username"],
                            "-d", parts.get("Database", "postgres"), "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql: {r.stderr.strip()}")
        return r.stdout

    def close(self) -> None:
        self.procs.stop_all()
        if self._pg is not None:
            subprocess.run([str(ROOT / "eng/postgres.sh"), "stop", self._pg[1]], check=False, capture_output=True)
