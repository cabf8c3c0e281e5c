"""3. Authentication negatives: JWTs with `alg: none`, expired, future `nbf`, wrong `iss`/`aud`, unknown `kid`, HS256
keyed with the public key, a tampered payload; revoked, expired and malformed API keys; a key in the query string →
all refused, each with its audit record. Forged tokens are made with the npm `jose` package (eng/security/node/forge.mjs).

The hub takes JWTs from callers in one place: `AgentHub-Delegation` on the relay, where an agent passes on the hub
token it received with the call it is handling. `Authorization: Bearer` takes API keys only, so a JWT there is refused
too. The forged tokens differ from a valid one in exactly one way: the check opens the hub's own signing key (from its
database, with its master key) and has jose sign the tokens whose defect is a claim, so the claim checks themselves
are what refuses them; the positive controls (the token the hub really sent, and a jose-made token with every claim
right) must be accepted, so the check can fail.
"""
from __future__ import annotations

import base64
import datetime
import json
import sqlite3
import time

from harness import Row
from probes import UNLIMITED, AuditTail, Listener, a2a_answer, node, relay_headers, rpc


def run(ctx):
    agent = Listener("127.0.0.1", answer=a2a_answer)  # agent A: shows the hub token it receives
    try:
        for db in ctx.dbs:
            yield from authentication(ctx, db, agent)
    finally:
        agent.close()


def signing_key(ctx, hub, kid: str) -> tuple[str, str]:
    """(sealed private key as base64, master key text) of the hub's signing key `kid`."""
    if hub.db == "postgres":
        sealed = ctx.psql(hub.database, f"SELECT encode(private_key, 'base64') FROM signing_keys WHERE kid = '{kid}'")
        return "".join(sealed.split()), ctx.master_key
    with sqlite3.connect(f"file:{hub.data / 'agenthub.db'}?mode=ro", uri=True) as c:
        sealed = c.execute("SELECT private_key FROM signing_keys WHERE kid = ?", (kid,)).fetchone()[0]
    return base64.b64encode(sealed).decode(), (hub.data / "master.key").read_text()


