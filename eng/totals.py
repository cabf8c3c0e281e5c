#!/usr/bin/env python3
"""Result parsing for eng/test.sh (python3 standard library only).

  totals.py trx FILE.trx    -> stdout: "PASSED FAILED SKIPPED ABORTED"; failed test names on stderr
  totals.py tap FILE        -> stdout: "PASSED FAILED SKIPPED FOUND"  (node --test summary, TAP or spec reporter)
  totals.py canary LOGDIR   -> the log canary check; exit 0 when it passes, 1 when it fails

The canary: every line of every *.secrets file under LOGDIR (recursively) is a secret a test minted; no *.log file
under LOGDIR may contain one, raw, base64 / base64url encoded (at any byte alignment, so a secret inside a longer
encoded value such as a Basic credential is found too) or percent-encoded. Messages name a secret only by its first
characters, never in full.
"""

import base64
import os
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ET

MAX_LISTED = 30
ABORT = re.compile(r"aborted|crashed|exited unexpectedly|timed? ?out|hang", re.IGNORECASE)


def local(tag):
    return tag.rsplit("}", 1)[-1]


def trx(path):
    """Count a VSTest TRX file. Top-level UnitTestResult outcomes are the truth (xunit's skipped tests are
    outcome="NotExecuted"); ResultSummary/Counters only raise the failure count and flag an aborted run."""
    root = ET.parse(path).getroot()
    passed = failed = skipped = 0
    failed_names = []
    for results in (e for e in root if local(e.tag) == "Results"):
        for r in results:  # direct children only: InnerResults of data-driven tests are not counted twice
            if local(r.tag) != "UnitTestResult":
                continue
            outcome = r.get("outcome", "")
            if outcome == "Passed":
                passed += 1
            elif outcome in ("NotExecuted", "Inconclusive", "Pending"):
                skipped += 1
            else:  # Failed, Error, Timeout, Aborted, ... : anything else is a failure
                failed += 1
                failed_names.append(f"{r.get('testName', '?')} [{outcome or 'no outcome'}]")

    aborted = 0
    counters = None
    summary = next((e for e in root if local(e.tag) == "ResultSummary"), None)
    if summary is not None:
        if summary.get("outcome", "") in ("Aborted", "Error", "Timeout"):
            aborted = 1
        counters = next((e for e in summary if local(e.tag) == "Counters"), None)
        for e in summary.iter():
            # an aborted run (test host crash, hang timeout) shows as an Error RunInfo; test frameworks also log
            # each failed test as one ("[xUnit.net ...] X [FAIL]"), which is not an abort
            if local(e.tag) == "RunInfo" and e.get("outcome", "") == "Error":
                text = " ".join("".join(e.itertext()).split())
                if not text.startswith("[xUnit.net") and ABORT.search(text):
                    aborted = 1
                    print(f"    run error: {text[:400]}", file=sys.stderr)
    if counters is not None:
        def c(name):
            try:
                return int(counters.get(name, "0"))
            except ValueError:
                return 0
        bad = sum(c(n) for n in ("failed", "error", "timeout", "aborted"))
        if bad > failed:
            failed = bad

    for name in failed_names[:MAX_LISTED]:
        print(f"    failed: {name}", file=sys.stderr)
    if len(failed_names) > MAX_LISTED:
        print(f"    ... and {len(failed_names) - MAX_LISTED} more", file=sys.stderr)
    print(passed, failed, skipped, aborted)
    return 0


TAP_LINE = re.compile(r"^(?:#|\u2139)\s+(tests|pass|fail|cancelled|skipped|todo)\s+(\d+)\s*$")


def tap(path):
    """The summary node --test prints last: '# pass 5' (TAP reporter) or 'ℹ pass 5' (spec reporter).
    The last value of each key wins, so a test printing such a line earlier does not matter."""
    seen = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = TAP_LINE.match(line.rstrip("\r\n"))
            if m:
                seen[m.group(1)] = int(m.group(2))
    found = 1 if "pass" in seen and "fail" in seen else 0
    passed = seen.get("pass", 0)
    failed = seen.get("fail", 0) + seen.get("cancelled", 0)
    skipped = seen.get("skipped", 0) + seen.get("todo", 0)
    print(passed, failed, skipped, found)
    return 0


