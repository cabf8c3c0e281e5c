"""10. Scanners nobody here wrote: sqlmap on every admin endpoint that takes query or body parameters (no injection),
wapiti on the HTTP surface (no finding of medium or higher), testssl.sh on the TLS listener (TLS 1.2/1.3 only, no
finding of medium or higher apart from the self-signed test certificate's trust findings, listed below by name).

The tools run offline: sqlmap in batch mode without update checks, wapiti without the modules that fetch databases
or call an outside endpoint (nikto, wapp, ssrf, xxe, buster), testssl.sh on loopback. They get a valid admin key
(sqlmap and wapiti send it as a header), and the hub's per-principal and per-address rate limits are raised so the
scan meets the endpoints rather than 429s. Their output (which holds the admin key in its request logs) is kept in a
directory outside the run's work dir and removed afterwards; only counts and findings are reported. Each hub's
`/metrics` (requests by route and status, before and after) tallies the requests and any 5xx the scans caused.

sqlmap runs on SQLite and PostgreSQL (the stores' SQL differs); wapiti and testssl.sh, which see only HTTP and TLS,
run once on SQLite. The scans run concurrently to stay within the suite's time budget.
"""
from __future__ import annotations

import concurrent.futures
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from harness import Row, card

UNLIMITED = {"AGENTHUB_LIMITS__PRINCIPALREQUESTSPERSECOND": "1000000", "AGENTHUB_LIMITS__PRINCIPALBURST": "1000000",
             "AGENTHUB_LIMITS__ADDRESSREQUESTSPERSECOND": "1000000", "AGENTHUB_LIMITS__ADDRESSBURST": "1000000"}

# testssl.sh findings about the certificate's trust that a self-signed test certificate necessarily has: excluded by
# id, each with the reason. Everything else of MEDIUM or higher fails the row.
TRUST_FINDINGS = {
    "cert_chain_of_trust": "self-signed: no CA vouches for the test certificate",
    "cert_trust": "the test certificate names 127.0.0.1/localhost, not a public name",
    "cert_caIssuers": "no issuing CA to point at",
    "cert_crlDistributionPoints": "no CA, so no CRL",
    "cert_ocspURL": "no CA, so no OCSP responder",
    "cert_revocation": "no CA, so no revocation information",
    "OCSP_stapling": "no CA, so nothing to staple",
    "cert_certificatePolicies_EV": "a test certificate is not an EV certificate",
    "DNS_CAArecord": "loopback has no DNS CAA record",
    "cert_validityPeriod": "the test certificate's validity is chosen by the test",
    "overall_grade": "the grade is capped by the self-signed certificate's trust (T)",
    "grade_cap_reason_1": "the grade cap reason: the certificate is not trusted",
    "grade_cap_reason_2": "the grade cap reason: the certificate is not trusted",
}

# wapiti modules that stay on the target (nikto and wapp fetch databases, ssrf and xxe call wapiti's own endpoint,
# buster brute-forces paths for minutes)
WAPITI_MODULES = "backup,blindsql,cookieflags,crlf,csp,exec,file,htaccess,http_headers,methods,permanentxss," \
                 "redirect,shellshock,sql,xss"