def authentication(ctx, db, agent):
    hub = ctx.hub(f"authn-{db}", db, env=UNLIMITED)
    api = hub.api()
    alice = hub.key("user:alice", "operator")
    key_a = hub.agent("deleg-a", upstream=f"http://localhost:{agent.port}/a2a")
    hub.agent("deleg-b")
    hub.allow("user:alice", "deleg-a")
    hub.allow("agent:deleg-a", "deleg-b")
    tail = AuditTail(hub)

    # The hub token agent A really receives with a call from alice.
    before = len(agent.seen)
    status, _, _ = hub.request("POST", "/a2a/deleg-a", rpc(), relay_headers(alice))
    real = next((h.get("authorization", "")[7:] for _, _, h in agent.seen[before:] if h.get("authorization", "").startswith("Bearer ")), "")
    ctx.secret(real)
    if status != 200 or real.count(".") != 2:
        yield Row(f"JWT forgeries ({db})", "a call to obtain the hub token agent A receives", f"HTTP {status}, no token", False)
        hub.stop()
        return

    jwks = json.loads(hub.request("GET", "/.well-known/jwks.json")[2])
    kid = json.loads(base64.urlsafe_b64decode(real.split(".")[0] + "==").decode())["kid"]
    sealed, master = signing_key(ctx, hub, kid)
    tokens = node("forge.mjs", {"jwks": jwks, "kid": kid, "sealed": sealed, "masterKey": master,
                                "sub": "user:alice", "aud": "deleg-a"})
    for t in tokens.values():
        ctx.secret(t)
    tail.read()

    def delegate(token: str) -> tuple[int, dict, list[dict]]:
        status, _, body = hub.request("POST", "/a2a/deleg-b", rpc(), relay_headers(key_a, **{"AgentHub-Delegation": token}))
        return status, json.loads(body) if body.startswith(b"{") else {}, tail.refusals()

    controls = {}
    for name, token in (("hub-issued", real), ("jose, every claim right", tokens["valid"])):
        status, answer, _ = delegate(token)
        controls[name] = status == 200 and "result" in answer
    forged = {k: v for k, v in tokens.items() if k != "valid"}
    refused, audited, bad = 0, 0, []
    for name, token in forged.items():
        status, answer, records = delegate(token)
        ok = status == 401 and "error" in answer and "DELEGATION_INVALID" in json.dumps(answer)
        refused += ok
        rec = [r for r in records if r["type"] == "relay.denied" and r["details"].get("code") == "DELEGATION_INVALID"]
        audited += bool(rec)
        if not ok or not rec:
            bad.append(f"{name}: HTTP {status}{'' if rec else ', no audit record'}")
    yield Row(f"JWTs forged with jose in AgentHub-Delegation ({db})",
              f"{len(forged)} forged tokens ({', '.join(forged)}), each wrong in one way, "
              f"+ 2 positive controls ({', '.join(controls)})",
              f"{refused}/{len(forged)} refused 401 DELEGATION_INVALID, {audited}/{len(forged)} with a relay.denied record; "
              f"controls accepted: {sum(controls.values())}/2" + (f"; wrong: {'; '.join(bad)}" if bad else ""),
              refused == len(forged) and audited == len(forged) and all(controls.values()))

    # A JWT (the real one, and jose's valid one) presented as the caller's credential.
    attempts = [("/api/v1/me", "GET", None), ("/a2a/deleg-b", "POST", rpc())]
    refused, audited, n = 0, 0, 0
    for token in (real, tokens["valid"], tokens["alg_none"]):
        for path, method, body in attempts:
            n += 1
            status, headers, _ = hub.request(method, path, body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                                                   "A2A-Version": "1.0"})
            refused += status == 401 and headers.get("www-authenticate", "").startswith("Bearer")
            audited += any(r["type"] == "auth.failure" and r["details"].get("reason") == "malformed" for r in tail.refusals())
    yield Row(f"JWT as the Bearer credential ({db})",
              f"{n} requests to the admin API and the relay with a hub JWT (real, jose-made, alg none) in Authorization: Bearer",
              f"{refused}/{n} refused 401 with WWW-Authenticate, {audited}/{n} with an auth.failure record",
              refused == n and audited == n)

    # API keys: revoked, expired, malformed, wrong secret, unknown id.
    revoked = api.call("POST", "/api/v1/keys", {"principal": "user:revoked", "role": "auditor"})
    ctx.secret(revoked["key"])
    api.call("DELETE", f"/api/v1/keys/{revoked['id']}", expect=(204,))
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)).isoformat()
    expiring = api.call("POST", "/api/v1/keys", {"principal": "user:expiring", "role": "auditor", "expiresAt": expires})
    ctx.secret(expiring["key"])
    valid_before = hub.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {expiring['key']}"})[0] == 200
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and hub.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {expiring['key']}"})[0] == 200:
        time.sleep(0.2)  # polling for the expiry, which the check waits for
    tail.read()
    good = alice
    key_id, secret = good[4:20], good[21:]
    cases = [
        ("revoked", revoked["key"], "revoked"),
        ("expired", expiring["key"], "expired"),
        ("wrong secret", f"ahk_{key_id}_{'A' * 43}", "invalid"),
        ("unknown id", f"ahk_{'a' * 16}_{secret}", "invalid"),
        ("truncated", good[:-1], "malformed"),
        ("one character more", good + "A", "malformed"),
        ("no prefix", good[4:], "malformed"),
        ("upper-case id", f"ahk_{key_id.upper()}_{secret}", "malformed"),
        ("bad characters", f"ahk_{key_id}_{secret[:-1]}=", "malformed"),
        ("empty", "", None),
        ("only the prefix", "ahk_", "malformed"),
        ("Basic scheme", None, "unsupported_scheme"),
    ]
    refused, audited, bad = 0, 0, []
    for name, key, reason in cases:
        header = f"Basic {good}" if key is None else f"Bearer {key}"
        status, headers, _ = hub.request("GET", "/api/v1/me", headers={"Authorization": header})
        records = tail.refusals()
        ok = status == 401 and headers.get("www-authenticate", "").startswith("Bearer")
        rec = reason is None or any(r["type"] == "auth.failure" and r["details"].get("reason") == reason for r in records)
        refused += ok
        audited += rec
        if not ok or not rec:
            bad.append(f"{name}: HTTP {status}{'' if rec else ', no auth.failure ' + str(reason)}")
    control = hub.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {good}"})[0]
    yield Row(f"API keys: revoked, expired, malformed ({db})",
              f"{len(cases)} requests: revoked, expired (2 s expiry, waited for), wrong secret, unknown id, 8 malformed "
              "shapes or schemes; the valid key and the expiring one before expiry as controls",
              f"{refused}/{len(cases)} refused 401, {audited}/{len(cases)} with an auth.failure record naming the reason "
              f"(the empty Bearer is anonymous: no record); controls: HTTP {control}, expiring key "
              f"{'accepted' if valid_before else 'REFUSED'} before expiry" + (f"; wrong: {'; '.join(bad)}" if bad else ""),
              refused == len(cases) and audited == len(cases) and control == 200 and valid_before)

    # A key in the query string: refused before use, and on record.
    queries = [f"/api/v1/me?api_key={good}", f"/api/v1/me?access_token={good}", f"/api/v1/me?token={real}",
               f"/api/v1/agents?q={good}", f"/a2a/deleg-b?key={good}", f"/api/v1/me?{good}=1"]
    refused, audited, bad = 0, 0, []
    for path in queries:
        method, body = ("POST", rpc()) if path.startswith("/a2a") else ("GET", None)
        status, _, answer = hub.request(method, path, body, {"Content-Type": "application/json", "A2A-Version": "1.0"})
        records = tail.refusals()
        ok = status == 400 and b"query" in answer.lower()
        rec = any(r["type"] == "auth.failure" and r["details"].get("reason") == "credential_in_query" for r in records)
        refused += ok
        audited += rec
        if not ok or not rec:
            bad.append(f"{path.split('?')[0]}?{path.split('?')[1][:8]}…: HTTP {status}{'' if rec else ', no record'}")
    yield Row(f"API key in the query string ({db})",
              f"{len(queries)} requests with a valid key or JWT in the URL (api_key, access_token, token, a search term, "
              "the relay, as a parameter name), no Authorization header",
              f"{refused}/{len(queries)} refused 400, {audited}/{len(queries)} with an auth.failure record "
              "(credential_in_query)" + (f"; wrong: {'; '.join(bad)}" if bad else ""),
              refused == len(queries) and audited == len(queries))
    hub.stop()