def b64_forms(secret):
    """Every base64 / base64url substring that encoding the secret produces wherever it sits in a longer value:
    for each of the 3 byte alignments keep only the characters determined by the secret's bytes alone."""
    forms = set()
    n = len(secret)
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + secret).decode("ascii")
        start = -(-8 * k // 6)  # ceil: first character with no bits of the prefix
        end = 8 * (k + n) // 6  # floor: last character with no bits of what follows
        part = enc[start:end]
        if len(part) >= 8:
            forms.add(("base64", part))
            url = part.replace("+", "-").replace("/", "_")
            if url != part:
                forms.add(("base64url", url))
    return forms


def url_forms(text):
    """Percent-encoded forms (quote, quote_plus, with '/' and ':' kept or not) as byte regexes that accept either
    case of the hex digits."""
    forms = set()
    for enc in (urllib.parse.quote(text, safe=""), urllib.parse.quote_plus(text, safe=""),
                urllib.parse.quote(text, safe="/:")):
        if enc == text:
            continue
        pattern = "".join(
            "%" + "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in tok[1:])
            if tok.startswith("%") else re.escape(tok)
            for tok in re.findall(r"%[0-9A-Fa-f]{2}|[^%]+|%", enc))
        forms.add(("url-encoded", pattern))
    return forms


def shown(secret):
    n = min(8, max(1, len(secret) // 2))
    return secret[:n] + "..."


def find_files(root, suffix):
    out = []
    for d, _, files in os.walk(root):
        out.extend(os.path.join(d, f) for f in files if f.endswith(suffix))
    return sorted(out)


def canary(logdir):
    name = "log canary"
    if not os.path.isdir(logdir):
        print(f"{name}: FAILED: the log dir {logdir} does not exist")
        return 1
    secret_files = find_files(logdir, ".secrets")
    log_files = find_files(logdir, ".log")
    if not secret_files:
        print(f"{name}: FAILED: no *.secrets file in {logdir}: the tests recorded no secret they minted, so "
              "this check would prove nothing (each test that mints a secret must append it to a *.secrets file "
              "in $AGENTHUB_TEST_LOG_DIR)")
        return 1
    secrets = set()
    for p in secret_files:
        with open(p, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                s = line.strip()
                if s:
                    secrets.add(s)
    if not secrets:
        print(f"{name}: FAILED: {len(secret_files)} *.secrets file(s) but not one secret in them")
        return 1
    if not log_files:
        print(f"{name}: FAILED: {len(secrets)} secret(s) recorded but no *.log file in {logdir}: the tests' log "
              "output was not captured, so this check would prove nothing")
        return 1

    short = sorted(s for s in secrets if len(s) < 8)
    for s in short:
        print(f"{name}: note: ignoring a secret shorter than 8 characters ({shown(s)}): it would match by chance")
    needles = []  # (compiled bytes regex, form, secret)
    for s in sorted(secrets):
        if len(s) < 8:
            continue
        raw = s.encode("utf-8", errors="surrogateescape")
        literal = {("raw", s)} | b64_forms(raw)
        for form, text in literal:
            needles.append((re.compile(re.escape(text.encode("utf-8", errors="surrogateescape"))), form, s))
        for form, pattern in url_forms(s):
            needles.append((re.compile(pattern.encode("utf-8", errors="surrogateescape")), form, s))

    leaks = set()
    total_bytes = 0
    for p in log_files:
        with open(p, "rb") as f:
            data = f.read()
        total_bytes += len(data)
        for needle, form, s in needles:
            if needle.search(data):
                leaks.add((os.path.relpath(p, logdir), shown(s), form))
    checked = len(secrets) - len(short)
    if leaks:
        for path, sec, form in sorted(leaks):
            print(f"{name}: LEAK: secret {sec} ({form}) in {path}")
        print(f"{name}: FAILED: {len(leaks)} leak(s) of {len({l[1] for l in leaks})} secret(s); checked {checked} "
              f"secret(s) from {len(secret_files)} file(s) against {len(log_files)} log file(s)")
        return 1
    if checked == 0:
        print(f"{name}: FAILED: no secret of 8 characters or more to look for")
        return 1
    print(f"{name}: ok: {checked} secret(s) from {len(secret_files)} file(s) found in none of {len(log_files)} "
          f"log file(s) ({total_bytes} bytes), raw or encoded")
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "trx":
        return trx(argv[2])
    if len(argv) == 3 and argv[1] == "tap":
        return tap(argv[2])
    if len(argv) == 3 and argv[1] == "canary":
        return canary(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