def run(ctx):
    missing = [t for t in ("sqlmap", "wapiti", "testssl", "openssl") if shutil.which(t) is None]
    if missing:
        yield Row("scanners", "sqlmap, wapiti, testssl.sh", f"not installed: {', '.join(missing)}", False)
        return
    tmp = Path(tempfile.mkdtemp(prefix="agenthub-scanners."))
    try:
        # the hubs start side by side: sqlmap's (one per database), wapiti's own (so its requests are its own in the
        # tally) and the TLS one for testssl.sh
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            starting = {db: pool.submit(ctx.hub, f"scan-{db}", db, env=UNLIMITED) for db in ctx.dbs}
            starting["wapiti"] = pool.submit(ctx.hub, "scan-wapiti", "sqlite", env=UNLIMITED)
            starting["tls"] = pool.submit(ctx.hub, "scan-tls", "sqlite", args=tls_args(ctx), env=UNLIMITED)
            started = {name: f.result() for name, f in starting.items()}
        wapiti_hub, tls_hub = started.pop("wapiti"), started.pop("tls")
        hubs = started
        for hub in [*hubs.values(), wapiti_hub]:
            hub.agent("scan-target")
            hub.allow("agent:scan-target", "scan-target")
        before = {db: status_tally(hub) for db, hub in [*hubs.items(), ("wapiti", wapiti_hub)]}
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            # the two long single runs first, the many short sqlmap runs share the other workers
            wapiti_job = pool.submit(wapiti, wapiti_hub, tmp / "wapiti")
            testssl_job = pool.submit(testssl, tls_hub, tmp / "testssl")
            sqlmaps = {db: [pool.submit(sqlmap, hub, target, tmp / f"sqlmap-{db}-{i}", ctx)
                            for i, target in enumerate(sqlmap_targets(hub))] for db, hub in hubs.items()}
            sqlmap_results = {db: [f.result() for f in jobs] for db, jobs in sqlmaps.items()}
            wapiti_result, testssl_result = wapiti_job.result(), testssl_job.result()
        elapsed = time.monotonic() - t0
        after = {db: status_tally(hub) for db, hub in [*hubs.items(), ("wapiti", wapiti_hub)]}

        for db, results in sqlmap_results.items():
            delta = diff(before[db], after[db])
            requests = sum(delta.values())
            errors5xx = sum(n for (_, status), n in delta.items() if status.startswith("5"))
            params = sum(len(r["params"]) for r in results)
            injectable = [f"{r['target']} {p}" for r in results for p in r["injectable"]]
            broken = [r["target"] for r in results if not r["ran"]]
            untested = [f"{r['target']}: {', '.join(r['untested'])}" for r in results if r["untested"]]
            yield Row(f"sqlmap ({db})",
                      f"{len(results)} admin endpoints × their parameters ({params} query or JSON body parameters: "
                      f"{'; '.join(r['target'] + ' ' + ','.join(r['params']) for r in results)}), "
                      f"(plain items of JSON arrays are not sqlmap parameters), level 1, risk 1, techniques BEUST (boolean, error, union, stacked, time), payloads for the hub's DBMS, admin key, in {elapsed:.0f} s; {requests} requests reached the hub",
                      f"injections found: {len(injectable)}{' (' + '; '.join(injectable) + ')' if injectable else ''}; "
                      f"5xx answers: {errors5xx}; sqlmap could not run on: {', '.join(broken) or 'none'}"
                      f"{'; not tested: ' + '; '.join(untested) if untested else ''}",
                      not injectable and not broken and errors5xx == 0 and requests >= 10 * params and not untested)
        w = wapiti_result
        delta = diff(before["wapiti"], after["wapiti"])
        w_requests = sum(delta.values())
        w_5xx = sum(n for (_, status), n in delta.items() if status.startswith("5"))
        yield Row("wapiti (sqlite)",
                  f"{len(w['starts'])} start URLs (every GET endpoint, with its query parameters), "
                  f"{WAPITI_MODULES.count(',') + 1} modules ({WAPITI_MODULES}), admin key, scope the hub's URL; "
                  f"{w_requests} requests reached the hub",
                  f"{w['urls']} URLs and forms found; findings: {w['summary'] or 'none'}; medium or higher: "
                  f"{len(w['serious'])}{' (' + '; '.join(w['serious'][:6]) + ')' if w['serious'] else ''}; "
                  f"anomalies (5xx, timeouts): {len(w['anomalies'])}; 5xx in the hub's tally: {w_5xx}; "
                  f"wapiti exited {w['rc']}",
                  w["rc"] == 0 and w["ran"] and not w["serious"] and not w["anomalies"] and w_5xx == 0
                  and w_requests > len(w["starts"]))

        t = testssl_result
        yield Row("testssl.sh (TLS listener)",
                  f"testssl.sh {TESTSSL_GROUPS} (protocols, cipher categories, forward secrecy, certificate and "
                  f"server defaults, HTTP headers, every vulnerability check) against the hub's HTTPS listener "
                  f"with a self-signed certificate, no admin key",
                  f"protocols offered: {', '.join(t['offered']) or 'none'}; {t['findings']} findings, "
                  f"medium or higher: {len(t['serious'])}{' (' + '; '.join(t['serious'][:6]) + ')' if t['serious'] else ''}; "
                  f"trust findings of the self-signed certificate set aside: {', '.join(t['excluded']) or 'none'}; "
                  f"testssl.sh exited {t['rc']}",
                  t["ran"] and set(t["offered"]) <= {"TLS1_2", "TLS1_3"} and "TLS1_2" in t["offered"]
                  and "TLS1_3" in t["offered"] and not t["serious"])
        for hub in [*hubs.values(), wapiti_hub, tls_hub]:
            hub.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- sqlmap

