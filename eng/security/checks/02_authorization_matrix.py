"""2. Authorization matrix: every endpoint × method × role × {own resource, another principal's} → 0 unexpected allows,
0 unexpected denies, from the table in the tests (tests/AgentHub.Tests/Web/authorization-matrix.json).

The table is the one the xunit `AuthorizationMatrixTests` reads; there, `Table_covers_every_endpoint_of_the_app_for_
every_caller` walks the app's real endpoint list and fails when an endpoint lacks a row for some caller (or a row names
an endpoint the app no longer has). Here every row is replayed over HTTP against a Release hub on each database, with
resources set up as the xunit fixture does: the caller's own key and another principal's key, an agent, a policy rule.
"""
from __future__ import annotations

import concurrent.futures
import json
import uuid
from pathlib import Path
from urllib.parse import quote

from harness import ROOT, Row, card
from probes import UNLIMITED

TABLE = ROOT / "tests/AgentHub.Tests/Web/authorization-matrix.json"
CALLERS = ("none", "admin", "operator", "auditor")
AGENT_ID = "matrix-echo"


def run(ctx):
    rows = json.loads(Path(TABLE).read_text())["rows"]
    pairs = {(r["method"], r["route"]) for r in rows}
    holes = [f"{m} {r}: {c}" for m, r in sorted(pairs) for c in CALLERS
             if not any(x["method"] == m and x["route"] == r and x["caller"] == c for x in rows)]
    yield Row("matrix table", f"{TABLE.relative_to(ROOT)}: {len(rows)} rows over {len(pairs)} endpoint × method pairs",
              f"{len(holes)} pairs without a row for some caller" + (f": {'; '.join(holes[:5])}" if holes else "") +
              " (the xunit coverage test checks the table against the app's endpoint list)", not holes and len(rows) > 0)
    for db in ctx.dbs:
        yield from replay(ctx, db, rows)


def unique(prefix: str) -> str:
    return f"user:{prefix}-{uuid.uuid4().hex[:12]}"


