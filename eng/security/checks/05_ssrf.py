"""5. SSRF: Agent Card URLs, upstream URLs and push webhook URLs aimed at 127.0.0.1, [::1], 169.254.169.254, private
ranges, `file://`, and a redirect to them are refused with a clear error; a listener on loopback records 0 hits.

The harness allow-lists the host name `localhost` (the upstream agent is reached by it) and nothing else, so a server
reached as `localhost` that answers 302 to `http://127.0.0.1:PORT/` tests the rule that redirects are never followed.
"""
from __future__ import annotations

import json

from harness import Row, card
from probes import UNLIMITED, Listener, a2a_answer, ipv6_loopback, problem_detail, relay_headers, rpc


def run(ctx):
    target = Listener("127.0.0.1")
    target6 = Listener("::1") if ipv6_loopback() else None
    # reached as `localhost` (allowed): answers every request with a redirect into loopback
    redirector = Listener("127.0.0.1", redirect=f"http://127.0.0.1:{target.port}/.well-known/agent-card.json")
    allowed = Listener("127.0.0.1", answer=a2a_answer)  # a positive control: an allowed host is reached
    try:
        for db in ctx.dbs:
            yield from ssrf(ctx, db, target, target6, redirector, allowed)
        hits = target.hits + (target6.hits if target6 else 0)
        yield Row("loopback listener after every attempt",
                  f"listeners on 127.0.0.1:{target.port}" + (f" and [::1]:{target6.port}" if target6 else "") +
                  " that every refused URL aimed at; a redirecting server and an allowed agent as controls",
                  f"{hits} hits on the loopback listeners; the redirector was reached {redirector.hits} times "
                  f"(it must be: it is allowed) and the allowed agent {allowed.hits} times",
                  hits == 0 and redirector.hits > 0 and allowed.hits > 0)
    finally:
        for listener in (target, target6, redirector, allowed):
            if listener:
                listener.close()


def inside_urls(target: Listener, target6: Listener | None) -> list[tuple[str, str]]:
    urls = [
        ("127.0.0.1", f"http://127.0.0.1:{target.port}/.well-known/agent-card.json"),
        ("127.1 (short form)", f"http://127.1:{target.port}/"),
        ("::ffff:127.0.0.1", f"http://[::ffff:127.0.0.1]:{target.port}/"),
        ("0.0.0.0", f"http://0.0.0.0:{target.port}/"),
        ("169.254.169.254", "http://169.254.169.254/latest/meta-data/"),
        ("10.0.0.1", "http://10.0.0.1/"),
        ("172.16.0.1", "http://172.16.0.1/"),
        ("192.168.1.1", "http://192.168.1.1/"),
        ("100.64.0.1", "http://100.64.0.1/"),
        ("fd00::1", "http://[fd00::1]/"),
        ("fe80::1", "http://[fe80::1]/"),
        ("file:///etc/passwd", "file:///etc/passwd"),
        ("gopher://", f"gopher://127.0.0.1:{target.port}/"),
        ("user info", f"http://user:pass@127.0.0.1:{target.port}/"),
    ]
    if target6:
        urls.insert(1, ("[::1]", f"http://[::1]:{target6.port}/.well-known/agent-card.json"))
    return urls


def register(hub, body: dict) -> tuple[int, bytes]:
    status, _, answer = hub.request("POST", "/api/v1/agents", body, {
        "Authorization": f"Bearer {hub.admin_key}", "Content-Type": "application/json"})
    if status in (200, 201):
        hub.ctx.secret((json.loads(answer).get("key") or {}).get("key", ""))
    return status, answer


def clear_refusal(status: int, body: bytes, expected_status: int = 400) -> bool:
    """Refused with the expected status and a message that says why."""
    return status == expected_status and len(problem_detail(body)) > 10