def sqlmap_targets(hub) -> list[dict]:
    """Every admin endpoint that takes query or JSON body parameters, with plausible values."""
    agent_card = card("scanned", "http://localhost:9/")
    q = urllib.parse.urlencode
    return [
        {"method": "GET", "path": "/api/v1/keys?" + q({"principal": "user:alice", "after": "k1", "limit": "10"})},
        {"method": "GET", "path": "/api/v1/principals?" + q({"after": "user:a", "limit": "10"})},
        {"method": "GET", "path": "/api/v1/agents?" + q({"skill": "echo", "tag": "demo", "q": "echo", "after": "a",
                                                           "limit": "10"})},
        {"method": "GET", "path": "/api/v1/policies?" + q({"caller": "agent:scan-target", "agent": "scan-target",
                                                             "after": "p1", "limit": "10"})},
        {"method": "GET", "path": "/api/v1/audit?" + q({"type": "key.create", "actor": "user:admin",
                                                          "agent": "scan-target", "since": "2026-01-01T00:00:00Z",
                                                          "until": "2036-01-01T00:00:00Z", "after": "1", "limit": "10"})},
        {"method": "GET", "path": "/api/v1/audit/proofs/inclusion?" + q({"seq": "1", "size": "2"})},
        {"method": "GET", "path": "/api/v1/audit/proofs/consistency?" + q({"from": "1", "to": "2"})},
        {"method": "POST", "path": "/api/v1/keys", "body": {"principal": "user:scanned", "role": "operator",
                                                             "name": "scan", "expiresAt": "2036-01-31T00:00:00Z"}},
        {"method": "POST", "path": "/api/v1/agents", "body": {"id": "scanned", "upstreamUrl": "http://localhost:9/",
                                                               "card": agent_card}},
        {"method": "POST", "path": "/api/v1/policies", "body": {"caller": "agent:scanned", "agent": "scan-target",
                                                                 "methods": ["SendMessage"], "effect": "allow",
                                                                 "description": "scan"}},
        {"method": "POST", "path": "/api/v1/policies/explain", "body": {"caller": "agent:scan-target",
                                                                         "agent": "scan-target",
                                                                         "method": "SendMessage", "role": "agent"}},
        {"method": "PUT", "path": "/api/v1/agents/scan-target/keys", "body": {"hmacSecret": False,
                                                                              "requireSignature": False, "keys": []}},
    ]


def params_of(target: dict) -> list[str]:
    if "body" in target:
        names: list[str] = []

        def walk(value, name=None):
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(v, k)
            elif isinstance(value, list):  # sqlmap tests objects in arrays, not plain items (methods, tags)
                for v in value:
                    if isinstance(v, (dict, list)):
                        walk(v, name)
            elif name is not None and name not in names:
                names.append(name)
        walk(target["body"])
        return names
    return list(urllib.parse.parse_qs(urllib.parse.urlsplit(target["path"]).query))