def replay(ctx, db, rows):
    hub = ctx.hub(f"matrix-{db}", db, env=UNLIMITED)
    admin = hub.api()
    the_card = card("Echo", ctx.upstream())  # never called: no allow rule exists for these callers

    def new_agent() -> str:
        agent_id = "m-" + uuid.uuid4().hex[:12]
        ctx.secret(admin.call("POST", "/api/v1/agents", {"id": agent_id, "card": the_card})["key"]["key"])
        return agent_id

    def new_policy() -> str:
        return admin.call("POST", "/api/v1/policies", {"caller": "user:someone", "agent": "echo", "methods": ["*"],
                                                       "effect": "deny"})["id"]

    def new_key(principal: str, role: str) -> dict:
        created = admin.call("POST", "/api/v1/keys", {"principal": principal, "role": role})
        ctx.secret(created["key"])
        return created

    ctx.secret(admin.call("POST", "/api/v1/agents", {"id": AGENT_ID, "card": the_card})["key"]["key"])
    policy_id = new_policy()

    def one(row: dict) -> tuple[dict, int, str]:
        method, route, caller, target = row["method"], row["route"], row["caller"], row["target"]
        me, other = unique("caller"), unique("other")
        caller_key = None if caller == "none" else new_key(me, caller)["key"]
        own, theirs = new_key(me, "auditor"), new_key(other, "operator")
        body = None
        headers = {"Content-Type": "application/json"}
        if route == "/api/v1/keys/{id}":
            url = "/api/v1/keys/" + (own["id"] if target == "own" else theirs["id"])
        elif route == "/api/v1/principals/{id}":
            url = "/api/v1/principals/" + quote(me if target == "own" else other, safe="")
        elif route == "/api/v1/keys" and method == "GET":
            url = "/api/v1/keys?limit=200" + (f"&principal={quote(other, safe='')}" if target == "other" else "")
        elif route == "/api/v1/audit/proofs/inclusion":
            url = route + "?seq=1&size=1"
        elif route == "/api/v1/audit/proofs/consistency":
            url = route + "?from=1&to=1"
        elif route == "/api/v1/agents/{id}" and method == "DELETE":
            url = "/api/v1/agents/" + new_agent()
        elif route == "/api/v1/agents/{id}/keys" and method == "PUT":
            url = f"/api/v1/agents/{new_agent()}/keys"
        elif "{id}" in route and (route.startswith("/api/v1/agents/") or route.startswith("/a2a/")):
            url = route.replace("{id}", AGENT_ID)
        elif route == "/api/v1/policies/{id}":
            url = "/api/v1/policies/" + (new_policy() if method == "DELETE" else policy_id)
        else:
            url = route
        if (method, route) == ("POST", "/api/v1/keys"):
            body = {"principal": unique("new"), "role": "auditor"}
        elif (method, route) == ("POST", "/api/v1/agents"):
            body = {"id": "m-" + uuid.uuid4().hex[:12], "card": the_card}
        elif (method, route) == ("PUT", "/api/v1/agents/{id}/keys"):
            body = {"requireSignature": False}
        elif (method, route) == ("POST", "/api/v1/policies"):
            body = {"caller": "user:someone", "agent": "echo", "methods": ["SendMessage"], "effect": "allow"}
        elif (method, route) == ("POST", "/api/v1/policies/explain"):
            body = {"caller": "user:someone", "agent": "echo", "method": "SendMessage"}
        elif route == "/a2a/{id}":
            body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}}
            headers["A2A-Version"] = "1.0"
        if caller_key:
            headers["Authorization"] = f"Bearer {caller_key}"
        # the answers that show a new key once (keys, agents) are not kept for the secrets check: showing it is their job
        mints = (method, route) in (("POST", "/api/v1/keys"), ("POST", "/api/v1/agents"))
        status, answer_headers, answer = hub.request(method, url, body, headers, keep=not mints)
        if status in (200, 201) and answer_headers.get("content-type", "").startswith("application/json"):
            doc = json.loads(answer)
            if isinstance(doc, dict):
                ctx.secret(doc.get("key") if isinstance(doc.get("key"), str) else (doc.get("key") or {}).get("key", ""))
        note = ""
        if status == 401 and not answer_headers.get("www-authenticate", "").startswith("Bearer"):
            note = "401 without a Bearer challenge"
        if (method, route) == ("DELETE", "/api/v1/keys/{id}"):
            key_id = own["id"] if target == "own" else theirs["id"]
            active = admin.call("GET", f"/api/v1/keys/{key_id}")["active"]
            if active == (status == 204):
                note = f"after {status} the key is {'still active' if active else 'revoked'}"
        if (method, route, status) == ("GET", "/api/v1/me", 200) and json.loads(answer)["principal"] != me:
            note = "answered for another principal"
        if (method, route, status) == ("GET", "/api/v1/keys/{id}", 200):
            if json.loads(answer)["id"] != (own["id"] if target == "own" else theirs["id"]):
                note = "answered another key"
        if (method, route, status) == ("GET", "/api/v1/keys", 200) and not (caller == "admin" and target == "own"):
            owner = other if caller == "admin" and target == "other" else me
            if any(k["principal"] != owner for k in json.loads(answer)["items"]):
                note = "listed another principal's keys"
        return row, status, note

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, rows))
    allows = [f"{r['method']} {r['route']} as {r['caller']}/{r['target']}: {s} (expected {r['status']})"
              for r, s, _ in results if s < 400 <= r["status"]]
    denies = [f"{r['method']} {r['route']} as {r['caller']}/{r['target']}: {s} (expected {r['status']})"
              for r, s, _ in results if r["status"] < 400 <= s]
    other = [f"{r['method']} {r['route']} as {r['caller']}/{r['target']}: {s} (expected {r['status']}){' ' + n if n else ''}"
             for r, s, n in results if (s != r["status"] or n) and not (s < 400 <= r["status"] or r["status"] < 400 <= s)]
    expected_allows = sum(1 for r in rows if r["status"] < 400)
    yield Row(f"authorization matrix over HTTP ({db})",
              f"{len(rows)} cases (endpoint × method × caller × own/other), {expected_allows} expected allowed, "
              f"{len(rows) - expected_allows} expected denied",
              f"{len(allows)} unexpected allows, {len(denies)} unexpected denies, {len(other)} other mismatches"
              + (f": {'; '.join((allows + denies + other)[:4])}" if allows or denies or other else ""),
              not allows and not denies and not other and len(results) == len(rows))
    hub.stop()