def ssrf(ctx, db, target, target6, redirector, allowed):
    hub = ctx.hub(f"ssrf-{db}", db, env=UNLIMITED)
    urls = inside_urls(target, target6)
    n = 0

    def fresh_id() -> str:
        nonlocal n
        n += 1
        return f"ssrf-{n}"

    # Agent Card URLs: the hub would fetch them.
    bad = []
    for name, url in urls + [("redirect from localhost to 127.0.0.1", f"http://localhost:{redirector.port}/card")]:
        status, body = register(hub, {"id": fresh_id(), "cardUrl": url})
        if not clear_refusal(status, body):
            bad.append(f"{name}: {status}")
    sample = problem_detail(register(hub, {"id": fresh_id(), "cardUrl": urls[0][1]})[1])
    yield Row(f"Agent Card URLs aimed inside ({db})",
              f"{len(urls) + 1} registrations with cardUrl at loopback (v4, v6, mapped, short), 0.0.0.0, metadata, "
              "RFC 1918, CGNAT, ULA, link-local, file://, gopher://, user info, and a 302 from localhost to 127.0.0.1",
              f"{len(urls) + 1 - len(bad)} refused with 400 and a reason (e.g. \"{sample[:110]}\")"
              + (f"; not refused: {', '.join(bad)}" if bad else ""), not bad)

    # Upstream URLs, given as upstreamUrl or as the card's JSONRPC interface: the hub would forward calls there.
    bad = []
    for name, url in urls:
        ok_card = card("probe", ctx.upstream())
        status, body = register(hub, {"id": fresh_id(), "card": ok_card, "upstreamUrl": url})
        if not clear_refusal(status, body):
            bad.append(f"upstreamUrl {name}: {status}")
        status, body = register(hub, {"id": fresh_id(), "card": card("probe", url)})
        if not clear_refusal(status, body):
            bad.append(f"card interface {name}: {status}")
    yield Row(f"upstream URLs aimed inside ({db})",
              f"{2 * len(urls)} registrations: the same {len(urls)} URLs as upstreamUrl and as the card's JSONRPC interface",
              f"{2 * len(urls) - len(bad)} refused with 400 and a reason" + (f"; not refused: {', '.join(bad)}" if bad else ""),
              not bad)

    # An upstream on an allowed host that redirects into loopback: registered, but the redirect is never followed.
    hub.agent("ssrf-redirecting", upstream=f"http://localhost:{redirector.port}/a2a")
    hub.agent("ssrf-allowed", upstream=f"http://localhost:{allowed.port}/a2a")
    caller = hub.agent("ssrf-caller")
    hub.allow("agent:ssrf-caller", "*")
    before = redirector.hits
    status, _, body = hub.request("POST", "/a2a/ssrf-redirecting", rpc(), relay_headers(caller))
    answer = json.loads(body) if body.startswith(b"{") else {}
    s_ok, _, ok_body = hub.request("POST", "/a2a/ssrf-allowed", rpc(), relay_headers(caller))
    followed = target.hits > 0
    yield Row(f"upstream that redirects to 127.0.0.1 ({db})",
              "a relay call to an agent whose upstream (localhost, allowed) answers 302 to the loopback listener; "
              "a call to an allowed agent as control",
              f"HTTP {status}, JSON-RPC error {answer.get('error', {}).get('code')} "
              f"\"{answer.get('error', {}).get('message', '')[:90]}\"; redirector reached {redirector.hits - before}×, "
              f"redirect {'FOLLOWED' if followed else 'not followed'}; control: HTTP {s_ok}",
              "error" in answer and redirector.hits - before >= 1 and not followed and s_ok == 200 and b'"result"' in ok_body)

    # Push notification webhook URLs: the agent would deliver notifications there.
    webhook_urls = urls + [("redirect from localhost", f"http://localhost:{redirector.port}/hook")]
    inside = [(n_, u) for n_, u in webhook_urls if not n_.startswith("redirect")]
    # the push-config methods name a task: one of the caller's own (another's, or none, is TASK_NOT_FOUND first)
    _, _, sent = hub.request("POST", "/a2a/ssrf-allowed", rpc(), relay_headers(caller))
    task_id = json.loads(sent)["result"]["task"]["id"]
    bad, calls = [], 0
    hits_before = allowed.hits
    for name, url in inside:
        shapes = [
            ("CreateTaskPushNotificationConfig", {"taskId": task_id, "url": url}),
            ("CreateTaskPushNotificationConfig", {"taskId": task_id, "config": {"url": url}}),
            ("SendMessage", {"message": {"messageId": f"m-{name}", "role": "ROLE_USER", "parts": [{"text": "hi"}]},
                             "configuration": {"taskPushNotificationConfig": {"url": url}}}),
            ("SendMessage", {"message": {"messageId": f"m2-{name}", "role": "ROLE_USER", "parts": [{"text": "hi"}]},
                             "configuration": {"pushNotificationConfig": {"url": url}}}),
        ]
        for method, params in shapes:
            calls += 1
            status, _, body = hub.request("POST", "/a2a/ssrf-allowed", rpc(method, params), relay_headers(caller))
            error = json.loads(body).get("error") if body.startswith(b"{") else None
            if not (status < 500 and error and b"WEBHOOK_REFUSED" in body and len(error.get("message", "")) > 10):
                bad.append(f"{method} {list(params)[-1]} {name}: HTTP {status}")
    forwarded_before = allowed.hits - hits_before
    # control: the same call with an allowed webhook host is forwarded, so the refusals above are the webhook rule's
    c_status, _, c_body = hub.request("POST", "/a2a/ssrf-allowed", rpc("CreateTaskPushNotificationConfig", {
        "taskId": task_id, "url": f"http://localhost:{allowed.port}/hook"}), relay_headers(caller))
    control_ok = c_status == 200 and b'"result"' in c_body and allowed.hits - hits_before == forwarded_before + 1
    yield Row(f"push webhook URLs aimed inside ({db})",
              f"{calls} relay calls carrying a webhook URL at {len(inside)} inside addresses, in 4 shapes "
              "(CreateTaskPushNotificationConfig url / config.url, SendMessage configuration.taskPushNotificationConfig "
              "/ .pushNotificationConfig) on the caller's own task; the same with a webhook on localhost as control",
              f"{calls - len(bad)} refused with a JSON-RPC error (-32602 WEBHOOK_REFUSED, naming the address), "
              f"{forwarded_before} forwarded; control {'forwarded' if control_ok else f'NOT forwarded (HTTP {c_status})'}" +
              (f"; not refused: {', '.join(bad[:6])}{' …' if len(bad) > 6 else ''}" if bad else ""),
              not bad and forwarded_before == 0 and control_ok)
    hub.stop()