def sqlmap(hub, target: dict, out: Path, ctx) -> dict:
    out.mkdir(parents=True)
    label = f"{target['method']} {target['path'].split('?')[0]}"
    cmd = ["sqlmap", "--batch", "--disable-coloring", "--flush-session", "--output-dir", str(out),
           "-u", hub.url + target["path"], "--method", target["method"],
           "-H", f"Authorization: Bearer {hub.admin_key}", "-H", "Accept: application/json",
           "--level", "1", "--risk", "1", "--technique", "BEUST",
           "--dbms", {"postgres": "PostgreSQL"}.get(hub.db, "SQLite"), "--time-sec", "3", "--timeout", "15",
           "--retries", "1", "--skip-waf", "--ignore-code", "400,404,409,413,422", "-v", "1"]
    if "body" in target:
        cmd += ["--data", json.dumps(target["body"]), "-H", "Content-Type: application/json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    text = r.stdout + r.stderr
    params = params_of(target)
    injectable = sorted(set(re.findall(r"parameter '([^']+)' (?:is|appears to be) '?[^\n]*injectable", text)))
    if "identified the following injection point" in text and not injectable:
        injectable = ["(see sqlmap's output)"]
    tested = set(re.findall(r"parameter '(?:[A-Z]+ |JSON |\(custom\) [A-Z]+ )?(?:#\d+\*|)?([^']+)' does not seem to be injectable",
                            text))
    tested |= set(re.findall(r"(?:GET|POST|PUT|JSON) parameter '([^']+)' does not seem to be injectable", text))
    tested = {t.split(" ")[-1] for t in tested}
    untested = [p for p in params if p not in tested and p not in injectable]
    ran = r.returncode == 0 and ("do not appear to be injectable" in text or "does not seem to be injectable" in text
                                 or injectable)
    (ctx.work / "sqlmap").mkdir(exist_ok=True)
    # sqlmap's console output names no credentials (headers are not echoed at -v 1); kept for --keep
    safe = text.replace(hub.admin_key, "<admin key>")
    (ctx.work / "sqlmap" / (re.sub(r"[^a-z0-9]+", "-", f"{hub.db}-{label}".lower()) + ".log")).write_text(safe)
    return {"target": label, "params": params, "injectable": injectable, "ran": bool(ran), "untested": untested}


# ---------------------------------------------------------------- wapiti

def wapiti(hub, out: Path) -> dict:
    out.mkdir(parents=True)
    report = out / "report.json"
    # wapiti loads every module at start; its wapp module downloads its database unless one is there: an empty one
    # keeps the scan offline (wapp itself is not run)
    (out / "config").mkdir()
    (out / "config" / "apps.json").write_text("{}")
    starts = [t["path"] for t in sqlmap_targets(hub) if t["method"] == "GET"] + [
        "/healthz", "/readyz", "/.well-known/jwks.json", "/api/v1/me", "/api/v1/signing-keys",
        "/api/v1/agents/scan-target", "/api/v1/agents/scan-target/versions", "/api/v1/agents/scan-target/card",
        "/api/v1/agents/scan-target/keys", "/a2a/scan-target/.well-known/agent-card.json", "/api/v1/audit/export",
        "/api/v1/audit/checkpoints/latest", "/metrics"]
    cmd = ["wapiti", "-u", hub.url + "/", "--scope", "folder", "-m", WAPITI_MODULES, "--flush-session",
           "--store-session", str(out / "session"), "--store-config", str(out / "config"),
           "-H", f"Authorization: Bearer {hub.admin_key}", "-d", "3", "--max-scan-time", "240",
           "--max-attack-time", "60", "-t", "10", "--no-bugreport", "-f", "json", "-o", str(report), "-v", "1"]
    for s in starts:
        cmd += ["-s", hub.url + s]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=420, stdin=subprocess.DEVNULL)
    result = {"rc": r.returncode, "ran": False, "starts": starts, "urls": 0, "summary": "", "serious": [],
              "anomalies": []}
    if not report.exists():
        result["summary"] = f"no report ({(r.stdout + r.stderr)[-300:].strip()})"
        return result
    data = json.loads(report.read_text())
    result["ran"] = True
    found = re.search(r"Wapiti found (\d+) URLs and forms", r.stdout + r.stderr)
    result["urls"] = int(found[1]) if found else 0
    result["ran"] = bool(found)
    counts = []
    for category, items in data.get("vulnerabilities", {}).items():
        if items:
            counts.append(f"{category}: {len(items)} (levels {','.join(sorted({str(i.get('level')) for i in items}))})")
        for i in items:
            if int(i.get("level") or 0) >= 2:
                result["serious"].append(f"{category} {i.get('method')} {i.get('path')} {i.get('parameter') or ''}: "
                                         f"{i.get('info', '')[:120]}")
    for category, items in data.get("anomalies", {}).items():
        for i in items:
            result["anomalies"].append(f"{category} {i.get('method')} {i.get('path')}")
    result["summary"] = "; ".join(counts)
    return result


