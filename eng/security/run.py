#!/usr/bin/env python3
"""The running half of eng/security.sh (which installs what is missing and builds Release first).

Runs every check module in eng/security/checks/ in file-name order against Release builds on loopback, prints one
table row per thing tried (check, what was tried, result, ok) as it goes, writes the table with the date, commit and
machine to artifacts/security/SECURITY-RUN.md, and prints as its last line exactly:
    security: N checks, N failed
Exit 0 only when nothing failed. A check that cannot run (a tool missing, a server that does not start) is a failed
row that says why; the work dir with every log is then kept and its path printed.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "eng/security"))
from harness import Context, Row  # noqa: E402

CHECKS = ROOT / "eng/security/checks"


def cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated check module names (or parts of them), e.g. malformed,ssrf")
    parser.add_argument("--db", default="sqlite,postgres", help="databases to run on where a check applies")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts/security/SECURITY-RUN.md")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, data dirs) even when all passed")
    parser.add_argument("--list", action="store_true", help="list the check modules and exit")
    args = parser.parse_args()

    modules = sorted(p.stem for p in CHECKS.glob("[0-9]*.py"))
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        modules = [m for m in modules if any(w in m for w in wanted)]
    if args.list:
        print("\n".join(modules))
        return 0
    if not modules:
        print("security: no check matches --only", file=sys.stderr)
        print("security: 0 checks, 1 failed")
        return 1

    work = Path(tempfile.mkdtemp(prefix="agenthub-security."))
    os.chmod(work, 0o755)  # PostgreSQL (its own user) and tools run as others read some files under it
    ctx = Context(work, [d.strip() for d in args.db.split(",") if d.strip()], quick=False)
    rows: list[tuple[str, Row, float]] = []
    started = datetime.datetime.now(datetime.timezone.utc)
    print("| module | check | tried | result | ok |\n| --- | --- | --- | --- | --- |", flush=True)
    try:
        for name in modules:
            t0 = time.monotonic()
            try:
                module = importlib.import_module(f"checks.{name}")
                produced = False
                for row in module.run(ctx):
                    produced = True
                    rows.append((name, row, time.monotonic() - t0))
                    line = f"| {name} | {cell(row.check)} | {cell(row.tried)} | {cell(row.result)} | {'ok' if row.ok else 'FAILED'} |"
                    print(line, flush=True)
                    with open(work / "rows.log", "a") as f:  # the run's own output, searched by the secrets check
                        f.write(line + "\n")
                if not produced:
                    raise RuntimeError("the check reported nothing")
            except Exception as e:  # the check could not finish: a failed row naming why
                row = Row(name, "the whole check", f"could not run: {type(e).__name__}: {e}", False)
                rows.append((name, row, time.monotonic() - t0))
                print(f"| {name} | {cell(row.check)} | {cell(row.tried)} | {cell(row.result)} | FAILED |", flush=True)
                if os.environ.get("AGENTHUB_SECURITY_TRACE"):
                    traceback.print_exc()
            print(f"security: {name} done in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    finally:
        ctx.close()

    failed = sum(1 for _, r, _ in rows if not r.ok)
    elapsed = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# Security checks: last run", "",
             f"{started:%Y-%m-%d %H:%M} UTC, commit {commit or '?'}, {os.cpu_count()} cores, {elapsed / 60:.1f} min, "
             f"databases: {', '.join(ctx.dbs)}.", "",
             "| module | check | tried | result | ok |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {m} | {cell(r.check)} | {cell(r.tried)} | {cell(r.result)} | {'ok' if r.ok else 'FAILED'} |" for m, r, _ in rows]
    lines += ["", f"security: {len(rows)} checks, {failed} failed", ""]
    args.out.write_text("\n".join(lines))
    print(f"security: report written to {args.out}", file=sys.stderr)
    if failed or args.keep:
        print(f"security: logs kept in {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"security: {len(rows)} checks, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
