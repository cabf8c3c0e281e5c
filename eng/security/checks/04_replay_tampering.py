"""4. Replay and tampering of RFC 9421 signed requests: a replayed request is refused, 50 parallel sends of one
request → exactly one accepted (on PostgreSQL across two hubs sharing the database), and a changed body, path,
authority, covered header, signature or signature parameter, or `created` out of the window → refused with 401, each
with its `signature.failure` audit record. Requests are signed with the npm `http-message-signatures` package
(eng/security/node/sign.mjs) by an agent whose settings require signatures."""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import subprocess
import threading
import time

from harness import NODE_DIR, Hub, Row, card
from probes import UNLIMITED, AuditTail, node, rpc

PARALLEL = 50


def run(ctx):
    keys = keygen()
    for db in ctx.dbs:
        yield from replay(ctx, db, keys)


def keygen() -> dict:
    """The signing agent's P-256 key pair, made by Node (sign.mjs keygen)."""
    out = subprocess.run(["node", str(NODE_DIR / "sign.mjs"), "keygen"], capture_output=True, text=True, check=True, cwd=NODE_DIR)
    return json.loads(out.stdout)


def body_of(text: str) -> str:
    return json.dumps(rpc(text=text))


def send(port: int, path: str, body: str, headers: dict, key: str, host: str | None = None) -> tuple[int, dict, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        h = {**headers, "Authorization": f"Bearer {key}"}
        if host:
            h["Host"] = host
        c.request("POST", path, body.encode(), h)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def replay(ctx, db, keys):
    hub = ctx.hub(f"replay-{db}", db, env=UNLIMITED)
    second: Hub | None = None
    if db == "postgres":
        # a second instance on the same database, as behind a load balancer: the nonce record is shared
        second = Hub(ctx, f"replay-{db}-2", db, env=UNLIMITED, database=hub.database).start()
    answer = hub.api().call("POST", "/api/v1/agents", {"id": "signer", "card": card("signer", ctx.upstream()),
                                                       "keys": [keys["public"]], "requireSignature": True})
    signer = answer["key"]["key"]
    ctx.secret(signer)
    hub.agent("sig-target")
    hub.agent("sig-other")
    hub.allow("agent:signer", "*")
    tail = AuditTail(hub)
    url = f"{hub.url}/a2a/sig-target"
    now = int(time.time())
    plan = [("control", url, body_of("control")), ("replayed", url, body_of("replay me")),
            ("parallel", url, body_of("fifty at once"))]
    tampers = ["body changed", "body and digest changed", "path changed", "authority changed", "content-type changed",
               "a2a-version header dropped", "signature bytes flipped", "nonce changed in Signature-Input",
               "keyid unknown", "Signature header removed"]
    plan += [(t, url, body_of(t)) for t in tampers]
    plan += [("created 5 min ago", url, body_of("old")), ("created in 5 min", url, body_of("future")),
             ("control after", url, body_of("after"))]
    specs = [{"url": u, "body": b} for _, u, b in plan]
    specs[-3]["created"] = now - 300
    specs[-2]["created"] = now + 300
    signed = node("sign.mjs", {"jwk": keys["private"], "requests": specs})
    req = {name: (body, s["headers"]) for (name, _, body), s in zip(plan, signed)}

    control = send(hub.port, "/a2a/sig-target", *req["control"], signer)[0]

    # A request accepted once, then refused when sent again (and on the other instance).
    body, headers = req["replayed"]
    first = send(hub.port, "/a2a/sig-target", body, headers, signer)[0]
    again = send(hub.port, "/a2a/sig-target", body, headers, signer)
    again_rec = any(r["type"] == "signature.failure" and r["details"].get("reason") == "replayed" for r in tail.refusals())
    other = send(second.port, "/a2a/sig-target", body, headers, signer, host=f"127.0.0.1:{hub.port}") if second else None
    other_rec = second is None or any(r["type"] == "signature.failure" and r["details"].get("reason") == "replayed" for r in tail.refusals())
    replayed_ok = (again[0] == 401 and b"SIGNATURE_REPLAYED" in again[2] and again_rec
                   and (other is None or (other[0] == 401 and b"SIGNATURE_REPLAYED" in other[2])) and other_rec)
    yield Row(f"replay of an accepted signed request ({db})",
              "one signed SendMessage sent, then sent again" + (" to the same hub and to a second hub on the same database" if second else ""),
              f"first HTTP {first}; again HTTP {again[0]}" + (f", on the second hub HTTP {other[0]}" if other else "") +
              f"; {'each refusal has' if again_rec and other_rec else 'MISSING'} a signature.failure (replayed) record",
              first == 200 and replayed_ok)

    # 50 parallel sends of one fresh signed request: exactly one accepted.
    body, headers = req["parallel"]
    hubs = [hub, second] if second else [hub]
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(PARALLEL)

    def one(i: int) -> None:
        target = hubs[i % len(hubs)]
        c = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
        c.connect()
        barrier.wait()
        c.request("POST", "/a2a/sig-target", body.encode(), {**headers, "Authorization": f"Bearer {signer}", "Host": f"127.0.0.1:{hub.port}"})
        r = c.getresponse()
        r.read()
        c.close()
        with lock:
            statuses.append(r.status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = statuses.count(200)
    replays = [r for r in tail.refusals() if r["type"] == "signature.failure" and r["details"].get("reason") == "replayed"]
    yield Row(f"{PARALLEL} parallel sends of one signed request ({db})",
              f"{PARALLEL} connections opened first, then the same signed request on all at once" +
              (f", alternating between two hubs on one database" if second else ""),
              f"{accepted} accepted, {statuses.count(401)} refused 401, other: {len(statuses) - accepted - statuses.count(401)}; "
              f"{len(replays)} signature.failure (replayed) records",
              accepted == 1 and statuses.count(401) == PARALLEL - 1 and len(replays) == PARALLEL - 1)

    # Tampering: each request freshly signed, then changed in one way.
    def flip(sig: str) -> str:
        label, _, value = sig.partition("=:")
        raw = bytearray(base64.b64decode(value.rstrip(":")))
        raw[10] ^= 0x01
        return f"{label}=:{base64.b64encode(bytes(raw)).decode()}:"

    def tampered(name: str):
        body, headers = req[name]
        h, path, host = dict(headers), "/a2a/sig-target", None
        if name == "body changed":
            body = body.replace("body changed", "body CHANGED")
        elif name == "body and digest changed":
            body = body.replace("body and digest changed", "body and digest CHANGED")
            h["Content-Digest"] = f"sha-256=:{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}:"
        elif name == "path changed":
            path = "/a2a/sig-other"
        elif name == "authority changed":
            host = f"localhost:{hub.port}"
        elif name == "content-type changed":
            h["Content-Type"] = "application/json; charset=utf-8"
        elif name == "a2a-version header dropped":
            h.pop("A2A-Version")
        elif name == "signature bytes flipped":
            h["Signature"] = flip(h["Signature"])
        elif name == "nonce changed in Signature-Input":
            h["Signature-Input"] = h["Signature-Input"].replace('nonce="', 'nonce="x')
        elif name == "keyid unknown":
            h["Signature-Input"] = h["Signature-Input"].replace(f'keyid="{keys["private"]["kid"]}"', 'keyid="hub-other-key"')
        elif name == "Signature header removed":
            h.pop("Signature")
        return path, body, h, host

    bad, refused, audited, reasons = [], 0, 0, {}
    for name in tampers + ["created 5 min ago", "created in 5 min"]:
        path, body, h, host = tampered(name)
        status, headers, answer = send(hub.port, path, body, h, signer, host=host)
        rec = [r for r in tail.refusals() if r["type"] == "signature.failure"]
        ok = status == 401 and b"SIGNATURE_" in answer and headers.get("www-authenticate", "").startswith("Signature")
        refused += ok
        audited += bool(rec)
        for r in rec:
            reasons[r["details"].get("reason")] = reasons.get(r["details"].get("reason"), 0) + 1
        if not ok or not rec:
            bad.append(f"{name}: HTTP {status}{'' if rec else ', no record'}")
        elif name.startswith("created") and rec[0]["details"].get("reason") not in ("stale", "expired"):
            bad.append(f"{name}: reason {rec[0]['details'].get('reason')}")
    controls = [control, send(hub.port, "/a2a/sig-target", *req["control after"], signer)[0]]
    n = len(tampers) + 2
    yield Row(f"tampered signed requests ({db})",
              f"{n} freshly signed requests, each changed once: {', '.join(tampers)}, created 5 min ago / ahead; "
              "an untouched one before and after as controls",
              f"{refused}/{n} refused 401 SIGNATURE_* with WWW-Authenticate: Signature, {audited}/{n} with a "
              f"signature.failure record (reasons: {', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))}); "
              f"controls HTTP {controls}" + (f"; wrong: {'; '.join(bad)}" if bad else ""),
              refused == n and audited == n and not bad and controls == [200, 200])
    if second:
        second.stop()
    hub.stop()