# ---------------------------------------------------------------- testssl.sh

def tls_args(ctx) -> list[str]:
    """A self-signed EC certificate for localhost/127.0.0.1, made with openssl like tests/Hosting/TlsTests."""
    cert, key = ctx.work / "scan-tls-cert.pem", ctx.work / "scan-tls-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "365", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return ["--tls-cert", str(cert), "--tls-key", str(key)]


TESTSSL_GROUPS = "--protocols --std --pfs --server-defaults --headers --vulnerable"
SEVERITY = {"OK": 0, "INFO": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4, "WARN": 0, "DEBUG": 0}


def testssl(hub, out: Path) -> dict:
    out.mkdir(parents=True)
    report = out / "testssl.json"
    # the default run without its two listings that carry no severity (each cipher's order per protocol, -P, and
    # the handshakes of ~30 simulated clients, -c): they are most of its time
    cmd = ["testssl", "--quiet", "--warnings", "batch", "--color", "0", "--nodns", "min", "--jsonfile", str(report),
           "--ip", "127.0.0.1", *TESTSSL_GROUPS.split(), f"127.0.0.1:{hub.port}"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"rc": "timeout", "ran": False, "offered": [], "findings": 0, "serious": ["testssl.sh ran over 900 s"],
                "excluded": []}
    result = {"rc": r.returncode, "ran": False, "offered": [], "findings": 0, "serious": [], "excluded": []}
    if not report.exists():
        result["serious"].append(f"no report: {(r.stdout + r.stderr)[-300:].strip()}")
        return result
    findings = json.loads(report.read_text())
    result["ran"] = any(f.get("id") == "TLS1_2" for f in findings)
    result["findings"] = len(findings)
    for f in findings:
        fid, sev, text = f.get("id", ""), f.get("severity", "INFO"), f.get("finding", "")
        if re.fullmatch(r"SSLv2|SSLv3|TLS1|TLS1_1|TLS1_2|TLS1_3", fid) and text.startswith("offered"):
            result["offered"].append(fid)
        if sev == "WARN" and fid == "HTTP_status_code":  # e.g. "Unexpected 500 Internal Server Error @ '/'"
            result["serious"].append(f"{fid}: {text[:100]}")
        if SEVERITY.get(sev, 0) >= 2:
            base = re.sub(r" <.*>$", "", fid)  # testssl suffixes per-certificate ids, e.g. "cert_trust <cert#1>"
            if base in TRUST_FINDINGS:
                result["excluded"].append(f"{base} ({sev})")
            else:
                result["serious"].append(f"{fid} {sev}: {text[:100]}")
    if r.returncode not in (0,) and not result["ran"]:
        result["serious"].append(f"testssl.sh exited {r.returncode}")
    return result


# ---------------------------------------------------------------- the hub's own tally

def status_tally(hub) -> dict[tuple[str, str], int]:
    """agenthub_http_requests_total by (route, status), read from /metrics with the admin key."""
    _, _, body = hub.request("GET", "/metrics", headers={"Authorization": f"Bearer {hub.admin_key}"})
    tally: dict[tuple[str, str], int] = {}
    for line in body.decode().splitlines():
        if line.startswith("agenthub_http_requests_total{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            key = (labels.get("route", ""), labels.get("status", ""))
            tally[key] = tally.get(key, 0) + int(float(line.rsplit(" ", 1)[1]))
    return tally


def diff(a: dict, b: dict) -> dict:
    return {k: b.get(k, 0) - a.get(k, 0) for k in b if b.get(k, 0) - a.get(k, 0) > 0}
